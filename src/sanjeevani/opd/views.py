"""Pages of the Online OPD: the patient's way (profile → state → OPD → token → waiting room →
consultation → prescription and feedback) and the doctor's console.

Views stay thin: they find the object through a scoped selector (404 for anyone else's),
parse one form, call one service, and render or redirect. Service errors are shown as the
plain message the service gave.
"""

from __future__ import annotations

import json
from functools import wraps
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import select_template
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from sanjeevani.accounts.models import Role
from sanjeevani.consultations import selectors as consultation_selectors
from sanjeevani.consultations import services as consultations
from sanjeevani.consultations.models import Consultation
from sanjeevani.limits.pages import rate_limited
from sanjeevani.patients.documents import (
    document_response,
    documents_of,
    open_document_for,
    upload_document,
)
from sanjeevani.patients.models import PatientDocument
from sanjeevani.prescriptions.services import issue_prescription
from sanjeevani.queueing import selectors as queue_selectors
from sanjeevani.queueing import services as queue
from sanjeevani.queueing.errors import DomainError
from sanjeevani.queueing.models import Ticket
from sanjeevani.registry.models import OnlineOPD, State

from . import selectors
from .forms import (
    DocumentUploadForm,
    EndConsultationForm,
    FeedbackForm,
    IdentityForm,
    PresenceForm,
    RecordForm,
    TakeTokenForm,
    prescription_items,
)

SERVICE_ERRORS = (DomainError, ValidationError, PermissionDenied)
SIGN_IN_FALLBACK = {
    "accounts:otp_sign_in": "/accounts/otp/",
    "accounts:staff_login": "/accounts/staff/",
}


# --- access ------------------------------------------------------------------------------


def _sign_in_url(name: str, next_url: str) -> str:
    try:
        base = reverse(name)
    except NoReverseMatch:
        base = SIGN_IN_FALLBACK[name]
    return f"{base}?{urlencode({'next': next_url})}"


def patient_required(view):
    """Patients' pages: anonymous people go to OTP sign-in and come back here."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect(_sign_in_url("accounts:otp_sign_in", request.get_full_path()))
        if request.user.role != Role.PATIENT:
            raise Http404
        return view(request, *args, **kwargs)

    return wrapped


def doctor_required(view):
    """Doctors' pages: anonymous people go to the staff sign-in; other roles find nothing."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect(_sign_in_url("accounts:staff_login", request.get_full_path()))
        doctor = selectors.doctor_profile_of(request.user)
        if doctor is None:
            raise Http404
        request.doctor = doctor
        return view(request, *args, **kwargs)

    return wrapped


def _fresh(ticket: Ticket) -> Ticket:
    """A called ticket whose 120 s passed becomes missed before it is shown."""
    if ticket.status == Ticket.Status.CALLED:
        queue.expire_unanswered_calls(opd=ticket.opd)
        ticket.refresh_from_db()
    return ticket


def _use_patient_language(request: HttpRequest, patient) -> None:
    """Speak the profile's language unless the person picked one themselves (the cookie).
    A language the project has no translation for falls back to English as a whole, so a
    page never mixes English text with dates in another script."""
    if patient is None or settings.LANGUAGE_COOKIE_NAME in request.COOKIES:
        return
    wanted = queue.message_language(patient.preferred_language)
    translation.activate(wanted)
    request.LANGUAGE_CODE = wanted


def _account_holder(patients: list):
    """The profile that speaks for the family on pages about all of it: the account
    holder's own, else the first added."""
    own = [p for p in patients if p.relation == p.Relation.SELF]
    return (own or patients or [None])[0]


def _family_ticket(request: HttpRequest, ticket_id, audited: bool = False) -> Ticket:
    """A token of the signed-in family; anyone else's is 404. ``audited`` for the pages
    that show it (not for the status polls nor the steps that act on it)."""
    try:
        if audited:
            return queue_selectors.ticket_viewed_by_family(request.user, ticket_id, request)
        return queue_selectors.ticket_for_family(request.user, ticket_id)
    except Ticket.DoesNotExist:
        raise Http404(_("No such token.")) from None


