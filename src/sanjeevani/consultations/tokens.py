"""The workflows that change the queue and the consultations in one transaction.

The queue (``sanjeevani.queueing``) knows tickets and presence only and never calls
upwards. When a queue change can open or end a consultation, the workflow here calls the
queue's service and then does the consultation's part, inside one transaction, so a
ticket and its consultation never disagree:

- a token taken or rejoined may go at once to a free doctor with auto-assign;
- a doctor coming online with auto-assign is called the next patient;
- a cancelled or expired call ends its consultation as a no-show and frees the doctor.

Pages, APIs and housekeeping call these, not the queue's services of the same step.
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from sanjeevani.config.loaded_relations import refresh_keeping_relations
from sanjeevani.patients.models import Patient
from sanjeevani.queueing import services as queue
from sanjeevani.queueing.errors import QueueError
from sanjeevani.queueing.models import DoctorPresence, Ticket
from sanjeevani.registry.models import DoctorProfile, OnlineOPD
from sanjeevani.rollups.services import count_token_cancelled, count_token_taken

from .assignment import claim_for, offer_to_auto_assign_doctors
from .lifecycle import CloseReason, abandon_call, expire_unanswered_calls


def take_token(
    actor: Any,
    patient: Patient,
    opd: OnlineOPD,
    complaint: str = "",
    preferred_doctor: DoctorProfile | None = None,
    follow_up_of: Any = None,
) -> Ticket:
    """``queueing.join_queue``, then the token offered to the OPD's free doctors who asked
    for automatic assignment. A join refused by the one-live-ticket constraint (the same
    patient joining twice at once) is told which token the patient holds."""
    try:
        with transaction.atomic():
            ticket = queue.join_queue(
                actor,
                patient,
                opd,
                complaint,
                preferred_doctor=preferred_doctor,
                follow_up_of=follow_up_of,
            )
            count_token_taken(ticket)
            called = offer_to_auto_assign_doctors(ticket.opd, timezone.now())
    except IntegrityError:
        queue.refuse_second_live_ticket(patient)
        raise
    if called:  # this token may be the one called: read it again
        refresh_keeping_relations(ticket)
    return ticket


def cancel_token(actor: Any, ticket: Ticket) -> Ticket:
    """``queueing.cancel_ticket``; a call in progress ends as a no-show (``cancelled``)
    and its doctor is free."""
    with transaction.atomic():
        was = Ticket.objects.select_for_update().values_list("status", flat=True).get(pk=ticket.pk)
        ticket = queue.cancel_ticket(actor, ticket)
        if was != Ticket.Status.CANCELLED:
            count_token_cancelled(ticket)
        abandon_call(ticket, CloseReason.CANCELLED, timezone.now(), actor)
    return ticket


def rejoin_queue(actor: Any, ticket: Ticket) -> Ticket:
    """``queueing.rejoin_after_missed`` once a passed call window is recorded as missed,
    then the token offered to free doctors with auto-assign. One transaction; the miss
    it records stands when the rejoin is then refused (a second miss is final)."""
    queue.check_family(actor, ticket.patient)
    refusal: QueueError | None = None
    with transaction.atomic():
        expire_unanswered_calls(opd=ticket.opd)
        try:
            with transaction.atomic():
                ticket = queue.rejoin_after_missed(actor, ticket)
                offer_to_auto_assign_doctors(ticket.opd, timezone.now())
        except QueueError as refused:
            refusal = refused
    if refusal is not None:
        raise refusal
    refresh_keeping_relations(ticket)
    return ticket


def start_serving(doctor_user: Any, opd: OnlineOPD, auto_assign: bool = False) -> DoctorPresence:
    """``queueing.go_online``; a free doctor with auto-assign is called the next patient at
    once."""
    with transaction.atomic():
        presence = queue.go_online(doctor_user, opd, auto_assign)
        if presence.status == DoctorPresence.Status.AVAILABLE and presence.auto_assign:
            claim_for(presence.doctor, opd, doctor_user, timezone.now())
    presence.refresh_from_db()
    return presence
