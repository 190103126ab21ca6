"""Pages of the clinician's workspace: the console (presence and the live queue) and the
consultation page (room, identity, record editor, prescription, ending).

Thin: find the consultation through the scoped selector (404 for anyone else's and for
another service line's), parse one form, call one service, render or redirect. The mount
(``Mount``) comes with the route and says which line and queues this workspace serves.
"""

from __future__ import annotations

import json
import uuid

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from sanjeevani.accounts.models import Role
from sanjeevani.consultations import care_team
from sanjeevani.consultations import selectors as consultation_selectors
from sanjeevani.consultations import services as consultations
from sanjeevani.consultations.care_team import Action
from sanjeevani.consultations.models import Consultation
from sanjeevani.limits.pages import rate_limited
from sanjeevani.patients.documents import documents_of
from sanjeevani.prescriptions.services import issue_prescription
from sanjeevani.queueing import services as queue
from sanjeevani.queueing.errors import DomainError

from . import line, selectors
from .forms import (
    EndConsultationForm,
    IdentityForm,
    PresenceForm,
    RecordForm,
    prescription_items,
)
from .mount import Mount
from .pages import SERVICE_ERRORS, doctor_required, error_text
from .status import default_outcome, ended_refusal, shortcut_hints, status_text, status_texts

#: The routes a medicine line may name (stored value, label).
MEDICINE_ROUTES = [
    ("oral", gettext_lazy("oral")),
    ("topical", gettext_lazy("topical")),
    ("inhaled", gettext_lazy("inhaled")),
    ("injection", gettext_lazy("injection")),
    ("drops", gettext_lazy("drops")),
    ("other", gettext_lazy("other")),
]


def page_url(request: HttpRequest, name: str, *args) -> str:
    """A workspace page under the mount this request came through (the default mount when
    it came through an old alias)."""
    current = request.resolver_match.namespace if request.resolver_match else None
    return reverse(f"workspace:{name}", args=args, current_app=current)


def _back(request: HttpRequest, name: str, *args) -> HttpResponseRedirect:
    return redirect(page_url(request, name, *args))


def _consultation(request: HttpRequest, consultation_id, mount: Mount) -> Consultation:
    return consultation_selectors.visible_consultation(
        request.user, consultation_id, mount.service_line
    )


# --- the console -------------------------------------------------------------------------------


@doctor_required
@require_GET
def console(request: HttpRequest, mount: Mount) -> HttpResponse:
    doctor = request.doctor
    return render(
        request,
        mount.console_template,
        {
            "doctor": doctor,
            "opds": mount.queues_of(doctor),
            "presence": selectors.presence_of(doctor),
            "queue": line.queue_view(mount, doctor),
            "open_consultations": consultation_selectors.open_consultations_of_doctor(doctor),
            "presence_form": PresenceForm(),
            **line.console_context(mount, doctor),
        },
    )


@doctor_required
@require_GET
def queue_json(request: HttpRequest, mount: Mount) -> JsonResponse:
    """The polling fallback of the doctor's live queue."""
    data = line.queue_view(mount, request.doctor) or {}
    data["online"] = bool(data)
    data["empty_text"] = _("Nobody is waiting.")
    presence = selectors.presence_of(request.doctor)
    if presence is not None and presence.auto_assign:
        calling = consultation_selectors.open_consultations_of_doctor(request.doctor).filter(
            status=Consultation.Status.CALLING
        )
        first = calling.first()
        if first is not None:
            data["auto_assign"] = True
            data["open_consultation_url"] = page_url(request, "consultation", first.pk)
    return JsonResponse(data)


