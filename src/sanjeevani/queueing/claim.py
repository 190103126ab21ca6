"""Claiming the next ticket: one short transaction in which a free doctor takes the first
waiting ticket they may take and becomes busy; two doctors never get the same ticket.

PostgreSQL runs it as one prepared call of ``queueing_claim_next_ticket`` (the SQL lives in
``queueing/sql/``); SQLite through the ORM, serialised by its IMMEDIATE transaction.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.db.models import Exists, OuterRef, Q

from sanjeevani.audit.services import actor_fields, record_event
from sanjeevani.config.prepared_statements import run_prepared
from sanjeevani.observability.context import current_request_id
from sanjeevani.observability.metrics import count_claim
from sanjeevani.registry.models import DoctorProfile, OnlineOPD

from . import selectors
from .events import DoctorFigures, publish_queue_events
from .models import DoctorPresence, Queue, Ticket
from .near_turn import mark_near_turn, near_limit, pace
from .sms import sms_near_turn_after_commit

CALL_WINDOW = dt.timedelta(seconds=getattr(settings, "QUEUE_CALL_WINDOW_SECONDS", 120))

Status = Ticket.Status
Presence = DoctorPresence.Status
#: Presence states from which a doctor may call a patient (calling ends a break).
CAN_CLAIM = (Presence.AVAILABLE, Presence.ON_BREAK)


@dataclass(frozen=True)
class Claim:
    """A ticket just claimed, and the OPD's doctor figures the claim counted (None where
    the claim could not count them in its own statement)."""

    ticket: Ticket
    doctors: DoctorFigures | None


_TICKET_COLUMNS = [f.column for f in Ticket._meta.concrete_fields]
_TICKET_ATTNAMES = [f.attname for f in Ticket._meta.concrete_fields]

#: The claim on PostgreSQL: one call of the function in ``sql/claim_next_ticket/`` (latest).
_CLAIM_CALL = """
SELECT {columns}, c.near_turn, c.doctors_online, c.doctors_busy
FROM queueing_claim_next_ticket(%s, %s::uuid[], %s, %s, %s, %s, %s, %s, %s::jsonb) c
""".format(columns=", ".join(f"(c.ticket).{column}" for column in _TICKET_COLUMNS))


def claim_next_ticket(
    doctor: DoctorProfile,
    opd: OnlineOPD | None,
    actor: Any,
    now: dt.datetime,
    detail: dict | None = None,
) -> Claim | None:
    """``claim_from_queues`` for the Online OPD line: the queue of ``opd``, or the queue
    the doctor is online for."""
    if opd is None:
        return claim_from_queues(doctor, None, actor, now, detail)
    queue_id = Queue.objects.filter(opd=opd).values_list("pk", flat=True).first()
    if queue_id is None:
        return None
    return claim_from_queues(doctor, [queue_id], actor, now, detail)


def claim_from_queues(
    doctor: DoctorProfile,
    queues: Sequence[Queue | Any] | None,
    actor: Any,
    now: dt.datetime,
    detail: dict | None = None,
) -> Claim | None:
    """In the caller's transaction: take the first waiting ticket this doctor may take
    from ``queues`` (queues or ids, in the doctor's order of preference; None: the queue
    they are online for), by the list's order, then priority, then arrival; mark it CALLED
    and the doctor BUSY, write the ``ticket.claim`` audit row (with ``detail``, e.g. the
    consultation the caller opens for it) and publish the OPD's ``queue.advanced`` after
    commit. None when the doctor is not free, not online for one of ``queues`` (
    ``claim_refusal`` says why) or nobody waits. The caller opens the consultation and
    sends the personal events in the same transaction
    (``consultations.services.call_next_patient``).

    PostgreSQL: one prepared call of ``queueing_claim_next_ticket`` (the latest version in
    ``sql/claim_next_ticket/``), which marks the doctor busy (the update locks their
    presence row, so one doctor's two clicks never claim two tickets), takes the ticket
    with ``FOR UPDATE SKIP LOCKED`` (concurrent doctors skip the rows others hold instead
    of waiting for them), writes the audit row through ``audit_record_event``, marks the
    tokens now near the front when ``NearTurnPace`` says it is due, counts the queue's
    doctors for the queue event and returns the ticket. SQLite: the IMMEDIATE transaction
    holds the write lock, which serialises claims. A follow-up that prefers another doctor
    waits for them while they are online for its queue.
    """
    actor = actor or doctor.user
    queue_ids = None if queues is None else [getattr(q, "pk", q) for q in queues]
    if connection.vendor == "postgresql":
        claim = claim_in_function(doctor, queue_ids, now, actor, detail or {})
    else:
        claim = claim_with_orm(doctor, queue_ids, now)
        if claim is not None:
            ticket = claim.ticket
            record_event(
                actor,
                "ticket.claim",
                obj=ticket,
                patient_id=ticket.patient_id,
                detail={
                    "opd": str(ticket.opd_id) if ticket.opd_id else None,
                    "queue": str(ticket.queue_id),
                    **(detail or {}),
                },
            )
    if claim is None:
        return None
    ticket = claim.ticket
    count_claim("hub" if ticket.hub_id else "opd")
    publish_queue_events(ticket.queue_id, "claimed", ticket, busy_delta=1, doctors=claim.doctors)
    return claim


def claim_in_function(
    doctor: DoctorProfile, queue_ids: list | None, now: dt.datetime, actor: Any, detail: dict
) -> Claim | None:
    """PostgreSQL, one round trip: the claim, its audit row and, when due, the near-turn
    marks."""
    actor_id, actor_label, actor_role = actor_fields(actor)
    expected = queue_ids[0] if queue_ids else pace.last_queue.get(doctor.pk)
    near = near_limit() if expected is None or pace.due(expected) else 0
    params = [
        doctor.pk, queue_ids, now, now + CALL_WINDOW, near,
        actor_id, actor_label, actor_role,
        # The audit function files request_id in its own column (audit migration 0004).
        json.dumps({**detail, "request_id": current_request_id()}, cls=DjangoJSONEncoder),
    ]  # fmt: skip
    row = run_prepared(_CLAIM_CALL, params)
    if row is None:
        return None
    *columns, near_turn, online, busy = row
    ticket = Ticket.from_db(connection.alias, _TICKET_ATTNAMES, columns)
    pace.last_queue[doctor.pk] = ticket.queue_id
    if near:
        pace.record(ticket.queue_id)
        sms_near_turn_after_commit(near_turn or [])
    elif expected != ticket.queue_id and pace.due(ticket.queue_id):
        mark_near_turn(ticket.queue_id)
    return Claim(ticket, DoctorFigures(online=online, busy=busy))


def claim_with_orm(doctor: DoctorProfile, queue_ids: list | None, now: dt.datetime) -> Claim | None:
    """SQLite (and the parity test on PostgreSQL): the same rule through the ORM, one
    query per queue in the list's order; on SQLite the IMMEDIATE transaction already
    holds the write lock."""
    expires = now + CALL_WINDOW
    presence = DoctorPresence.objects.select_for_update().filter(
        doctor=doctor, status__in=CAN_CLAIM, queue__isnull=False
    )
    if queue_ids is not None:
        presence = presence.filter(queue_id__in=queue_ids)
    presence = presence.first()
    if presence is None:
        return None
    holds_follow_up = DoctorPresence.objects.filter(
        doctor=OuterRef("preferred_doctor"),
        queue_id=OuterRef("queue_id"),
        status__in=selectors.ONLINE_STATUSES,
    )
    may_take = (
        Q(preferred_doctor__isnull=True) | Q(preferred_doctor=doctor) | ~Exists(holds_follow_up)
    )
    for queue_id in queue_ids if queue_ids is not None else [presence.queue_id]:
        ticket = (
            Ticket.objects.filter(queue_id=queue_id, status=Status.WAITING)
            .filter(may_take)
            .order_by("priority", "queued_at")
            .select_for_update(skip_locked=True)
            .first()
        )
        if ticket is not None:
            break
    else:
        return None
    ticket.status = Status.CALLED
    ticket.claimed_by = doctor
    ticket.called_at = now
    ticket.call_expires_at = expires
    ticket.save(
        update_fields=["status", "claimed_by", "called_at", "call_expires_at", "updated_at"]
    )
    presence.status = Presence.BUSY
    presence.last_seen = now
    presence.save(update_fields=["status", "last_seen", "since"])
    if pace.due(ticket.queue_id):
        mark_near_turn(ticket.queue_id)
    return Claim(ticket, None)