def _error_text(exc: Exception) -> str:
    if isinstance(exc, DomainError):
        return exc.message
    if isinstance(exc, ValidationError):
        return " ".join(str(m) for m in exc.messages)
    text = str(exc)
    return text or _("That could not be done. Reload the page and try again.")


def _optional_template(name: str) -> str | None:
    try:
        select_template([name])
    except Exception:
        return None
    return name


# --- the patient's way -----------------------------------------------------------------------


@patient_required
@require_GET
def start(request: HttpRequest) -> HttpResponse:
    """Pick a family profile, then a state."""
    patients = list(selectors.family_patients(request.user))
    chosen = None
    if request.GET.get("patient"):
        try:
            chosen = selectors.family_patient(request.user, request.GET["patient"])
        except Http404:
            chosen = None
    if chosen is None and len(patients) == 1:
        chosen = patients[0]
    _use_patient_language(request, chosen or _account_holder(patients))
    return render(
        request,
        "opd/start.html",
        {
            "patients": patients,
            "chosen": chosen,
            "states": State.objects.order_by("name"),
            "chosen_state": chosen.state if chosen else None,
        },
    )


@patient_required
@require_GET
def opd_list(request: HttpRequest) -> HttpResponse:
    """The OPDs of one state plus the national OPDs, with their live figures."""
    patient = selectors.family_patient(request.user, request.GET.get("patient") or _bad_id())
    state = get_object_or_404(State, code=request.GET.get("state", ""))
    _use_patient_language(request, patient)
    return render(
        request,
        "opd/opd_list.html",
        {"patient": patient, "state": state, "board": selectors.opd_board(state)},
    )


def _bad_id() -> str:
    raise Http404


@patient_required
@require_GET
def opd_detail(request: HttpRequest, opd_id) -> HttpResponse:
    """One OPD: share earlier records, say what is wrong, take a token."""
    opd = get_object_or_404(OnlineOPD, pk=opd_id, active=True)
    patient = selectors.family_patient(request.user, request.GET.get("patient") or _bad_id())
    _use_patient_language(request, patient)
    live = selectors.live_ticket_of(patient)
    return render(
        request,
        "opd/opd_detail.html",
        {
            "opd": opd,
            "patient": patient,
            "row": selectors.opd_row(opd),
            "live_ticket": live,
            "documents": documents_of(patient),
            "token_form": TakeTokenForm(),
            "upload_form": DocumentUploadForm(),
        },
    )


@patient_required
@require_POST
@rate_limited("queue.join")
def take_token(request: HttpRequest, opd_id) -> HttpResponse:

    opd = get_object_or_404(OnlineOPD, pk=opd_id, active=True)
    patient = selectors.family_patient(request.user, request.POST.get("patient") or _bad_id())
    _use_patient_language(request, patient)
    form = TakeTokenForm(request.POST)
    back = f"{reverse('opd:opd_detail', args=[opd.pk])}?{urlencode({'patient': patient.pk})}"
    if not form.is_valid():
        messages.error(request, _("The complaint is too long: keep it under 500 characters."))
        return redirect(back)
    try:
        ticket = queue.join_queue(
            request.user, patient, opd, complaint=form.cleaned_data["complaint"]
        )
    except SERVICE_ERRORS as exc:
        messages.error(request, _error_text(exc))
        return redirect(back)
    return redirect("opd:waiting_room", ticket_id=ticket.pk)