@doctor_required
@require_POST
@rate_limited("write")
def presence(request: HttpRequest, mount: Mount) -> HttpResponse:
    form = PresenceForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose an OPD to go online for."))
        return _back(request, "console")
    action = form.cleaned_data["action"]
    try:
        if action == "online":
            auto_assign = form.cleaned_data["auto_assign"]
            text = line.go_online(mount, request.user, request.doctor, request.POST, auto_assign)
            messages.success(request, text)
        elif action == "break":
            queue.take_break(request.user)
            messages.success(request, _("You are on a break. No patient will be sent to you."))
        else:
            queue.go_offline(request.user)
            messages.success(request, _("You are offline."))
    except SERVICE_ERRORS as exc:
        messages.error(request, error_text(exc))
    return _back(request, "console")


@doctor_required
@require_POST
@rate_limited("write")
def call_next(request: HttpRequest, mount: Mount) -> HttpResponse:
    try:
        claimed = line.call_next(mount, request.user)
    except SERVICE_ERRORS as exc:
        messages.error(request, error_text(exc))
        return _back(request, "console")
    if claimed is None:
        messages.info(request, _("Nobody is waiting right now."))
        return _back(request, "console")
    return _back(request, "consultation", claimed.consultation.pk)


# --- one consultation -------------------------------------------------------------------------


@doctor_required
@require_GET
def consultation(request: HttpRequest, consultation_id, mount: Mount) -> HttpResponse:
    found = _consultation(request, consultation_id, mount)
    state = selectors.workspace_state(found)
    if wants_json(request):
        # The page's script asks when its live socket cannot connect, or the room ended.
        return JsonResponse({"state": state, "status_line": status_text(state)})
    patient = found.patient
    return render(
        request,
        "consultations/workspace/consultation.html",
        {
            "consultation": found,
            "patient": patient,
            "language": selectors.language_name(patient.preferred_language),
            "state": state,
            "status_line": status_text(state),
            "status_texts": status_texts(),
            "shortcuts": shortcut_hints(),
            "documents": (
                documents_of(patient)
                if care_team.may(request.user, Action.VIEW_DOCUMENTS, patient)
                else documents_of(patient).none()
            ),
            "earlier": consultation_selectors.earlier_consultations_for_doctor(
                found, request.user, request=request
            ),
            "identity_form": IdentityForm(initial={"age_years": patient.age}),
            "end_form": EndConsultationForm(initial={"outcome": default_outcome(found, state)}),
            "prescriptions": selectors.prescriptions_of(found),
            "record_json": selectors.record_of(found),
            "routes": MEDICINE_ROUTES,
            "rx_client_key": uuid.uuid4(),
            **line.consultation_context(mount, request, found),
        },
    )


@doctor_required
@require_POST
@rate_limited("write")
def confirm_identity(request: HttpRequest, consultation_id, mount: Mount) -> HttpResponse:
    found = _consultation(request, consultation_id, mount)
    refused = ended_refusal(found)
    if refused:
        return _refused(request, found, refused, status=409, code="consultation_ended")
    form = IdentityForm(request.POST)
    if not form.is_valid():
        return _refused(
            request,
            found,
            _("Enter how the identity was confirmed and the age in years."),
            fields=form.errors,
        )
    try:
        found = consultations.confirm_identity(
            request.user,
            found,
            method=form.cleaned_data["method"],
            age_years=form.cleaned_data["age_years"],
        )
    except SERVICE_ERRORS as exc:
        return _service_refused(request, found, exc)
    return _done(
        request,
        found,
        _("Identity and age confirmed."),
        html={"identity": _fragment(request, "_identity.html", found)},
    )


