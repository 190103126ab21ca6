"""Calling a patient: the doctor's click claims the next ticket and opens its consultation
in one transaction (``assignment``), and the patient joins the call within its window.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from sanjeevani.audit.services import record_event
from sanjeevani.queueing import services as queue
from sanjeevani.queueing.errors import QueueError
from sanjeevani.queueing.models import Ticket
from sanjeevani.registry.models import OnlineOPD

from . import care_team
from .assignment import claim_for
from .care_team import Action
from .lifecycle import expire_unanswered_calls
from .models import Consultation
from .states import CStatus, Outcome, publish_status


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
            and expire_unanswered_calls(now=now, opd=opd)
        ):
            ticket = claim_for(doctor, opd, doctor_user, now)
            refusal = None if ticket is not None else queue.claim_refusal(doctor, opd)
    if refusal is not None:
        raise refusal
    return ticket


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
    care_team.require(actor, Action.ANSWER_CALL, ticket.patient)
    now = timezone.now()
    refusal: QueueError | None = None
    consultation: Consultation | None = None
    with transaction.atomic():
        expire_unanswered_calls(now=now, opd=ticket.opd)
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
    publish_status(consultation, actor)