@patient_required
@require_POST
@rate_limited("documents.upload")
def upload(request: HttpRequest, patient_id) -> HttpResponse:
    patient = selectors.family_patient(request.user, patient_id)
    _use_patient_language(request, patient)
    form = DocumentUploadForm(request.POST, request.FILES)
    back = request.POST.get("back") or reverse("opd:history")
    if not back.startswith("/") or back.startswith("//"):
        back = reverse("opd:history")
    if not form.is_valid():
        messages.error(request, _("Choose a PDF, JPEG or PNG file to share."))
        return redirect(back)
    try:
        document = upload_document(
            request.user,
            patient,
            form.cleaned_data["file"],
            form.cleaned_data["title"],
            form.cleaned_data["kind"],
            request=request,
        )
    except ValidationError as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(
            request, _("“%(title)s” is shared with your doctor.") % {"title": document.title}
        )
    return redirect(back)


@require_GET
def document_file(request: HttpRequest, document_id) -> HttpResponse:
    """A shared document, to the patient's account or the doctor of their consultation."""
    if not request.user.is_authenticated:
        raise Http404
    document = get_object_or_404(PatientDocument.objects.select_related("patient"), pk=document_id)
    try:
        handle = open_document_for(request.user, document, request=request)
    except PermissionDenied:
        raise Http404 from None
    return document_response(document, handle)


@patient_required
@require_GET
def waiting_room(request: HttpRequest, ticket_id) -> HttpResponse:
    ticket = _fresh(_family_ticket(request, ticket_id, audited=True))
    _use_patient_language(request, ticket.patient)
    consultation = consultation_selectors.latest_consultation_of_ticket(ticket)
    if ticket.status == Ticket.Status.IN_CONSULTATION and consultation:
        return redirect("opd:consultation", consultation_id=consultation.pk)
    return render(
        request,
        "opd/waiting_room.html",
        {
            "ticket": ticket,
            "status": selectors.ticket_status(ticket),
            "ws_path": f"/ws/opd/{ticket.opd_id}/waiting/",
            "device_check": _optional_template("realtime/_device_check.html"),
        },
    )


@patient_required
@require_GET
def ticket_status(request: HttpRequest, ticket_id) -> JsonResponse:
    """The polling fallback of the waiting room (frequent, so not audited)."""
    ticket = _fresh(_family_ticket(request, ticket_id))
    _use_patient_language(request, ticket.patient)
    return JsonResponse(selectors.ticket_status(ticket))


@patient_required
@require_POST
@rate_limited("queue.cancel")
def cancel(request: HttpRequest, ticket_id) -> HttpResponse:

    ticket = _family_ticket(request, ticket_id)
    _use_patient_language(request, ticket.patient)
    try:
        queue.cancel_ticket(request.user, ticket)
    except SERVICE_ERRORS as exc:
        messages.error(request, _error_text(exc))
        return redirect("opd:waiting_room", ticket_id=ticket.pk)
    messages.success(request, _("Your token is cancelled."))
    return redirect("opd:start")


@patient_required
@require_POST
@rate_limited("write")
def join(request: HttpRequest, ticket_id) -> HttpResponse:
    """The patient pressed "Join now" within the 120-second window."""

    ticket = _family_ticket(request, ticket_id)
    _use_patient_language(request, ticket.patient)
    try:
        consultation = consultations.accept_call(request.user, ticket)
    except SERVICE_ERRORS as exc:
        messages.error(request, _error_text(exc))
        return redirect("opd:waiting_room", ticket_id=ticket.pk)
    if not isinstance(consultation, Consultation):
        consultation = consultation_selectors.latest_consultation_of_ticket(ticket)
    return redirect("opd:consultation", consultation_id=consultation.pk)


@patient_required
@require_POST
@rate_limited("queue.join")
def rejoin(request: HttpRequest, ticket_id) -> HttpResponse:

    ticket = _family_ticket(request, ticket_id)
    _use_patient_language(request, ticket.patient)
    try:
        queue.rejoin_after_missed(request.user, ticket)
    except SERVICE_ERRORS as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, _("You are back in the queue, at the front."))
    return redirect("opd:waiting_room", ticket_id=ticket.pk)


