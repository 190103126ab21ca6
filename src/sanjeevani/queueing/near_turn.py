"""Near-turn marks: once per token, a text when only a few are ahead of it.

Joins and cancellations mark at once; claims mark at the pace of ``NearTurnPace`` (a
PostgreSQL claim inside its own statement); the housekeeping loop catches up the rest.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models.functions import Coalesce
from django.utils import timezone

from sanjeevani.patients.models import Patient
from sanjeevani.registry.models import OnlineOPD

from .models import Queue, Ticket
from .sms import sms_near_turn_after_commit

Status = Ticket.Status

_ACCOUNT_TABLE = Patient._meta.get_field("account").related_model._meta.db_table

_NEAR_TURN_SQL = """
UPDATE {ticket} t SET near_turn_notified = true
FROM {patient} p LEFT JOIN {user} a ON a.id = p.account_id,
     {queue} w LEFT JOIN {opd} o ON o.id = w.opd_id
WHERE t.id IN (
    SELECT f.id FROM {ticket} f
    WHERE f.id IN (
        SELECT id FROM (
            SELECT id, near_turn_notified FROM {ticket}
            WHERE queue_id = %s AND status = 'waiting' ORDER BY priority, queued_at LIMIT %s
        ) front
        WHERE NOT front.near_turn_notified)
    FOR UPDATE SKIP LOCKED)
  AND NOT t.near_turn_notified AND t.status = 'waiting'
  AND p.id = t.patient_id AND w.id = t.queue_id
RETURNING t.token_number, a.mobile, p.preferred_language, COALESCE(o.name, w.label)
"""


def near_limit() -> int:
    return int(getattr(settings, "QUEUE_NEAR_TURN_POSITION", 3))


class NearTurnPace:
    """How often claims in this process mark a queue's near-turn tokens: at most once per
    ``QUEUE_NEAR_TURN_SWEEP_SECONDS``. Concurrent claims would otherwise all lock and mark
    the same few rows at the front, which cost more than the claim itself
    (bench/queue_claim.py). A claim that skips it leaves the marking to the next claim after
    the interval, to joins and cancellations (which always mark) and to the housekeeping
    loop (``catch_up_near_turn``); a quiet queue is marked at every claim."""

    def __init__(self) -> None:
        self.swept: dict[Any, float] = {}
        #: The queue each doctor last claimed from, for claims that name no queue.
        self.last_queue: dict[Any, Any] = {}

    def due(self, queue_id: Any) -> bool:
        interval = float(getattr(settings, "QUEUE_NEAR_TURN_SWEEP_SECONDS", 1.0))
        now = time.monotonic()
        last = self.swept.get(queue_id)
        if interval > 0 and last is not None and now - last < interval:
            return False
        self.swept[queue_id] = now
        return True

    def record(self, queue_id: Any) -> None:
        """A claim just marked this queue's near-turn tokens."""
        self.swept[queue_id] = time.monotonic()


pace = NearTurnPace()


def _near_turn_due(queue_id: Any, limit: int) -> list:
    """Mark the tokens that have just come near the front of a queue; (token, mobile,
    language, OPD name or queue label) for each. PostgreSQL: one statement, which skips
    rows another transaction holds (they are being claimed, or another check is notifying
    them) instead of waiting for them, so concurrent checks cannot deadlock."""
    if connection.vendor == "postgresql":
        sql = _NEAR_TURN_SQL.format(
            ticket=Ticket._meta.db_table,
            patient=Patient._meta.db_table,
            user=_ACCOUNT_TABLE,
            queue=Queue._meta.db_table,
            opd=OnlineOPD._meta.db_table,
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [queue_id, limit])
            return cursor.fetchall()
    front = (
        Ticket.objects.filter(queue_id=queue_id, status=Status.WAITING)
        .order_by("priority", "queued_at")
        .values_list(
            "pk",
            "near_turn_notified",
            "token_number",
            "patient__account__mobile",
            "patient__preferred_language",
            Coalesce("opd__name", "queue__label"),
        )[:limit]
    )
    due = [row for row in front if not row[1]]
    Ticket.objects.filter(pk__in=[row[0] for row in due]).update(near_turn_notified=True)
    return [row[2:] for row in due]


def mark_near_turn(queue: Queue | Any) -> int:
    """In the caller's transaction: mark the tokens that have just come near the front of
    the queue (or queue id) and text them after commit; returns how many. (A PostgreSQL
    claim does this inside its own statement, when ``NearTurnPace`` says it is due.)"""
    limit = near_limit()
    if limit <= 0:
        return 0
    due = _near_turn_due(getattr(queue, "pk", queue), limit)
    sms_near_turn_after_commit(due)
    return len(due)


def notify_near_turn(opd: OnlineOPD | Any) -> int:
    """``mark_near_turn`` for the queue of an OPD (or OPD id)."""
    queue_id = Queue.objects.filter(opd_id=getattr(opd, "pk", opd)).values_list("pk", flat=True)
    queue_id = queue_id.first()
    return 0 if queue_id is None else mark_near_turn(queue_id)


def catch_up_near_turn() -> int:
    """For the housekeeping loop: mark and text the tokens near the front of every queue
    with a line today, which claims may have left to a later claim (``NearTurnPace``).
    One transaction per queue; returns how many were told."""
    queue_ids = (
        Ticket.objects.filter(status=Status.WAITING, service_date=timezone.localdate())
        .values_list("queue_id", flat=True)
        .distinct()
    )
    told = 0
    for queue_id in list(queue_ids):
        with transaction.atomic():
            told += mark_near_turn(queue_id)
    return told
