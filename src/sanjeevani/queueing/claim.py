"""Claiming the next ticket: one short transaction in which a free doctor takes the first
waiting ticket they may take and becomes busy; two doctors never get the same ticket.

PostgreSQL runs it as one prepared call of ``queueing_claim_next_ticket`` (the SQL lives in
``queueing/sql/``); SQLite through the ORM, serialised by its IMMEDIATE transaction.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import psycopg
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.db.models import Exists, OuterRef, Q

from sanjeevani.audit.services import actor_fields, record_event
from sanjeevani.registry.models import DoctorProfile, OnlineOPD

from . import selectors
from .events import DoctorFigures, publish_queue_events
from .models import DoctorPresence, Ticket
from .near_turn import near_limit, notify_near_turn, pace
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
FROM queueing_claim_next_ticket(%s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb) c
""".format(columns=", ".join(f"(c.ticket).{column}" for column in _TICKET_COLUMNS))


def claim_next_ticket(
    doctor: DoctorProfile,
    opd: OnlineOPD | None,
    actor: Any,
    now: dt.datetime,
    detail: dict | None = None,
) -> Claim | None:
    """In the caller's transaction: take the first waiting ticket this doctor may take
    (of ``opd``, or of the OPD they are online for), mark it CALLED and the doctor BUSY,
    write the ``ticket.claim`` audit row (with ``detail``, e.g. the consultation the
    caller opens for it) and publish the OPD's ``queue.advanced`` after commit. None when
    the doctor is not free to call there (``claim_refusal`` says why) or nobody waits.
    The caller opens the consultation and sends the personal events in the same
    transaction (``consultations.services.call_next_patient``).

    PostgreSQL: one prepared call of ``queueing_claim_next_ticket`` (``sql/claim_next_ticket/``,
    the latest version), which marks the doctor busy (the update locks their presence row, so one
    doctor's two clicks never claim two tickets), takes the ticket with ``FOR UPDATE SKIP
    LOCKED`` (concurrent doctors skip the rows others hold instead of waiting for them),
    writes the audit row through ``audit_record_event``, marks the tokens now near the
    front when ``_NearTurnPace`` says it is due, counts the OPD's doctors for the queue
    event and returns the ticket. SQLite: the IMMEDIATE transaction holds the write lock,
    which serialises claims. A follow-up that prefers another doctor waits for them while
    they are online there.
    """
    actor = actor or doctor.user
    if connection.vendor == "postgresql":
        claim = claim_in_function(doctor, opd, now, actor, detail or {})
    else:
        claim = claim_with_orm(doctor, opd, now)
        if claim is not None:
            record_event(
                actor,
                "ticket.claim",
                obj=claim.ticket,
                patient_id=claim.ticket.patient_id,
                detail={"opd": str(claim.ticket.opd_id), **(detail or {})},
            )
    if claim is None:
        return None
    ticket = claim.ticket
    publish_queue_events(ticket.opd_id, "claimed", ticket, busy_delta=1, doctors=claim.doctors)
    return claim


def claim_in_function(
    doctor: DoctorProfile, opd: OnlineOPD | None, now: dt.datetime, actor: Any, detail: dict
) -> Claim | None:
    """PostgreSQL, one round trip: the claim, its audit row and, when due, the near-turn
    marks."""
    actor_id, actor_label, actor_role = actor_fields(actor)
    opd_id = getattr(opd, "pk", None)
    expected = opd_id or pace.last_opd.get(doctor.pk)
    near = near_limit() if expected is None or pace.due(expected) else 0
    params = [
        doctor.pk, opd_id, now, now + CALL_WINDOW, near,
        actor_id, actor_label, actor_role, json.dumps(detail, cls=DjangoJSONEncoder),
    ]  # fmt: skip
    row = _run_prepared(_CLAIM_CALL, params)
    if row is None:
        return None
    *columns, near_turn, online, busy = row
    ticket = Ticket.from_db(connection.alias, _TICKET_ATTNAMES, columns)
    pace.last_opd[doctor.pk] = ticket.opd_id
    if near:
        pace.record(ticket.opd_id)
        sms_near_turn_after_commit(near_turn or [])
    elif expected != ticket.opd_id and pace.due(ticket.opd_id):
        notify_near_turn(ticket.opd_id)
    return Claim(ticket, DoctorFigures(online=online, busy=busy))


def _run_prepared(sql: str, params: list) -> tuple | None:
    """Run ``sql`` as a prepared statement with server-side parameters and return its first
    row. Django's PostgreSQL cursors bind parameters on the client, so PostgreSQL parses and
    plans every call anew; the claim runs often enough for that to show
    (bench/queue_claim.py). psycopg prepares it per connection on first use. Behind
    PgBouncer in transaction mode this needs PgBouncer 1.21+ (``max_prepared_statements``).
    Not seen by Django's query logging."""
    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params, prepare=True)
        return cursor.fetchone()


def claim_with_orm(doctor: DoctorProfile, opd: OnlineOPD | None, now: dt.datetime) -> Claim | None:
    """SQLite (and the parity test on PostgreSQL): the same rule through the ORM; on SQLite
    the IMMEDIATE transaction already holds the write lock."""
    expires = now + CALL_WINDOW
    presence = DoctorPresence.objects.select_for_update().filter(
        doctor=doctor, status__in=CAN_CLAIM, opd__isnull=False
    )
    if opd is not None:
        presence = presence.filter(opd=opd)
    presence = presence.first()
    if presence is None:
        return None
    holds_follow_up = DoctorPresence.objects.filter(
        doctor=OuterRef("preferred_doctor"),
        opd_id=presence.opd_id,
        status__in=selectors.ONLINE_STATUSES,
    )
    ticket = (
        Ticket.objects.filter(opd_id=presence.opd_id, status=Status.WAITING)
        .filter(
            Q(preferred_doctor__isnull=True) | Q(preferred_doctor=doctor) | ~Exists(holds_follow_up)
        )
        .order_by("priority", "queued_at")
        .select_for_update(skip_locked=True)
        .first()
    )
    if ticket is None:
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
    if pace.due(ticket.opd_id):
        notify_near_turn(ticket.opd_id)
    return Claim(ticket, None)