@doctor_required
@require_http_methods(["POST"])
@rate_limited("consultation.record")
def save_record(request: HttpRequest, consultation_id, mount: Mount) -> JsonResponse:
    """Autosave from the record editor; a stale base revision answers 409 with the latest.
    The parts that pass are saved; the others come back under ``rejected`` (by field, or
    ``vitals.<name>``) so the editor marks them and keeps the doctor's text."""
    found = _consultation(request, consultation_id, mount)
    try:
        payload = json.loads(request.body or b"{}")
    except ValueError:
        return JsonResponse(
            {"error": _("The record could not be read. Reload the page.")}, status=400
        )
    payload = payload if isinstance(payload, dict) else {}
    form = RecordForm(payload)
    form.is_valid()
    if "base_revision" in form.errors:
        return JsonResponse(
            {"error": _("The record could not be read. Reload the page.")}, status=400
        )
    rejected = {name: [str(m) for m in errors] for name, errors in form.errors.items()}
    data = {k: v for k, v in form.cleaned_data.items() if k in payload and k != "base_revision"}
    try:
        saved, rejected = consultations.autosave_clinical_record(
            request.user,
            found,
            data,
            base_revision=form.cleaned_data["base_revision"],
            rejected=rejected,
        )
    except (DomainError, ValidationError) as exc:
        found.refresh_from_db()
        return JsonResponse(
            {
                "error": error_text(exc),
                "code": getattr(exc, "code", "invalid"),
                "record": selectors.record_of(found),
            },
            status=getattr(exc, "status", 400),
        )
    except PermissionDenied as exc:
        return JsonResponse({"error": error_text(exc)}, status=403)
    body = {"revision": saved.record_revision, "saved_at": timezone.now().isoformat()}
    if rejected:
        body["rejected"] = rejected
        body["error"] = _("Saved, except the fields marked: correct them and they save too.")
    return JsonResponse(body)


@doctor_required
@require_POST
@rate_limited("prescription.issue")
def prescribe(request: HttpRequest, consultation_id, mount: Mount) -> HttpResponse:
    """The prescription form posts here; the prescriptions service checks the guidelines."""
    found = _consultation(request, consultation_id, mount)
    refused = ended_refusal(found)
    if refused:
        return _refused(request, found, refused, status=409, code="consultation_ended")
    items = prescription_items(request.POST)
    if not items:
        return _refused(request, found, _("Add at least one medicine with its dose and frequency."))
    try:
        client_key = (
            uuid.UUID(request.POST["client_key"]) if request.POST.get("client_key") else None
        )
    except ValueError:
        return _refused(request, found, _("This form is out of date: reload the page."))
    try:
        issue_prescription(
            request.user,
            found,
            items=items,
            password=request.POST.get("password", ""),
            totp=request.POST.get("totp", ""),
            provisional_diagnosis=bool(request.POST.get("provisional_diagnosis")),
            client_key=client_key,
            request=request,
        )
    except SERVICE_ERRORS as exc:
        return _service_refused(request, found, exc)
    return _done(
        request,
        found,
        _("Prescription issued and signed."),
        html={"issued": _fragment(request, "_issued.html", found)},
        extra={"next_client_key": str(uuid.uuid4())},
    )


@doctor_required
@require_POST
@rate_limited("write")
def end(request: HttpRequest, consultation_id, mount: Mount) -> HttpResponse:
    """The one way the page ends a consultation. Without script it goes back to the queue;
    the page's script stays on the ended consultation (forms off, "Next patient")."""
    found = _consultation(request, consultation_id, mount)
    refused = ended_refusal(found)
    if refused:
        return _refused(request, found, refused, status=409, code="consultation_ended")
    form = EndConsultationForm(request.POST)
    if not form.is_valid():
        return _refused(request, found, _("Choose how the consultation ended."), fields=form.errors)
    try:
        found = consultations.end_consultation(
            request.user, found, outcome=form.cleaned_data["outcome"]
        )
    except SERVICE_ERRORS as exc:
        return _service_refused(request, found, exc)
    return _done(request, found, _("Consultation ended."), back_to="console")


