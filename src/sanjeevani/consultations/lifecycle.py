"""A consultation under way and its ending: hold and resume, a dropped call, the doctor
ending it with an outcome, a call abandoned (the window passed or the patient cancelled).

Every ending goes through ``close_consultation``, in the transaction of the service that
ends it: the one place where a consultation becomes ENDED, its ``consultation.closed``
audit row is written and its doctor is freed (and, with auto-assign, handed the next
patient); dashboard rollups and record exports hook in there (``_after_close``).

How each ending reaches it (``CloseReason``):

=============  ==============================  ============  ===========================
reason         service                         outcome       the ticket
=============  ==============================  ============  ===========================
``completed``  ``end_consultation``            prescription, COMPLETED
                                               advice_only,
                                               referred
``no_show``    ``end_consultation``            no_show       MISSED (may rejoin once)
``missed``     ``abandon_call`` (expiry)       no_show       MISSED by the queue
``cancelled``  ``abandon_call`` (patient)      no_show       CANCELLED by the queue
``dropped``    ``return_dropped_ticket``       dropped       back to the head (WAITING)
``forwarded``  ``forward_consultation``        forwarded     WAITING in the higher hub's
                                                             queue (hub and spoke)
=============  ==============================  ============  ===========================
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from sanjeevani.audit.services import record_event
from sanjeevani.config.loaded_relations import refresh_keeping_relations
from sanjeevani.observability.metrics import count_consultation_ended
from sanjeevani.queueing import services as queue
from sanjeevani.queueing.errors import ConsultationError, QueueError
from sanjeevani.queueing.models import LIVE_STATUSES, Ticket
from sanjeevani.rollups.services import count_consultation_closed

from . import care_team
from .assignment import free_doctor
from .care_team import Action
from .identity import identity_confirmed
from .models import Consultation
from .states import OPEN, CStatus, Outcome, locked, publish_status, require_doctor_of, require_open


class CloseReason(enum.StrEnum):
    """How a consultation came to end (the ``reason`` of its ``consultation.closed`` row)."""

    COMPLETED = "completed"
    NO_SHOW = "no_show"
    MISSED = "missed"
    CANCELLED = "cancelled"
    DROPPED = "dropped"
    FORWARDED = "forwarded"


#: The outcomes a doctor may end a consultation with.
DOCTOR_OUTCOMES = frozenset(
    {Outcome.PRESCRIPTION, Outcome.ADVICE_ONLY, Outcome.REFERRED, Outcome.NO_SHOW}
)

#: Endings that record clinical advice: the doctor must first confirm who the patient is.
CLINICAL_OUTCOMES = frozenset({Outcome.PRESCRIPTION, Outcome.ADVICE_ONLY, Outcome.REFERRED})


def close_consultation(
    consultation: Consultation,
    outcome: str,
    reason: CloseReason | str,
    actor: Any,
    now: dt.datetime,
    ended_at: dt.datetime | None = None,
) -> Consultation:
    """In the caller's transaction, the consultation locked and its ticket already moved
    on: the consultation ends with ``outcome``. Every ending passes here once (an ended
    consultation is refused), so this is where whatever must follow every ending
    belongs. The doctor is free again and, with auto-assign on, called the next patient
    (in this transaction, so after the ticket's own change). ``ended_at`` is when it
    ended if that was before ``now`` (housekeeping catching up on a missed call records
    it at the end of its window, so the day it is counted on is the day it happened)."""
    require_open(consultation)
    reason = CloseReason(reason)
    consultation.status = CStatus.ENDED
    consultation.outcome = outcome
    consultation.ended_at = min(ended_at, now) if ended_at else now
    consultation.save(update_fields=["status", "outcome", "ended_at"])
    record_event(
        actor,
        "consultation.closed",
        obj=consultation,
        patient_id=consultation.patient_id,
        detail={"outcome": outcome, "reason": reason.value},
    )
    _after_close(consultation, reason, now)
    free_doctor(consultation.doctor, now, actor)
    publish_status(consultation, actor, reason.value)
    return consultation


def _after_close(consultation: Consultation, reason: CloseReason, now: dt.datetime) -> None:
    """The hook point for what follows every ending, in the same transaction: the
    dashboards' rollup rows (per day, state, service line) are counted here; the record
    export will be called from here too."""
    count_consultation_closed(consultation)
    count_consultation_ended(consultation.service_line, consultation.outcome, reason.value)


def _close_open_consultations(
    ticket: Ticket,
    outcome: str,
    reason: CloseReason,
    actor: Any,
    now: dt.datetime,
    ended_at: dt.datetime | None = None,
) -> list[Consultation]:
    """Every still-open consultation of ``ticket``, closed (normally one)."""
    still_open = list(
        Consultation.objects.select_for_update()
        .select_related("doctor")
        .filter(ticket=ticket, status__in=OPEN)
    )
    return [close_consultation(c, outcome, reason, actor, now, ended_at) for c in still_open]


def abandon_call(
    ticket: Ticket,
    reason: CloseReason | str,
    now: dt.datetime,
    actor: Any = None,
    ended_at: dt.datetime | None = None,
) -> list[Consultation]:
    """In the caller's transaction, the ticket locked and already taken out of its call by
    the queue (MISSED when the window passed, ``reason="missed"``; CANCELLED by the
    patient, ``reason="cancelled"``): the call's consultation ends as a no-show and its
    doctor is free. Does nothing when no consultation of the ticket is open, so a
    workflow may call it after any queue change that ends a call."""
    return _close_open_consultations(
        ticket, Outcome.NO_SHOW, CloseReason(reason), actor, now, ended_at
    )


def expire_unanswered_calls(now: dt.datetime | None = None, opd: Any = None) -> int:
    """Calls not answered within their window become missed tickets, and their
    consultations end as no-shows (``missed``), freeing the doctors. Run by housekeeping
    (``manage.py queue_housekeeping --loop``, which ``make run`` starts beside the server)
    and by the writes that need it now (a busy doctor calling, a patient joining late or
    rejoining); never by a read. Each miss is recorded at the end of its window, however
    late housekeeping runs. Returns how many calls were missed."""
    now = now or timezone.now()
    # No savepoint inside a caller's transaction (a join, a rejoin, a busy doctor's call):
    # each lets an error here end its whole step, so one would only cost two round trips.
    with transaction.atomic(savepoint=False):
        missed = queue.miss_unanswered_calls(now=now, opd=opd)
        for ticket in missed:
            abandon_call(ticket, CloseReason.MISSED, now, ended_at=ticket.call_expires_at)
    return len(missed)


# --- hold and resume ----------------------------------------------------------------------


def _move(doctor_user: Any, consultation: Consultation, source: str, target: str, action: str):
    require_doctor_of(doctor_user, consultation)
    with transaction.atomic():
        consultation = locked(consultation)
        if consultation.status == target:
            return consultation
        if consultation.status != source:
            raise ConsultationError(
                "wrong_state",
                _("This consultation is %(status)s; that step is not possible now.")
                % {"status": consultation.get_status_display().lower()},
            )
        consultation.status = target
        consultation.save(update_fields=["status"])
        now = timezone.now()
        if target == CStatus.ON_HOLD:
            free_doctor(consultation.doctor, now, assign=False)
        else:
            queue.mark_doctor_busy(consultation.doctor, now)
        record_event(doctor_user, action, obj=consultation, patient_id=consultation.patient_id)
        publish_status(consultation, doctor_user)
    return consultation


def put_on_hold(doctor_user: Any, consultation: Consultation) -> Consultation:
    """The patient waits in the room (the doctor checks something); the doctor is free to
    call another patient meanwhile (no automatic assignment)."""
    return _move(
        doctor_user, consultation, CStatus.IN_PROGRESS, CStatus.ON_HOLD, "consultation.hold"
    )


def resume(doctor_user: Any, consultation: Consultation) -> Consultation:
    return _move(
        doctor_user, consultation, CStatus.ON_HOLD, CStatus.IN_PROGRESS, "consultation.resume"
    )


# --- endings ------------------------------------------------------------------------------


def _has_issued_prescription(consultation: Consultation) -> bool:
    """The prescriptions app hangs its Prescription off ``consultation.prescriptions``."""
    prescriptions = getattr(consultation, "prescriptions", None)
    return prescriptions is not None and prescriptions.exists()


def _check_outcome_allowed(consultation: Consultation, outcome: str) -> None:
    if outcome != Outcome.NO_SHOW and consultation.status == CStatus.CALLING:
        raise ConsultationError(
            "patient_not_joined",
            _("The patient has not joined yet. Wait for them, or end as “patient did not join”."),
        )
    if outcome in CLINICAL_OUTCOMES and not identity_confirmed(consultation):
        raise ConsultationError(
            "identity_not_confirmed",
            _(
                "Confirm the patient's identity and age before ending with clinical advice; "
                "if they never joined, end as “patient did not join”."
            ),
        )
    if outcome == Outcome.PRESCRIPTION and not _has_issued_prescription(consultation):
        raise ConsultationError(
            "no_prescription",
            _("Issue the prescription before ending with “completed with prescription”."),
        )
    if outcome == Outcome.ADVICE_ONLY and not consultation.advice.strip():
        raise ConsultationError(
            "no_advice", _("Write the advice in the record before ending with advice only.")
        )
    if outcome == Outcome.REFERRED and not consultation.referral.strip():
        raise ConsultationError(
            "no_referral",
            _("Write where and why you refer the patient before ending as referred."),
        )


def end_consultation(doctor_user: Any, consultation: Consultation, outcome: str) -> Consultation:
    """End with an outcome: ``prescription`` (an issued prescription must exist),
    ``advice_only`` (advice written), ``referred`` (referral written) or ``no_show`` (the
    patient never joined: the token counts as missed, so they may rejoin once). The doctor
    is free again and, with auto-assign on, gets the next patient."""
    require_doctor_of(doctor_user, consultation)
    if outcome not in DOCTOR_OUTCOMES:
        raise ValidationError(
            {
                "outcome": _("Choose one of: %(list)s.")
                % {"list": ", ".join(sorted(DOCTOR_OUTCOMES))}
            }
        )
    now = timezone.now()
    with transaction.atomic():
        consultation = locked(consultation)
        require_open(consultation)
        _check_outcome_allowed(consultation, outcome)
        ticket = queue.lock_ticket(consultation.ticket_id) if consultation.ticket_id else None
        in_call = ticket is not None and ticket.status in (
            Ticket.Status.CALLED,
            Ticket.Status.IN_CONSULTATION,
        )
        if outcome == Outcome.NO_SHOW:
            if in_call:
                queue.mark_missed(ticket, now, actor=doctor_user)
            close_consultation(consultation, outcome, CloseReason.NO_SHOW, doctor_user, now)
            if in_call:
                _close_open_consultations(ticket, outcome, CloseReason.NO_SHOW, doctor_user, now)
        else:
            if in_call:
                queue.complete_ticket(ticket, now)
            close_consultation(consultation, outcome, CloseReason.COMPLETED, doctor_user, now)
        record_event(
            doctor_user,
            "consultation.end",
            obj=consultation,
            patient_id=consultation.patient_id,
            detail={"outcome": outcome},
        )
    return consultation


def return_dropped_ticket(actor: Any, consultation: Consultation) -> Ticket | None:
    """A consultation that dropped (network, app closed) sends the patient back to the
    HEAD of the queue, not the tail; the consultation ends as ``dropped``. The doctor of
    the consultation or the patient's account holder may report it.

    A patient who meanwhile holds another live token (this consultation's ticket was
    closed, and they took a token elsewhere) is not put back: a second place would break
    the one-live-token rule, and taking their newer place away would punish them for the
    drop. The consultation still ends as dropped, so the doctor is free and not stuck on a
    call nobody can rejoin; the patient keeps the place they hold. Returns the re-queued
    ticket, or None when the patient was left where they are."""
    care_team.require(actor, Action.REPORT_DROPPED, consultation)
    now = timezone.now()
    with transaction.atomic():
        consultation = locked(consultation)
        if consultation.ticket_id is None:
            raise QueueError("no_ticket", _("This consultation did not come from a queue."))
        if consultation.status not in OPEN:
            raise QueueError("consultation_ended", _("This consultation has already ended."))
        ticket = queue.lock_ticket(consultation.ticket_id)
        requeue = (
            ticket.status in LIVE_STATUSES
            or not Ticket.objects.filter(
                patient_id=ticket.patient_id, status__in=LIVE_STATUSES
            ).exists()
        )
        if requeue:
            queue.return_to_head(ticket, "dropped")
        close_consultation(consultation, Outcome.DROPPED, CloseReason.DROPPED, actor, now)
        record_event(
            actor,
            "consultation.dropped",
            obj=consultation,
            patient_id=consultation.patient_id,
            detail={"requeued": requeue},
        )
    if not requeue:
        return None
    refresh_keeping_relations(ticket)
    return ticket


def forward_consultation(
    doctor_user: Any, consultation: Consultation, to_queue: Any, to_hub: Any, note: str
) -> Ticket:
    """Hub and spoke: the doctor sends the case up a tier (``hwc.routing`` chose the
    queue). Its ticket waits in ``to_queue`` keeping its wait so far; this consultation
    ends as ``forwarded`` and the doctor is free. Refused once a prescription was issued
    (the case has been answered here)."""
    require_doctor_of(doctor_user, consultation)
    now = timezone.now()
    with transaction.atomic():
        consultation = locked(consultation)
        require_open(consultation)
        if consultation.ticket_id is None or consultation.hub_id is None:
            raise ConsultationError(
                "not_hub_case", _("Only a hub-and-spoke case can be forwarded to another hub.")
            )
        if _has_issued_prescription(consultation):
            raise ConsultationError(
                "already_prescribed",
                _("A prescription was issued in this consultation; refer the patient instead."),
            )
        ticket = queue.lock_ticket(consultation.ticket_id)
        queue.move_to_queue(ticket, to_queue, "forwarded", hub=to_hub)
        close_consultation(consultation, Outcome.FORWARDED, CloseReason.FORWARDED, doctor_user, now)
        record_event(
            doctor_user,
            "consultation.forwarded",
            obj=consultation,
            patient_id=consultation.patient_id,
            detail={"to_hub": str(to_hub.pk), "queue": str(to_queue.pk), "note": note[:300]},
        )
    refresh_keeping_relations(ticket)
    return ticket