@patient_required
@require_GET
def consultation(request: HttpRequest, consultation_id) -> HttpResponse:
    """The patient's side: the room while it runs; the prescription and feedback after.
    The read is audited (the status poll below is not)."""
    consultation = consultation_selectors.consultation_for_user(
        request.user, consultation_id, request=request, service_line=Consultation.ServiceLine.OPD
    )
    _use_patient_language(request, consultation.patient)
    return render(
        request,
        "opd/consultation.html",
        {
            "consultation": consultation,
            "prescriptions": selectors.prescriptions_of(consultation),
            "room_panel": _optional_template("realtime/_room_panel.html"),
            "feedback_form": FeedbackForm(),
            "feedback_given": selectors.feedback_given(consultation),
            "can_follow_up": selectors.can_book_follow_up(consultation),
        },
    )


@patient_required
@require_GET
def consultation_status(request: HttpRequest, consultation_id) -> JsonResponse:
    consultation = consultation_selectors.visible_consultation(
        request.user, consultation_id, Consultation.ServiceLine.OPD
    )
    return JsonResponse({"status": consultation.status, "ended": not consultation.is_open})


@patient_required
@require_POST
@rate_limited("feedback")
def feedback(request: HttpRequest, consultation_id) -> HttpResponse:

    consultation = consultation_selectors.visible_consultation(
        request.user, consultation_id, Consultation.ServiceLine.OPD
    )
    _use_patient_language(request, consultation.patient)
    form = FeedbackForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a rating from 1 to 5."))
    else:
        try:
            consultations.submit_feedback(
                request.user,
                consultation,
                rating=form.cleaned_data["rating"],
                comment=form.cleaned_data["comment"],
            )
        except SERVICE_ERRORS as exc:
            messages.error(request, _error_text(exc))
        else:
            messages.success(request, _("Thank you for your feedback."))
    return redirect("opd:consultation", consultation_id=consultation.pk)


@patient_required
@require_POST
@rate_limited("queue.join")
def follow_up(request: HttpRequest, consultation_id) -> HttpResponse:

    consultation = consultation_selectors.visible_consultation(
        request.user, consultation_id, Consultation.ServiceLine.OPD
    )
    _use_patient_language(request, consultation.patient)
    try:
        ticket = consultations.book_follow_up(request.user, consultation)
    except SERVICE_ERRORS as exc:
        messages.error(request, _error_text(exc))
        return redirect("opd:consultation", consultation_id=consultation.pk)
    return redirect("opd:waiting_room", ticket_id=ticket.pk)


@patient_required
@require_GET
def history(request: HttpRequest) -> HttpResponse:
    """Every past consultation and prescription of the family, and their shared documents."""
    patients = list(selectors.family_patients(request.user))
    _use_patient_language(request, _account_holder(patients))
    return render(
        request,
        "opd/history.html",
        {
            "entries": selectors.family_history(patients),
            "live_tickets": selectors.live_tickets_of(patients),
            "documents": PatientDocument.objects.filter(patient__in=patients).select_related(
                "patient"
            ),
            "patients": patients,
            "upload_form": DocumentUploadForm(),
        },
    )


# --- the doctor's way ---------------------------------------------------------------------


@doctor_required
@require_GET
def doctor_console(request: HttpRequest) -> HttpResponse:
    doctor = request.doctor
    return render(
        request,
        "opd/doctor_console.html",
        {
            "doctor": doctor,
            "opds": selectors.doctor_opds(doctor),
            "presence": selectors.presence_of(doctor),
            "queue": selectors.doctor_queue_view(doctor),
            "open_consultations": consultation_selectors.open_consultations_of_doctor(doctor),
            "presence_form": PresenceForm(),
        },
    )


@doctor_required
@require_GET
def doctor_queue_json(request: HttpRequest) -> JsonResponse:
    """The polling fallback of the doctor's live queue."""
    data = selectors.doctor_queue_view(request.doctor) or {}
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
            data["open_consultation_url"] = reverse("opd:doctor_consultation", args=[first.pk])
    return JsonResponse(data)