@doctor_required
@require_POST
@rate_limited("write")
def dropped(request: HttpRequest, consultation_id, mount: Mount) -> HttpResponse:
    """The connection dropped: the patient goes back to the head of the queue."""
    found = _consultation(request, consultation_id, mount)
    refused = ended_refusal(found)
    if refused:
        return _refused(request, found, refused, status=409, code="consultation_ended")
    try:
        requeued = consultations.return_dropped_ticket(request.user, found)
    except SERVICE_ERRORS as exc:
        return _service_refused(request, found, exc)
    if requeued is None:
        text = _(
            "The consultation ended as dropped. The patient already holds another token, "
            "so they keep that place instead of returning to this queue."
        )
    else:
        text = _("The patient is back at the head of the queue.")
    return _done(request, found, text, back_to="console")


@doctor_required
@require_POST
@rate_limited("write")
def hold(request: HttpRequest, consultation_id, mount: Mount) -> HttpResponse:
    found = _consultation(request, consultation_id, mount)
    refused = ended_refusal(found)
    if refused:
        return _refused(request, found, refused, status=409, code="consultation_ended")
    resuming = request.POST.get("action") == "resume"
    action = consultations.resume if resuming else consultations.put_on_hold
    try:
        found = action(request.user, found)
    except SERVICE_ERRORS as exc:
        return _service_refused(request, found, exc)
    return _done(request, found, "")


# --- answers: JSON for the page's script, a redirect with a message without it ---------------


def wants_json(request: HttpRequest) -> bool:
    """The page's script asks for JSON; a plain form post (no script) gets a redirect."""
    return "application/json" in request.headers.get("Accept", "")


def _fragment(request: HttpRequest, name: str, found: Consultation) -> str:
    return render_to_string(
        f"consultations/workspace/{name}",
        {"consultation": found, "prescriptions": selectors.prescriptions_of(found)},
        request=request,
    )


def _answer_state(found: Consultation) -> dict:
    found.refresh_from_db()
    return selectors.workspace_state(found)


def _done(
    request: HttpRequest,
    found: Consultation,
    text: str,
    html: dict[str, str] | None = None,
    back_to: str = "consultation",
    extra: dict[str, str] | None = None,
) -> HttpResponse:
    if wants_json(request):
        state = _answer_state(found)
        return JsonResponse(
            {
                "message": text,
                "state": state,
                "status_line": status_text(state),
                "html": html or {},
                **(extra or {}),
            }
        )
    if text:
        messages.success(request, text)
    if back_to == "console":
        return _back(request, "console")
    return _back(request, "consultation", found.pk)


def _refused(
    request: HttpRequest,
    found: Consultation,
    text: str,
    status: int = 400,
    code: str = "invalid",
    fields: dict | None = None,
) -> HttpResponse:
    if wants_json(request):
        state = _answer_state(found)
        by_field = {name: [str(m) for m in errors] for name, errors in (fields or {}).items()}
        return JsonResponse(
            {
                "error": text,
                "code": code,
                "fields": by_field,
                "state": state,
                "status_line": status_text(state),
            },
            status=status,
        )
    messages.error(request, text)
    return _back(request, "consultation", found.pk)


def _service_refused(request: HttpRequest, found: Consultation, exc: Exception) -> HttpResponse:
    """A service said no: its words, next to the control; a consultation that ended
    meanwhile says that rather than what the refused step would have needed."""
    found.refresh_from_db()
    ended = ended_refusal(found)
    if ended:
        return _refused(request, found, ended, status=409, code="consultation_ended")
    fields = None
    if isinstance(exc, ValidationError) and hasattr(exc, "error_dict"):
        fields = exc.message_dict
    status = 403 if isinstance(exc, PermissionDenied) else getattr(exc, "status", 400)
    return _refused(
        request,
        found,
        error_text(exc),
        status=status,
        code=getattr(exc, "code", None) or "invalid",
        fields=fields,
    )


@require_GET
def icd10(request: HttpRequest, mount: Mount) -> JsonResponse:
    """ICD-10 search for the diagnosis field; staff only."""
    if not request.user.is_authenticated or request.user.role == Role.PATIENT:
        raise Http404
    query = request.GET.get("q", "")[:100]
    return JsonResponse({"results": selectors.search_icd10(query)})
