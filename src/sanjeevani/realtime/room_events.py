"""Room events (chat, marks, participants) published to the room's group
(``sanjeevani.live.groups.room_group``) after the write commits. Hold, resume and end come
from the consultation's own ``consultation.status`` event on ``consultation.<uuid>``, which
every room connection also listens to, so a consultation ended from the doctor's console
closes the room too."""

from __future__ import annotations

import uuid
from typing import Any

from sanjeevani.live.groups import room_group
from sanjeevani.live.publisher import publish_many_after_commit


def publish_after_commit(consultation_id: uuid.UUID | str, event: dict[str, Any]) -> None:
    publish_many_after_commit(
        [(room_group(consultation_id), {"type": "room.event", "event": event})]
    )