@doctor_required
@require_POST
@rate_limited("write")
def doctor_presence(request: HttpRequest) -> HttpResponse:

    form = PresenceForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose an OPD to go online for."))
        return redirect("opd:doctor_console")
    action = form.cleaned_data["action"]
    try:
        if action == "online":
            opd = get_object_or_404(
                selectors.doctor_opds(request.doctor), pk=form.cleaned_data["opd"] or _bad_id()
            )
            queue.go_online(request.user, opd, auto_assign=form.cleaned_data["auto_assign"])
            messages.success(request, _("You are online for %(opd)s.") % {"opd": opd.name})
        elif action == "break":
            queue.take_break(request.user)
            messages.success(request, _("You are on a break. No patient will be sent to you."))
        else:
            queue.go_offline(request.user)
            messages.success(request, _("You are offline."))
    except SERVICE_ERRORS as exc:
        messages.error(request, _error_text(exc))
    return redirect("opd:doctor_console")


@doctor_required
@require_POST
@rate_limited("write")
def call_next(request: HttpRequest) -> HttpResponse:

    try:
        claimed = consultations.call_next_patient(request.user)
    except SERVICE_ERRORS as exc:
        messages.error(request, _error_text(exc))
        return redirect("opd:doctor_console")
    if claimed is None:
        messages.info(request, _("Nobody is waiting right now."))
        return redirect("opd:doctor_console")
    return redirect("opd:doctor_consultation", consultation_id=claimed.consultation.pk)


@doctor_required
@require_GET
def doctor_consultation(request: HttpRequest, consultation_id) -> HttpResponse:
    consultation = consultation_selectors.visible_consultation(
        request.user, consultation_id, Consultation.ServiceLine.OPD
    )
    patient = consultation.patient
    return render(
        request,
        "opd/doctor_consultation.html",
        {
            "consultation": consultation,
            "patient": patient,
            "documents": documents_of(patient),
            "earlier": consultation_selectors.earlier_consultations_for_doctor(
                consultation, request.user, request=request
            ),
            "identity_form": IdentityForm(initial={"age_years": patient.age}),
            "end_form": EndConsultationForm(),
            "prescriptions": selectors.prescriptions_of(consultation),
            "room_panel": _optional_template("realtime/_room_panel.html"),
            "record_json": selectors.record_of(consultation),
            "routes": ["oral", "topical", "inhaled", "injection", "drops", "other"],
        },
    )


@doctor_required
@require_POST
@rate_limited("write")
def confirm_identity_view(request: HttpRequest, consultation_id) -> HttpResponse:

    consultation = consultation_selectors.visible_consultation(
        request.user, consultation_id, Consultation.ServiceLine.OPD
    )
    form = IdentityForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Enter how the identity was confirmed and the age in years."))
    else:
        try:
            consultations.confirm_identity(
                request.user,
                consultation,
                method=form.cleaned_data["method"],
                age_years=form.cleaned_data["age_years"],
            )
        except SERVICE_ERRORS as exc:
            messages.error(request, _error_text(exc))
        else:
            messages.success(request, _("Identity and age confirmed."))
    return redirect("opd:doctor_consultation", consultation_id=consultation.pk)


@doctor_required
@require_http_methods(["POST"])
@rate_limited("consultation.record")
def save_record(request: HttpRequest, consultation_id) -> JsonResponse:
    """Autosave from the record editor; a stale base revision answers 409 with the latest.
    The parts that pass are saved; the others come back under ``rejected`` (by field, or
    ``vitals.<name>``) so the editor marks them and keeps the doctor's text."""

    consultation = consultation_selectors.visible_consultation(
        request.user, consultation_id, Consultation.ServiceLine.OPD
    )
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
            consultation,
            data,
            base_revision=form.cleaned_data["base_revision"],
            rejected=rejected,
        )
    except (DomainError, ValidationError) as exc:
        consultation.refresh_from_db()
        return JsonResponse(
            {
                "error": _error_text(exc),
                "code": getattr(exc, "code", "invalid"),
                "record": selectors.record_of(consultation),
            },
            status=getattr(exc, "status", 400),
        )
    except PermissionDenied as exc:
        return JsonResponse({"error": _error_text(exc)}, status=403)
    body = {"revision": saved.record_revision, "saved_at": timezone.now().isoformat()}
    if rejected:
        body["rejected"] = rejected
        body["error"] = _("Saved, except the fields marked: correct them and they save too.")
    return JsonResponse(body)


