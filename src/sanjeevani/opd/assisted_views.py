"""The operator's OPD pages (assisted registration): a patient of theirs, the OPDs to
choose from, taking a token with the patient's consent, the token's waiting status, and
joining the room with the patient when the doctor calls. Another operator's patient or
token is a 404; other roles get the styled 403."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from sanjeevani.audit.services import record_event
from sanjeevani.consultations.workspace.pages import SERVICE_ERRORS, error_text
from sanjeevani.limits.pages import rate_limited
from sanjeevani.patients import assisted as patients_assisted
from sanjeevani.patients.assisted_forms import ConsentForm
from sanjeevani.patients.assisted_views import operator_required
from sanjeevani.patients.models import AssistedAction
from sanjeevani.prescriptions.selectors import prescriptions_for
from sanjeevani.queueing.models import LIVE_STATUSES, Ticket
from sanjeevani.registry.models import OnlineOPD, State

from . import assisted, selectors
from .forms import TakeTokenForm

Kind = AssistedAction.Kind


def _status(ticket: Ticket) -> dict:
    """The token's waiting figures for the operator (the patient's own, without links to
    the patient's pages)."""
    status = selectors.ticket_status(ticket)
    status.pop("consultation_url", None)
    status["can_join"] = status["status"] in (
        Ticket.Status.CALLED,
        Ticket.Status.IN_CONSULTATION,
    )
    return status


@never_cache
@operator_required
@require_GET
def patient(request: HttpRequest, patient_id) -> HttpResponse:
    """One of the operator's patients: what was done for them, their tokens, take one."""
    person = patients_assisted.patient_of(request.user, patient_id, request=request)
    return render(
        request,
        "patients/assisted/patient.html",
        {
            "patient": person,
            "actions": patients_assisted.actions_for(request.user, person)[:20],
            "tickets": assisted.tickets_of(request.user, person)[:20],
            "live": selectors.live_ticket_of(person),
            "states": State.objects.order_by("name"),
        },
    )


@never_cache
@operator_required
@require_GET
def opd_list(request: HttpRequest, patient_id) -> HttpResponse:
    """The OPDs of a state plus the national ones, as the patient's own list shows them."""
    person = patients_assisted.patient_of(request.user, patient_id, request=request)
    state = get_object_or_404(State, code=request.GET.get("state") or person.state.code)
    return render(
        request,
        "patients/assisted/opd_list.html",
        {"patient": person, "state": state, "board": selectors.opd_board(state)},
    )


@never_cache
@operator_required
@require_http_methods(["GET", "POST"])
@rate_limited("write")
def take_token(request: HttpRequest, patient_id, opd_id) -> HttpResponse:
    """Say what is wrong, read the consent to the patient, take the token."""
    person = patients_assisted.patient_of(request.user, patient_id, request=request)
    opd = get_object_or_404(OnlineOPD, pk=opd_id, active=True)
    token_form = TakeTokenForm(request.POST or None)
    consent_form = ConsentForm(
        request.POST or None, kind=Kind.TOOK_TOKEN, language=person.preferred_language
    )
    if request.method == "POST" and token_form.is_valid() and consent_form.is_valid():
        try:
            ticket = assisted.take_token_for(
                request.user,
                person,
                opd,
                consent_form.consent(),
                token_form.cleaned_data["complaint"],
                request=request,
            )
        except ValidationError as exc:
            consent_form.add_service_errors(exc)
        except SERVICE_ERRORS as exc:
            messages.error(request, error_text(exc))
        else:
            return redirect("opd:assisted_ticket", ticket_id=ticket.pk)
    return render(
        request,
        "patients/assisted/take_token.html",
        {
            "patient": person,
            "opd": opd,
            "row": selectors.opd_row(opd),
            "live_ticket": selectors.live_ticket_of(person),
            "token_form": token_form,
            "consent_form": consent_form,
        },
    )


def _ticket_page(
    request: HttpRequest, ticket: Ticket, join_form=None, cancel_form=None, rejoin_form=None
):
    """The token's page; shows the patient's name and token, so the read is audited."""
    record_event(
        request.user, "ticket.view", obj=ticket, patient_id=ticket.patient_id, request=request
    )
    language = ticket.patient.preferred_language

    def form(kind: str, prefix: str) -> ConsentForm:
        return ConsentForm(kind=kind, prefix=prefix, language=language)

    return render(
        request,
        "patients/assisted/ticket.html",
        {
            "ticket": ticket,
            "status": _status(ticket),
            "live": ticket.status in LIVE_STATUSES,
            "prescriptions": prescriptions_for(request.user).filter(consultation__ticket=ticket),
            "join_form": join_form or form(Kind.JOINED_ROOM, "join"),
            "cancel_form": cancel_form or form(Kind.CANCELLED_TOKEN, "cancel"),
            "rejoin_form": rejoin_form or form(Kind.REJOINED, "rejoin"),
        },
    )


@never_cache
@operator_required
@require_GET
def ticket(request: HttpRequest, ticket_id) -> HttpResponse:
    """The token's status; when the doctor calls, "Join with the patient"."""
    return _ticket_page(request, assisted.ticket_of(request.user, ticket_id))


@never_cache
@operator_required
@require_GET
def ticket_status(request: HttpRequest, ticket_id) -> JsonResponse:
    """The status page's poll (frequent, so not audited; it shows no patient data)."""
    return JsonResponse(_status(assisted.ticket_of(request.user, ticket_id)))


def _consent_step(request: HttpRequest, ticket_id, kind: str, prefix: str, step, done):
    """One consented step on a token: the consent form checked, the service ``step(user,
    token, consent)`` called; ``done(result, token)`` answers success, a refusal goes back
    to the token's page with its message, an invalid form is shown again there."""
    token = assisted.ticket_of(request.user, ticket_id)
    form = ConsentForm(request.POST, kind=kind, prefix=prefix)
    if form.is_valid():
        try:
            result = step(request.user, token, form.consent(), request=request)
        except ValidationError as exc:
            form.add_service_errors(exc)
        except SERVICE_ERRORS as exc:
            messages.error(request, error_text(exc))
            return redirect("opd:assisted_ticket", ticket_id=token.pk)
        else:
            return done(result, token)
    return _ticket_page(request, token, **{f"{prefix}_form": form})


@operator_required
@require_POST
@rate_limited("write")
def join(request: HttpRequest, ticket_id) -> HttpResponse:
    """Answer the call for the patient and go to the room with them."""
    return _consent_step(
        request,
        ticket_id,
        Kind.JOINED_ROOM,
        "join",
        assisted.join_with_patient,
        lambda consultation, _token: redirect("realtime:room", consultation_id=consultation.pk),
    )


@operator_required
@require_POST
@rate_limited("write")
def rejoin(request: HttpRequest, ticket_id) -> HttpResponse:
    """After a missed call: back to the head of the line, once."""
    return _consent_step(
        request,
        ticket_id,
        Kind.REJOINED,
        "rejoin",
        assisted.rejoin_for,
        lambda _result, token: redirect("opd:assisted_ticket", ticket_id=token.pk),
    )


@operator_required
@require_POST
@rate_limited("write")
def cancel(request: HttpRequest, ticket_id) -> HttpResponse:
    def done(_result, token: Ticket) -> HttpResponse:
        messages.success(request, _("The token is cancelled."))
        return redirect("opd:assisted_patient", patient_id=token.patient_id)

    return _consent_step(
        request, ticket_id, Kind.CANCELLED_TOKEN, "cancel", assisted.cancel_token_for, done
    )
