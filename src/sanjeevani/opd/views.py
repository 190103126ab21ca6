"""Pages of the Online OPD, the patient's way: profile → state → OPD → token → waiting room
→ consultation → prescription and feedback. The doctor's pages are the clinician's
workspace (``consultations.workspace``), mounted in ``config.urls``; ``urls`` keeps their
old paths as aliases.

Pages whose actions depend on the current state (take a token, join, rejoin, cancel,
follow-up) are ``never_cache`` (``Cache-Control: no-store``): Back and Forward fetch them
again instead of offering a stale form; site.js reloads a page restored from the
back-forward cache that carries ``data-fresh-on-return``.

Views stay thin: they find the object through a scoped selector (404 for anyone else's),
parse one form, call one service, and render or redirect. Service errors are shown as the
plain message the service gave.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from sanjeevani.config.database_routers import reads_from_replica
from sanjeevani.consultations import care_team
from sanjeevani.consultations import selectors as consultation_selectors
from sanjeevani.consultations import services as consultations
from sanjeevani.consultations.care_team import Action
from sanjeevani.consultations.models import Consultation
from sanjeevani.consultations.workspace import selectors as workspace_selectors
from sanjeevani.consultations.workspace.pages import SERVICE_ERRORS, error_text
from sanjeevani.limits.pages import rate_limited
from sanjeevani.patients.documents import (
    document_response,
    documents_of,
    open_document_for,
    upload_document,
)
from sanjeevani.patients.models import PatientDocument
from sanjeevani.queueing.models import Ticket
from sanjeevani.registry.models import OnlineOPD, State

from . import selectors
from .access import (
    account_holder,
    bad_id,
    family_ticket,
    patient_required,
    use_patient_language,
)
from .forms import DocumentUploadForm, FeedbackForm, TakeTokenForm

# --- the patient's way -----------------------------------------------------------------------


@never_cache
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
    use_patient_language(request, chosen or account_holder(patients))
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


@never_cache
@patient_required
@require_GET
def opd_list(request: HttpRequest) -> HttpResponse:
    """The OPDs of one state plus the national OPDs, with their live figures."""
    patient = selectors.family_patient(request.user, request.GET.get("patient") or bad_id())
    state = get_object_or_404(State, code=request.GET.get("state", ""))
    use_patient_language(request, patient)
    return render(
        request,
        "opd/opd_list.html",
        {"patient": patient, "state": state, "board": selectors.opd_board(state)},
    )


@never_cache
@patient_required
@require_GET
def opd_detail(request: HttpRequest, opd_id) -> HttpResponse:
    """One OPD: share earlier records, say what is wrong, take a token."""
    opd = get_object_or_404(OnlineOPD, pk=opd_id, active=True)
    patient = selectors.family_patient(request.user, request.GET.get("patient") or bad_id())
    use_patient_language(request, patient)
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
    patient = selectors.family_patient(request.user, request.POST.get("patient") or bad_id())
    use_patient_language(request, patient)
    form = TakeTokenForm(request.POST)
    back = f"{reverse('opd:opd_detail', args=[opd.pk])}?{urlencode({'patient': patient.pk})}"
    if not form.is_valid():
        messages.error(request, _("The complaint is too long: keep it under 500 characters."))
        return redirect(back)
    try:
        ticket = consultations.take_token(
            request.user, patient, opd, complaint=form.cleaned_data["complaint"]
        )
    except SERVICE_ERRORS as exc:
        messages.error(request, error_text(exc))
        return redirect(back)
    return redirect("opd:waiting_room", ticket_id=ticket.pk)


@patient_required
@require_POST
@rate_limited("documents.upload")
def upload(request: HttpRequest, patient_id) -> HttpResponse:
    patient = selectors.family_patient(request.user, patient_id)
    use_patient_language(request, patient)
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
        messages.error(request, error_text(exc))
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
        permitted = care_team.may(request.user, Action.VIEW_DOCUMENTS, document.patient)
        handle = open_document_for(request.user, document, request=request, permitted=permitted)
    except PermissionDenied:
        raise Http404 from None
    return document_response(document, handle)


@never_cache
@patient_required
@require_GET
def waiting_room(request: HttpRequest, ticket_id) -> HttpResponse:
    ticket = family_ticket(request, ticket_id, audited=True)
    use_patient_language(request, ticket.patient)
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
        },
    )


@never_cache
@patient_required
@require_GET
def ticket_status(request: HttpRequest, ticket_id) -> JsonResponse:
    """The polling fallback of the waiting room (frequent, so not audited)."""
    ticket = family_ticket(request, ticket_id)
    use_patient_language(request, ticket.patient)
    return JsonResponse(selectors.ticket_status(ticket))


@patient_required
@require_POST
@rate_limited("queue.cancel")
def cancel(request: HttpRequest, ticket_id) -> HttpResponse:

    ticket = family_ticket(request, ticket_id)
    use_patient_language(request, ticket.patient)
    try:
        consultations.cancel_token(request.user, ticket)
    except SERVICE_ERRORS as exc:
        messages.error(request, error_text(exc))
        return redirect("opd:waiting_room", ticket_id=ticket.pk)
    messages.success(request, _("Your token is cancelled."))
    return redirect("opd:start")


@patient_required
@require_POST
@rate_limited("write")
def join(request: HttpRequest, ticket_id) -> HttpResponse:
    """The patient pressed "Join now" within the 120-second window."""

    ticket = family_ticket(request, ticket_id)
    use_patient_language(request, ticket.patient)
    try:
        consultation = consultations.accept_call(request.user, ticket)
    except SERVICE_ERRORS as exc:
        messages.error(request, error_text(exc))
        return redirect("opd:waiting_room", ticket_id=ticket.pk)
    if not isinstance(consultation, Consultation):
        consultation = consultation_selectors.latest_consultation_of_ticket(ticket)
    return redirect("opd:consultation", consultation_id=consultation.pk)


@patient_required
@require_POST
@rate_limited("queue.join")
def rejoin(request: HttpRequest, ticket_id) -> HttpResponse:

    ticket = family_ticket(request, ticket_id)
    use_patient_language(request, ticket.patient)
    try:
        consultations.rejoin_queue(request.user, ticket)
    except SERVICE_ERRORS as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, _("You are back in the queue, at the front."))
    return redirect("opd:waiting_room", ticket_id=ticket.pk)


@never_cache
@patient_required
@require_GET
def consultation(request: HttpRequest, consultation_id) -> HttpResponse:
    """The patient's side: the room while it runs; the prescription and feedback after.
    The read is audited (the status poll below is not)."""
    consultation = consultation_selectors.consultation_for_user(
        request.user, consultation_id, request=request, service_line=Consultation.ServiceLine.OPD
    )
    use_patient_language(request, consultation.patient)
    return render(
        request,
        "opd/consultation.html",
        {
            "consultation": consultation,
            "prescriptions": workspace_selectors.prescriptions_of(consultation),
            "feedback_form": FeedbackForm(),
            "feedback_given": selectors.feedback_given(consultation),
            "can_follow_up": selectors.can_book_follow_up(consultation),
        },
    )


@never_cache
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
    use_patient_language(request, consultation.patient)
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
            messages.error(request, error_text(exc))
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
    use_patient_language(request, consultation.patient)
    try:
        ticket = consultations.book_follow_up(request.user, consultation)
    except SERVICE_ERRORS as exc:
        messages.error(request, error_text(exc))
        return redirect("opd:consultation", consultation_id=consultation.pk)
    return redirect("opd:waiting_room", ticket_id=ticket.pk)


@reads_from_replica
@never_cache
@patient_required
@require_GET
def history(request: HttpRequest) -> HttpResponse:
    """Every past consultation and prescription of the family, and their shared documents."""
    patients = list(selectors.family_patients(request.user))
    use_patient_language(request, account_holder(patients))
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