@doctor_required
@require_POST
@rate_limited("prescription.issue")
def prescribe(request: HttpRequest, consultation_id) -> HttpResponse:
    """The prescription form posts here; the prescriptions service checks the guidelines."""

    consultation = consultation_selectors.visible_consultation(
        request.user, consultation_id, Consultation.ServiceLine.OPD
    )
    items = prescription_items(request.POST)
    if not items:
        messages.error(request, _("Add at least one medicine with its dose and frequency."))
        return redirect("opd:doctor_consultation", consultation_id=consultation.pk)
    try:
        issue_prescription(
            request.user,
            consultation,
            items=items,
            password=request.POST.get("password", ""),
            totp=request.POST.get("totp", ""),
            provisional_diagnosis=bool(request.POST.get("provisional_diagnosis")),
            request=request,
        )
    except SERVICE_ERRORS as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, _("Prescription issued and signed."))
    return redirect("opd:doctor_consultation", consultation_id=consultation.pk)


@doctor_required
@require_POST
@rate_limited("write")
def end(request: HttpRequest, consultation_id) -> HttpResponse:

    consultation = consultation_selectors.visible_consultation(
        request.user, consultation_id, Consultation.ServiceLine.OPD
    )
    form = EndConsultationForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose how the consultation ended."))
        return redirect("opd:doctor_consultation", consultation_id=consultation.pk)
    try:
        consultations.end_consultation(
            request.user, consultation, outcome=form.cleaned_data["outcome"]
        )
    except SERVICE_ERRORS as exc:
        messages.error(request, _error_text(exc))
        return redirect("opd:doctor_consultation", consultation_id=consultation.pk)
    messages.success(request, _("Consultation ended."))
    return redirect("opd:doctor_console")


@doctor_required
@require_POST
@rate_limited("write")
def dropped(request: HttpRequest, consultation_id) -> HttpResponse:
    """The connection dropped: the patient goes back to the head of the queue."""

    consultation = consultation_selectors.visible_consultation(
        request.user, consultation_id, Consultation.ServiceLine.OPD
    )
    try:
        requeued = consultations.return_dropped_ticket(request.user, consultation)
    except SERVICE_ERRORS as exc:
        messages.error(request, _error_text(exc))
        return redirect("opd:doctor_consultation", consultation_id=consultation.pk)
    if requeued is None:
        messages.info(
            request,
            _(
                "The consultation ended as dropped. The patient already holds another token, "
                "so they keep that place instead of returning to this queue."
            ),
        )
    else:
        messages.success(request, _("The patient is back at the head of the queue."))
    return redirect("opd:doctor_console")


@doctor_required
@require_POST
@rate_limited("write")
def hold(request: HttpRequest, consultation_id) -> HttpResponse:

    consultation = consultation_selectors.visible_consultation(
        request.user, consultation_id, Consultation.ServiceLine.OPD
    )
    action = (
        consultations.resume
        if request.POST.get("action") == "resume"
        else consultations.put_on_hold
    )
    try:
        action(request.user, consultation)
    except SERVICE_ERRORS as exc:
        messages.error(request, _error_text(exc))
    return redirect("opd:doctor_consultation", consultation_id=consultation.pk)


@require_GET
def icd10(request: HttpRequest) -> JsonResponse:
    """ICD-10 search for the diagnosis field; staff only."""
    if not request.user.is_authenticated or request.user.role == Role.PATIENT:
        raise Http404
    query = request.GET.get("q", "")[:100]
    return JsonResponse({"results": selectors.search_icd10(query)})
