"""Assisted Online OPD: an operator takes a token for a patient they registered, answers
the doctor's call and joins the room with the patient, or cancels the token.

Each step calls the consultations workflow of the same step (``take_token``,
``accept_call``, ``cancel_token``: the queue's family check and the care-team policy let
the operator through, ``patients.family.is_assisting_operator``) and records the
operator's action with the patient's consent (``patients.assisted``) in the same
transaction: no consent, no step. This lives in ``opd`` because it changes the queue and
the consultation, two layers above ``patients``.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _

from sanjeevani.audit.services import record_event
from sanjeevani.consultations import services as consultations
from sanjeevani.consultations.models import Consultation
from sanjeevani.patients.assisted import (
    Consent,
    Kind,
    check_consent,
    record_assisted_action,
    require_operator,
)
from sanjeevani.patients.family import assisted_ticket_ids, is_assisting_operator
from sanjeevani.patients.models import Patient
from sanjeevani.queueing.models import Ticket
from sanjeevani.realtime.models import RoomParticipant, RoomRole
from sanjeevani.realtime.selectors import MAX_ROOM_MEMBERS, room_members
from sanjeevani.registry.models import OnlineOPD


def take_token_for(
    operator: Any,
    patient: Patient,
    opd: OnlineOPD,
    consent: Consent | None,
    complaint: str = "",
    *,
    request: HttpRequest | None = None,
) -> Ticket:
    """A token of ``opd`` for one of the operator's patients, with the patient's consent."""
    require_operator(operator)
    if not is_assisting_operator(operator, patient):
        raise Http404("No such patient.")
    consent = check_consent(consent)
    with transaction.atomic():
        ticket = consultations.take_token(operator, patient, opd, complaint=complaint)
        record_assisted_action(
            operator, patient, Kind.TOOK_TOKEN, consent, ticket_id=ticket.pk, request=request
        )
    return ticket


def _admit_operator(operator: Any, consultation: Consultation) -> None:
    """The operator joins the room as the health worker with the patient (a room member
    the room itself knows: ``realtime.selectors.room_members``)."""
    members = room_members(consultation)
    if any(m.user_id == operator.pk for m in members):
        return
    if len(members) >= MAX_ROOM_MEMBERS:
        raise ValidationError(
            _("The room is full. Ask the doctor to let you in, or let the patient join alone."),
            code="room_full",
        )
    RoomParticipant.objects.create(
        consultation=consultation,
        user=operator,
        role=RoomRole.HEALTH_WORKER,
        invited_by=operator,
    )
    record_event(
        operator,
        "room.participant_added",
        obj=consultation,
        patient_id=consultation.patient_id,
        detail={"user": str(operator.pk), "role": RoomRole.HEALTH_WORKER},
    )


def join_with_patient(
    operator: Any, ticket: Ticket, consent: Consent | None, *, request: HttpRequest | None = None
) -> Consultation:
    """Answer the doctor's call for the patient (or rejoin a consultation in progress) and
    enter the room with them. One transaction: the call answered, the operator admitted and
    the consent recorded together, or none of them."""
    require_operator(operator)
    consent = check_consent(consent)
    with transaction.atomic():
        consultation = consultations.accept_call(operator, ticket)
        if not isinstance(consultation, Consultation):
            consultation = ticket.consultations.order_by("-created_at").first()
        _admit_operator(operator, consultation)
        record_assisted_action(
            operator,
            ticket.patient,
            Kind.JOINED_ROOM,
            consent,
            ticket_id=ticket.pk,
            consultation_id=consultation.pk,
            request=request,
        )
    return consultation


def rejoin_for(
    operator: Any, ticket: Ticket, consent: Consent | None, *, request: HttpRequest | None = None
) -> Ticket:
    """After a missed call, put the patient back at the head of the line (once), as the
    patient's own "Rejoin" does (``consultations.rejoin_queue``)."""
    require_operator(operator)
    consent = check_consent(consent)
    with transaction.atomic():
        ticket = consultations.rejoin_queue(operator, ticket)
        record_assisted_action(
            operator, ticket.patient, Kind.REJOINED, consent, ticket_id=ticket.pk, request=request
        )
    return ticket


def cancel_token_for(
    operator: Any, ticket: Ticket, consent: Consent | None, *, request: HttpRequest | None = None
) -> Ticket:
    """Give up a token the operator took, when the patient asks to."""
    require_operator(operator)
    consent = check_consent(consent)
    with transaction.atomic():
        ticket = consultations.cancel_token(operator, ticket)
        record_assisted_action(
            operator,
            ticket.patient,
            Kind.CANCELLED_TOKEN,
            consent,
            ticket_id=ticket.pk,
            request=request,
        )
    return ticket


# --- reads --------------------------------------------------------------------------------


def tickets_of(operator: Any, patient: Patient) -> Any:
    """The tokens the operator took for ``patient``, newest first."""
    return (
        Ticket.objects.filter(patient=patient, pk__in=assisted_ticket_ids(operator))
        .select_related("opd", "patient")
        .order_by("-queued_at")
    )


def ticket_of(operator: Any, ticket_id: Any, *, request: HttpRequest | None = None) -> Ticket:
    """A token the operator took (404 for any other); ``request`` audits the read."""
    require_operator(operator)
    ticket = (
        Ticket.objects.filter(pk__in=assisted_ticket_ids(operator))
        .select_related("opd", "patient")
        .filter(pk=ticket_id)
        .first()
    )
    if ticket is None:
        raise Http404("No such token.")
    if request is not None:
        record_event(
            operator, "ticket.view", obj=ticket, patient_id=ticket.patient_id, request=request
        )
    return ticket
