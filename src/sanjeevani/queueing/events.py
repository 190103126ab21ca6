"""What the queue announces after commit: ``queue.advanced`` to the queue's waiting line
(``queue.<queue uuid>``: an OPD's, a hub's for one specialty, a state's overflow) and the
personal events (shapes in ``services``), in one hand-over to the channel layer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from sanjeevani.live.groups import doctor_group, queue_group
from sanjeevani.live.publisher import publish_now

from . import selectors
from .models import DoctorPresence, Queue, Ticket


@dataclass(frozen=True)
class DoctorFigures:
    """Doctors online (available or busy) and busy on one queue, as a change left them."""

    online: int
    busy: int


def queue_advanced_event(
    queue: Queue | Any,
    change: str,
    ticket: Ticket | None,
    busy_delta: int = 0,
    doctors: DoctorFigures | None = None,
) -> dict:
    """The ``queue.advanced`` event. Built once per change, never once per client. The
    doctor figures are ``doctors`` when the change counted them (a PostgreSQL claim
    does), else from a cache a few seconds old (fresh on presence changes), so no change
    pays a query for them. ``queue`` may be the Queue or its id."""
    queue_id = getattr(queue, "pk", queue)
    if doctors is not None:
        counts = {"online": doctors.online, "busy": doctors.busy}
    else:
        counts = selectors.recent_presence_counts(
            queue_id, fresh=change == "doctors", busy_delta=busy_delta
        )
    return {
        "type": "queue.advanced",
        "queue": str(queue_id),
        "change": change,
        "ticket": selectors.queue_key(ticket) if ticket is not None else None,
        "doctors_online": counts["online"],
        "doctors_busy": counts["busy"],
        "mean_consultation_seconds": selectors.mean_consultation_seconds(queue),
        "at": timezone.now().isoformat(),
    }


def publish_queue_events(
    queue: Queue | Any | None,
    change: str | None,
    ticket: Ticket | None = None,
    others: list[tuple[str, dict]] | None = None,
    busy_delta: int = 0,
    doctors: DoctorFigures | None = None,
) -> None:
    """After commit: the queue's ``queue.advanced`` (``queue`` may be an id) and any
    personal events, in one hand-over to the channel layer."""
    messages = list(others or [])

    def send() -> None:
        batch = list(messages)
        if queue is not None and change is not None:
            event = queue_advanced_event(queue, change, ticket, busy_delta, doctors)
            batch.insert(0, (queue_group(getattr(queue, "pk", queue)), event))
        publish_now(batch)

    transaction.on_commit(send)


def presence_event(presence: DoctorPresence) -> tuple[str, dict]:
    return (
        doctor_group(presence.doctor_id),
        {
            "type": "presence.changed",
            "doctor": str(presence.doctor_id),
            "status": presence.status,
            "opd": str(presence.opd_id) if presence.opd_id else None,
            "queue": str(presence.queue_id) if presence.queue_id else None,
            "auto_assign": presence.auto_assign,
        },
    )
