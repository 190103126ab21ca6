"""Calling a patient: the claim of the next ticket opens its consultation in the same
transaction (by the doctor's click, or for a doctor who asked to be assigned
automatically), and the patient joins the call within its window.

A claim sends ``ticket.called`` to ``ticket.<ticket>`` (``{"ticket", "consultation",
"call_expires_at"}``) and ``consultation.assigned`` to ``doctor.<doctor>`` (``{"consultation",
"ticket", "token_number"}``), with the queue's ``queue.advanced`` (see
``sanjeevani.queueing.services``).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from sanjeevani.audit.services import record_event
from sanjeevani.live.groups import doctor_group, ticket_group
from sanjeevani.live.publisher import publish_many_after_commit
from sanjeevani.queueing import services as queue
from sanjeevani.queueing.errors import QueueError
from sanjeevani.queueing.models import Ticket
from sanjeevani.registry.models import DoctorProfile, OnlineOPD

from .models import Consultation
from .states import ACTIVE, CStatus, Outcome


def _open_for_claimed(
    ticket: Ticket, consultation_id: uuid.UUID, doctor: DoctorProfile, now: dt.datetime
) -> Consultation:
    """The consultation of a ticket just claimed: calling, implied consent (the claim's
    audit row names it); the patient's ring and the doctor's assignment after commit. A
    follow-up token names the completed consultation it continues (``book_follow_up`` set
    it), whichever doctor takes it."""
    consultation = Consultation(
        id=consultation_id,
        service_line=Consultation.ServiceLine.OPD,
        ticket=ticket,
        patient_id=ticket.patient_id,
        doctor=doctor,
        opd_id=ticket.opd_id,
        status=CStatus.CALLING,
        consent="implied",
        consent_recorded_at=now,
        complaints=ticket.complaint,
        follow_up_of_id=ticket.follow_up_of_id,
    )
    consultation.save(force_insert=True)
    publish_many_after_commit(
        [
            (
                ticket_group(ticket.pk),
                {
                    "type": "ticket.called",
                    "ticket": str(ticket.pk),
                    "consultation": str(consultation.pk),
                    "call_expires_at": ticket.call_expires_at.isoformat(),
                },
            ),
            (
                doctor_group(doctor.pk),
                {
                    "type": "consultation.assigned",
                    "consultation": str(consultation.pk),
                    "ticket": str(ticket.pk),
                    "token_number": ticket.token_number,
                },
            ),
        ]
    )
    return consultation


def claim_for(
    doctor: DoctorProfile, opd: OnlineOPD | None, actor: Any, now: dt.datetime
) -> Ticket | None:
    """In the caller's transaction: claim the next ticket for ``doctor`` (of ``opd``, or
    of the OPD they are online for) and open its consultation. Returns the CALLED ticket
    with ``.consultation`` set, or None (doctor not free to call there, or nobody waits).
    What a workflow calls when a doctor with auto-assign comes online."""
    consultation_id = uuid.uuid4()
    claim = queue.claim_next_ticket(
        doctor, opd, actor, now, detail={"consultation": str(consultation_id)}
    )
    if claim is None:
        return None
    ticket = claim.ticket
    ticket.consultation = _open_for_claimed(ticket, consultation_id, doctor, now)
    return ticket


def call_next_patient(doctor_user: Any, opd: OnlineOPD | None = None) -> Ticket | None:
    """Call the next patient: the doctor must be online (for ``opd`` if given) and not
    busy with another call or consultation. Claims the ticket and opens its consultation
    in one transaction. Returns the CALLED ticket (its ``.consultation`` is the new
    Consultation), or None when nobody waits. A busy doctor whose own call has expired
    gets it cleared first, in the same transaction; that clearing stands even when the
    doctor is still refused (another consultation of theirs is active)."""
    doctor = queue.doctor_of(doctor_user)
    with transaction.atomic():
        now = timezone.now()
        ticket = claim_for(doctor, opd, doctor_user, now)
        refusal = None if ticket is not None else queue.claim_refusal(doctor, opd)
        if (
            refusal is not None
            and refusal.code == "consultation_open"
            and queue.expire_unanswered_calls(now=now, opd=opd)
        ):
            ticket = claim_for(doctor, opd, doctor_user, now)
            refusal = None if ticket is not None else queue.claim_refusal(doctor, opd)
    if refusal is not None:
        raise refusal
    return ticket


def free_doctor(
    doctor: DoctorProfile, now: dt.datetime, actor: Any = None, assign: bool = True
) -> None:
    """In the caller's transaction: the doctor's consultation ended or paused, so they are
    available again unless another is still active, and, with auto-assign on (and
    ``assign``), the next patient is called for them."""
    if Consultation.objects.filter(doctor=doctor, status__in=ACTIVE).exists():
        return
    presence = queue.mark_doctor_free(doctor, now)
    if assign and presence is not None and presence.auto_assign and presence.opd_id:
        claim_for(doctor, presence.opd, actor, now)


def offer_to_auto_assign_doctors(opd: OnlineOPD, now: dt.datetime) -> None:
    """In the caller's transaction: hand waiting patients to the free doctors of ``opd``
    who asked to be assigned automatically. What a workflow calls after a token is taken
    or rejoins the queue."""
    for doctor in queue.auto_assign_doctors(opd):
        if claim_for(doctor, opd, doctor.user, now) is None:
            break


def on_assignment_possible(
    sender: Any,
    opd: OnlineOPD,
    doctor: DoctorProfile | None = None,
    actor: Any = None,
    now: dt.datetime | None = None,
    **kwargs: Any,
) -> None:
    """Adapter for ``queueing.signals.assignment_possible`` (a token was taken or rejoined:
    ``offer_to_auto_assign_doctors``; a doctor with auto-assign came online: ``claim_for``),
    until the workflows call those directly."""
    now = now or timezone.now()
    if doctor is not None:
        claim_for(doctor, opd, actor, now)
    else:
        offer_to_auto_assign_doctors(opd, now)


def _marked_missed_by_doctor(ticket: Ticket) -> bool:
    """Whether the last call of this missed ticket was ended as "patient did not join" by
    the doctor before its window closed (an expired window ends it after)."""
    if ticket.call_expires_at is None:
        return False
    last = (
        Consultation.objects.filter(ticket=ticket, outcome=Outcome.NO_SHOW)
        .order_by("-created_at")
        .values_list("ended_at", flat=True)
        .first()
    )
    return last is not None and last < ticket.call_expires_at


def _missed_refusal(ticket: Ticket) -> QueueError:
    if _marked_missed_by_doctor(ticket):
        return QueueError(
            "call_marked_missed",
            _(
                "The doctor marked this call as missed because you had not joined yet. "
                "You can rejoin the queue once, at its head."
            )
            if ticket.missed_count == 1
            else _(
                "The doctor marked this call as missed because you had not joined yet. "
                "It was the second missed call, so this token is closed."
            ),
        )
    return QueueError(
        "call_expired",
        _(
            "The 2 minutes to join have passed and the call was missed. You can rejoin "
            "the queue once, at its head."
        )
        if ticket.missed_count == 1
        else _("The call was missed again; this token is closed."),
    )


def _not_called() -> QueueError:
    return QueueError("not_called", _("The doctor has not called this token yet; please wait."))


def accept_call(actor: Any, ticket: Ticket) -> Consultation:
    """The patient presses "Join now" within the call window: the consultation starts.
    One transaction: calls whose window has passed are marked missed first (and that
    stands when this join is then refused as too late)."""
    queue.check_family(actor, ticket.patient)
    now = timezone.now()
    refusal: QueueError | None = None
    consultation: Consultation | None = None
    with transaction.atomic():
        queue.expire_unanswered_calls(now=now, opd=ticket.opd)
        ticket = queue.lock_ticket(ticket.pk)
        if ticket.status == Ticket.Status.IN_CONSULTATION:
            consultation = ticket.consultations.order_by("-created_at").first()
        elif ticket.status == Ticket.Status.MISSED:
            refusal = _missed_refusal(ticket)
        elif ticket.status != Ticket.Status.CALLED:
            refusal = _not_called()
        else:
            consultation = (
                Consultation.objects.select_for_update()
                .filter(ticket=ticket, status=CStatus.CALLING)
                .order_by("-created_at")
                .first()
            )
            if consultation is None:
                refusal = _not_called()
            else:
                _start(actor, ticket, consultation, now)
    if refusal is not None:
        raise refusal
    return consultation


def _start(actor: Any, ticket: Ticket, consultation: Consultation, now: dt.datetime) -> None:
    queue.start_service(ticket, now)
    consultation.status = CStatus.IN_PROGRESS
    consultation.started_at = now
    consultation.save(update_fields=["status", "started_at"])
    record_event(actor, "consultation.join", obj=consultation, patient_id=ticket.patient_id)
    publish_many_after_commit(
        [
            (
                doctor_group(consultation.doctor_id),
                {
                    "type": "consultation.status",
                    "consultation": str(consultation.pk),
                    "status": consultation.status,
                },
            )
        ]
    )
