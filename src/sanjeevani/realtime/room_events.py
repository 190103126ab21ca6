"""Room events (chat, marks, participants) published to a room's channel-layer group
after the write commits. Hold, resume and end come from the consultation's own
``consultation.status`` event on ``consultation.<uuid>`` (``realtime.events``), which every
room connection also listens to, so a consultation ended from the doctor's console closes
the room too."""

from __future__ import annotations

import uuid
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction


def room_group(consultation_id: uuid.UUID | str) -> str:
    return f"room.{uuid.UUID(str(consultation_id)).hex}"


def send_to_room(consultation_id: uuid.UUID | str, event: dict[str, Any]) -> None:
    """Send now (outside a transaction): used by ``publish_after_commit``."""
    layer = get_channel_layer()
    if layer is not None:
        async_to_sync(layer.group_send)(
            room_group(consultation_id), {"type": "room.event", "event": event}
        )


def publish_after_commit(consultation_id: uuid.UUID | str, event: dict[str, Any]) -> None:
    transaction.on_commit(lambda: send_to_room(consultation_id, event))
