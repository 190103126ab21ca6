"""Publishing events to channel-layer groups, always after the database commit.

Services call ``publish_after_commit``; consumers only forward what arrives. A group name
is ASCII letters, digits, ``.``, ``-`` and ``_`` (the channel layer's rule), so ids are
written as text.

Groups
    ``opd.<opd uuid>.queue``      every waiting room and doctor's queue of one OPD
    ``ticket.<ticket uuid>``      the waiting room of one patient's token (called, missed)
    ``doctor.<doctor uuid>``      the doctor's own console (presence, assigned consultation)
    ``consultation.<uuid>``       the participants of one consultation (hold, resume, end)

Event ``type`` values (``.`` becomes ``_`` for the consumer's handler name) are listed
with their fields in ``sanjeevani.queueing.services`` (``queue.advanced``,
``ticket.called``, ``ticket.missed``, ``ticket.returned``, ``presence.changed``,
``consultation.assigned``) and ``sanjeevani.consultations.services``
(``consultation.status``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

log = logging.getLogger(__name__)


def opd_queue_group(opd_id: object) -> str:
    return f"opd.{opd_id}.queue"


def ticket_group(ticket_id: object) -> str:
    return f"ticket.{ticket_id}"


def doctor_group(doctor_id: object) -> str:
    return f"doctor.{doctor_id}"


def consultation_group(consultation_id: object) -> str:
    return f"consultation.{consultation_id}"


async def _send_all(layer, messages: list[tuple[str, dict]]) -> None:
    for group, event in messages:
        await layer.group_send(group, event)


def publish_now(messages: Iterable[tuple[str, dict]]) -> None:
    """Send at once. A channel-layer failure is logged, never raised: the database is the
    truth and every client can poll it."""
    layer = get_channel_layer()
    batch = list(messages)
    if layer is None or not batch:
        return
    try:
        async_to_sync(_send_all)(layer, batch)
    except Exception:
        log.exception("Could not publish %d event(s) to the channel layer", len(batch))


def publish_after_commit(group: str, event: dict) -> None:
    """Send ``event`` (a dict with ``type`` and JSON-safe values) to ``group`` once the
    current transaction commits; nothing is sent if it rolls back."""
    publish_many_after_commit([(group, event)])


def publish_many_after_commit(messages: Iterable[tuple[str, dict]]) -> None:
    """Several events in one hand-over to the channel layer (one event-loop round trip)."""
    batch = list(messages)
    if batch:
        transaction.on_commit(lambda: publish_now(batch))
