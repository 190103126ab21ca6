"""A called ticket's way on: the 120-second call window, missed calls, joining the call,
completing, going back to the head of the line; and tokens left from earlier days.

Most steps run in the caller's transaction with the ticket row locked (the consultation
services drive them); ``miss_unanswered_calls`` and ``expire_stale_tickets`` are
housekeeping with transactions of their own.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone

from sanjeevani.audit.services import record_event
from sanjeevani.config.compiled_queries import locked_row
from sanjeevani.live.groups import ticket_group
from sanjeevani.live.publisher import publish_many_after_commit
from sanjeevani.registry.models import OnlineOPD

from .events import publish_queue_events
from .models import Ticket
from .sms import missed_call_text, sms_after_commit

Status = Ticket.Status


_locked_ticket = locked_row(Ticket, "opd")


def lock_ticket(ticket_id: Any) -> Ticket:
    """In the caller's transaction: the ticket row, locked, with its OPD (compiled once per
    connection: each join, each call and each missed call locks it)."""
    return _locked_ticket.one(pk=ticket_id)


def mark_missed(ticket: Ticket, now: dt.datetime, actor: Any = None) -> Ticket:
    """In the caller's transaction, with the ticket row locked: the patient did not join
    in time (or the doctor says so): MISSED, one more miss, SMS and ``ticket.missed``."""
    ticket.status = Status.MISSED
    ticket.missed_count += 1
    ticket.save(update_fields=["status", "missed_count", "updated_at"])
    record_event(
        actor,
        "ticket.missed",
        obj=ticket,
        patient_id=ticket.patient_id,
        detail={"missed_count": ticket.missed_count},
    )
    can_rejoin = ticket.missed_count == 1
    sms_after_commit(ticket.patient, lambda: missed_call_text(ticket.token_number, can_rejoin))
    publish_queue_events(
        ticket.queue_id,
        "doctors",
        None,
        [
            (
                ticket_group(ticket.pk),
                {"type": "ticket.missed", "ticket": str(ticket.pk), "can_rejoin": can_rejoin},
            )
        ],
    )
    return ticket


def miss_unanswered_calls(
    now: dt.datetime | None = None, opd: OnlineOPD | None = None
) -> list[Ticket]:
    """Mark calls not answered within 120 s as MISSED and return those tickets, locked:
    their consultations are still open, and the caller (``consultations
    .expire_unanswered_calls``, in its transaction) abandons them. Cheap when nothing has
    expired (one indexed EXISTS). Never run by a read, which shows a passed window as
    missed instead (``selectors.waiting_status``)."""
    now = now or timezone.now()
    overdue = Ticket.objects.filter(status=Status.CALLED, call_expires_at__lt=now)
    if opd is not None:
        overdue = overdue.filter(opd=opd)
    if not overdue.exists():
        return []
    with transaction.atomic():
        tickets = list(
            overdue.select_for_update(skip_locked=True, of=("self",)).select_related(
                "opd", "patient__account"
            )
        )
        for ticket in tickets:
            mark_missed(ticket, now)
    return tickets


def expire_stale_tickets(now: dt.datetime | None = None) -> int:
    """Tokens still waiting from an earlier day expire (the OPD closed on them)."""
    today = timezone.localdate(now or timezone.now())
    with transaction.atomic():
        stale = Ticket.objects.filter(
            status__in=(Status.WAITING, Status.MISSED), service_date__lt=today
        )
        count = stale.update(status=Status.EXPIRED, updated_at=timezone.now())
        if count:
            record_event(None, "ticket.expire_stale", detail={"count": count})
    return count


def start_service(ticket: Ticket, now: dt.datetime) -> None:
    """In the caller's transaction, ticket locked: the patient joined the call."""
    ticket.status = Status.IN_CONSULTATION
    ticket.service_started_at = now
    ticket.save(update_fields=["status", "service_started_at", "updated_at"])


def complete_ticket(ticket: Ticket, now: dt.datetime) -> None:
    """In the caller's transaction, ticket locked: the patient has been seen. Its service
    time feeds the OPD's mean consultation length. ``ticket.completed`` tells the family's
    waiting-room socket and the centre's feed at once, so neither polls through the
    consultation to learn that it ended."""
    ticket.status = Status.COMPLETED
    ticket.service_ended_at = now
    ticket.save(update_fields=["status", "service_ended_at", "updated_at"])
    publish_many_after_commit(
        [(ticket_group(ticket.pk), {"type": "ticket.completed", "ticket": str(ticket.pk)})]
    )


def return_to_head(ticket: Ticket, reason: str) -> None:
    """In the caller's transaction, ticket locked: back to WAITING at the head of the
    line, keeping its original ``queued_at``; ``reason`` is ``dropped`` or ``rejoined``."""
    ticket.status = Status.WAITING
    ticket.priority = Ticket.Priority.HEAD
    ticket.claimed_by = None
    ticket.called_at = None
    ticket.call_expires_at = None
    ticket.service_started_at = None
    ticket.save(
        update_fields=[
            "status",
            "priority",
            "claimed_by",
            "called_at",
            "call_expires_at",
            "service_started_at",
            "updated_at",
        ]
    )
    publish_queue_events(
        ticket.queue_id,
        "returned",
        ticket,
        [
            (
                ticket_group(ticket.pk),
                {"type": "ticket.returned", "ticket": str(ticket.pk), "reason": reason},
            )
        ],
    )


def move_to_queue(ticket: Ticket, queue: Any, reason: str, hub: Any = None) -> None:
    """In the caller's transaction, ticket locked: the ticket waits in ``queue`` from now
    on, keeping its priority and ``queued_at`` (the wait so far still counts). ``reason``
    is ``overflow``, ``forwarded`` or ``reassigned``; a ticket that was called or in a
    consultation (forwarded) is waiting again and unclaimed. ``hub`` names the hub the
    ticket now goes to, when it changes."""
    was_waiting = ticket.status == Status.WAITING
    old_queue = ticket.queue_id
    ticket.queue = queue
    ticket.status = Status.WAITING
    ticket.claimed_by = None
    ticket.called_at = None
    ticket.call_expires_at = None
    ticket.service_started_at = None
    ticket.near_turn_notified = False
    fields = [
        "queue", "status", "claimed_by", "called_at", "call_expires_at",
        "service_started_at", "near_turn_notified", "updated_at",
    ]  # fmt: skip
    if hub is not None:
        ticket.hub = hub
        fields.append("hub")
    ticket.save(update_fields=fields)
    if was_waiting and old_queue != queue.pk:
        publish_queue_events(old_queue, "left", ticket)
    publish_queue_events(
        queue.pk,
        "joined",
        ticket,
        [
            (
                ticket_group(ticket.pk),
                {"type": "ticket.moved", "ticket": str(ticket.pk), "reason": reason},
            )
        ],
    )
