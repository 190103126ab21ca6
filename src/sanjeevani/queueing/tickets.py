"""Taking a token, giving it up, and rejoining after a missed call: the patient's steps.

Each is one transaction that checks the family, writes an audit row and publishes its
events after commit.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count, Max, Q
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from sanjeevani.audit.services import record_event
from sanjeevani.config.loaded_relations import carry_relations, refresh_keeping_relations
from sanjeevani.observability.metrics import count_ticket_placed
from sanjeevani.patients.models import Patient
from sanjeevani.registry.models import DoctorProfile, Facility, OnlineOPD, Specialty

from .actors import check_family
from .calls import lock_ticket, return_to_head
from .errors import QueueError
from .events import publish_queue_events
from .models import LIVE_STATUSES, Queue, Ticket
from .near_turn import mark_near_turn
from .sms import local_time, sms_after_commit

Status = Ticket.Status


def join_queue(
    actor: Any,
    patient: Patient,
    opd: OnlineOPD,
    complaint: str = "",
    preferred_doctor: DoctorProfile | None = None,
    follow_up_of: Any = None,
) -> Ticket:
    """Give ``patient`` the next token of ``opd`` for today (IST).

    ``follow_up_of`` is the completed consultation a follow-up token continues; the queue
    only carries it for the consultation layer.

    Refused when the OPD is inactive, closed now (the message says when it next opens),
    full for the day, or when the patient already holds a live token. Token numbers are
    allocated under a lock on the OPD row, so concurrent joins never share a number. The
    token and patient ID go out by SMS after commit. The queue offers the token to no
    doctor itself: the workflow that takes it (``consultations.take_token``) does, in the
    same transaction. A token that is
    already among the first ``QUEUE_NEAR_TURN_POSITION`` places gets the "your turn is
    near" SMS at once, since no later move of the line would send it.
    """
    check_family(actor, patient)
    complaint = (complaint or "").strip()[:500]
    now = timezone.now()
    # No savepoint inside the caller's transaction (``take_token``): a refusal rolls back
    # the whole step, so a savepoint would only cost two round trips per token.
    with transaction.atomic(savepoint=False):
        opd = OnlineOPD.objects.select_for_update().get(pk=opd.pk)
        if not opd.active:
            raise QueueError("opd_inactive", _("This OPD is not taking patients at present."))
        if not opd.is_open_at(now):
            upcoming = opd.next_opening(now)
            if upcoming:
                message = _("%(opd)s is closed now. It next opens on %(when)s (IST).") % {
                    "opd": opd.name,
                    "when": local_time(upcoming),
                }
            else:
                message = _("%(opd)s is closed now and has no opening hours this week.") % {
                    "opd": opd.name
                }
            raise QueueError(
                "opd_closed",
                message,
                next_opening=upcoming.isoformat() if upcoming else None,
            )
        if preferred_doctor is not None and not opd.doctors.filter(pk=preferred_doctor.pk).exists():
            raise QueueError(
                "doctor_not_on_opd",
                _("%(doctor)s does not serve %(opd)s now; take a token to see any doctor there.")
                % {"doctor": preferred_doctor, "opd": opd.name},
            )
        refuse_second_live_ticket(patient)
        service_date = timezone.localdate(now)
        today = Ticket.objects.filter(opd=opd, service_date=service_date).aggregate(
            taken=Count("pk", filter=~Q(status=Status.CANCELLED)), last=Max("token_number")
        )
        if today["taken"] >= opd.daily_capacity:
            raise QueueError(
                "opd_full",
                _(
                    "All %(n)s tokens of %(opd)s for today are taken. Please try again "
                    "tomorrow, or choose another OPD."
                )
                % {"n": opd.daily_capacity, "opd": opd.name},
            )
        number = (today["last"] or 0) + 1
        queue = Queue.objects.for_opd(opd)
        # A second join of the same patient at the same moment passes the look-up above
        # and is refused here by the one-live-ticket constraint: the IntegrityError ends
        # the step, and ``consultations.take_token`` names the token held once the
        # transaction is rolled back (a savepoint here would cost every join two round
        # trips for that rare race).
        ticket = Ticket.objects.create(
            patient=patient,
            queue=queue,
            opd=opd,
            specialty=opd.specialty,
            service_date=service_date,
            token_number=number,
            priority=Ticket.Priority.FOLLOW_UP if preferred_doctor else Ticket.Priority.NORMAL,
            queued_at=now,
            complaint=complaint,
            language=patient.preferred_language,
            preferred_doctor=preferred_doctor,
            follow_up_of=follow_up_of,
            created_by=actor,
        )
        record_event(
            actor,
            "ticket.create",
            obj=ticket,
            patient_id=patient.pk,
            detail={"opd": str(opd.pk), "token": number, "follow_up": bool(preferred_doctor)},
        )
        sms_after_commit(
            patient,
            lambda: (
                _(
                    "Sanjeevani: token %(token)s for %(opd)s on %(date)s. Patient ID %(pid)s. "
                    "We will send an SMS when your turn is near."
                )
                % {
                    "token": number,
                    "opd": opd.name,
                    "date": date_format(service_date, "j M Y"),
                    "pid": patient.patient_number,
                }
            ),
        )
        publish_queue_events(queue, "joined", ticket)
        count_ticket_placed("opd")
        marked = mark_near_turn(queue)
    if marked:
        # The new token may be among those just marked near its turn.
        refresh_keeping_relations(ticket)
    return ticket


def refuse_second_live_ticket(patient: Patient) -> None:
    """After the one-live-ticket constraint refused a new ticket: say where the patient
    already waits (returns when the live ticket has ended since, for the caller to raise)."""
    live = Ticket.objects.filter(patient=patient, status__in=LIVE_STATUSES).select_related(
        "opd", "queue"
    )
    held = live.first()
    if held is not None:
        raise QueueError(
            "already_in_queue",
            _(
                "%(name)s already holds token %(token)s at %(place)s. Wait for that "
                "consultation, or cancel that token before taking another."
            )
            % {
                "name": patient.name,
                "token": held.token_number,
                "place": held.opd.name
                if held.opd
                else (held.queue.label if held.queue_id else _("a hub")),
            },
            ticket=str(held.pk),
        )


def cancel_ticket(actor: Any, ticket: Ticket) -> Ticket:
    """The patient gives up the token (waiting, called or missed); a consultation that has
    started cannot be cancelled from the queue. A call in progress leaves its
    consultation open: the workflow (``consultations.cancel_token``) abandons it in the
    same transaction."""
    check_family(actor, ticket.patient)
    with transaction.atomic():
        ticket = carry_relations(Ticket.objects.select_for_update().get(pk=ticket.pk), ticket)
        if ticket.status == Status.CANCELLED:
            return ticket
        if ticket.status not in (Status.WAITING, Status.CALLED, Status.MISSED):
            raise QueueError(
                "cannot_cancel",
                _("This token is %(status)s and can no longer be cancelled.")
                % {"status": ticket.get_status_display().lower()},
            )
        was = ticket.status
        ticket.status = Status.CANCELLED
        ticket.save(update_fields=["status", "updated_at"])
        record_event(actor, "ticket.cancel", obj=ticket, patient_id=ticket.patient_id)
        if was == Status.WAITING:
            mark_near_turn(ticket.queue_id)
            publish_queue_events(ticket.queue_id, "left", ticket)
        else:
            publish_queue_events(ticket.queue_id, "doctors")
    return ticket


def rejoin_after_missed(actor: Any, ticket: Ticket) -> Ticket:
    """Once: a missed token goes back to WAITING at the head of the queue, keeping its
    original queued_at. A second miss is final. A call whose window has passed must
    already be marked missed (``consultations.rejoin_queue`` does it first)."""
    check_family(actor, ticket.patient)
    with transaction.atomic():
        ticket = lock_ticket(ticket.pk)
        if ticket.status != Status.MISSED:
            raise QueueError("not_missed", _("Only a missed token can rejoin the queue."))
        if ticket.missed_count >= 2:
            raise QueueError(
                "missed_twice",
                _(
                    "You missed the call twice, so this token is closed. Take a new token if "
                    "the OPD is still open."
                ),
            )
        refuse_second_live_ticket(ticket.patient)
        return_to_head(ticket, "rejoined")
        record_event(actor, "ticket.rejoin", obj=ticket, patient_id=ticket.patient_id)
    refresh_keeping_relations(ticket)
    return ticket


def new_hub_ticket(
    actor: Any,
    patient: Patient,
    queue: Queue,
    *,
    hub_id: uuid.UUID,
    spoke: Facility,
    specialty: Specialty,
    priority: int,
    complaint: str,
    now: Any,
) -> Ticket:
    """A hub-and-spoke ticket as it will be written, before its number (the spoke's next
    for the day, counted under the spoke's lock when it is placed)."""
    return Ticket(
        patient=patient,
        queue=queue,
        hub_id=hub_id,
        spoke=spoke,
        specialty=specialty,
        service_date=timezone.localdate(now),
        priority=priority,
        queued_at=now,
        complaint=(complaint or "")[:500],
        language=patient.preferred_language,
        created_by=actor,
    )


def ticket_created_detail(ticket: Ticket) -> dict:
    """The ``ticket.create`` audit row's detail for a hub-and-spoke ticket (its number
    added when it is known)."""
    return {"queue": str(ticket.queue_id), "spoke": str(ticket.spoke_id)}


def place_hub_ticket(actor: Any, ticket: Ticket) -> Ticket:
    """In the caller's transaction (the hub-and-spoke workflow has checked the health
    worker and chosen the queue): the unsaved ``new_hub_ticket`` waits in its queue. Its
    number is the spoke's next for the day, counted under a lock on the spoke's row. A
    patient who already holds a live place is refused by the database's one-live-ticket
    constraint, then told where (no look-up before: the common case pays nothing)."""
    Facility.objects.select_for_update().filter(pk=ticket.spoke_id).order_by().values_list(
        "pk"
    ).first()
    ticket.token_number = (
        Ticket.objects.filter(spoke_id=ticket.spoke_id, service_date=ticket.service_date).aggregate(
            m=Max("token_number")
        )["m"]
        or 0
    ) + 1
    try:
        with transaction.atomic():
            ticket.save(force_insert=True)
    except IntegrityError:
        refuse_second_live_ticket(ticket.patient)
        raise
    record_event(
        actor,
        "ticket.create",
        obj=ticket,
        patient_id=ticket.patient_id,
        detail={**ticket_created_detail(ticket), "token": ticket.token_number},
    )
    announce_hub_ticket(ticket)
    return ticket


def announce_hub_ticket(ticket: Ticket) -> None:
    """What follows a hub-and-spoke ticket's writing, however it was written: the queue's
    live event (after commit) and the metric."""
    publish_queue_events(ticket.queue, "joined", ticket)
    count_ticket_placed("hub")
