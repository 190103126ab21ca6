"""The room's client-to-server messages: which types exist, their fields, who may send
them, and the size and rate limits. Anything else is a protocol error (close 4400).
See docs/realtime.md."""

from __future__ import annotations

import json
import time
from typing import Any

from django.conf import settings

MAX_SDP_MESSAGE_BYTES = 64 * 1024
MAX_MESSAGE_BYTES = 16 * 1024
PEER_ID_CHARS = 32
#: ``media-stats``: the participant's user id (a UUID) and cumulative counters, each
#: from 0 to ``MAX_COUNTER`` (``consultations.modes``).
USER_ID_CHARS = 36
MAX_COUNTER = 10**12
MEDIA_COUNTERS = ("video_frames", "video_bytes", "audio_packets", "audio_bytes")
#: ``quality-step``: what a page sends, from full video down to audio only (room.js steps
#: down on a weak link and back up when it recovers, and tells the others so their page
#: can say why the picture changed).
QUALITY_STEPS = ("normal", "low-video", "audio-only")

_STR, _INT, _BOOL, _OBJ_OR_NULL = str, int, bool, (dict, type(None))

#: type -> {field: (python type(s), required)}
SCHEMAS: dict[str, dict[str, tuple[Any, bool]]] = {
    "offer": {"to": (_STR, True), "sdp": (_STR, True)},
    "answer": {"to": (_STR, True), "sdp": (_STR, True)},
    "ice-candidate": {"to": (_STR, True), "candidate": (_OBJ_OR_NULL, True)},
    "ice-restart": {"to": (_STR, True)},
    "media-state": {"audio": (_BOOL, True), "video": (_BOOL, True), "audio_only": (_BOOL, False)},
    # The sender's page changed what it sends: ``step`` from QUALITY_STEPS, ``automatic``
    # false when the person chose it with a button.
    "quality-step": {"step": (_STR, True), "automatic": (_BOOL, True)},
    # Kept so that pages loaded before the mode was observed are not disconnected; it no
    # longer changes anything (a claim is not an observation).
    "video-connected": {},
    # What this page received from participant ``user_id`` (WebRTC getStats, inbound-rtp).
    "media-stats": {
        "user_id": (_STR, True),
        **dict.fromkeys(MEDIA_COUNTERS, (_INT, True)),
    },
    "chat": {"text": (_STR, True), "client_id": (_STR, False)},
    "sync": {"after_seq": (_INT, True)},
    "delivered": {"seq": (_INT, True)},
    "read": {"seq": (_INT, True)},
    "ping": {"t": ((int, float), False)},
    "hold": {},
    "resume": {},
    "end": {"outcome": (_STR, True)},
    "add-participant": {"user_id": (_STR, True), "role": (_STR, True)},
}
#: Relayed to peers as they are (plus "from"); the server never reads the SDP.
RELAYED = frozenset(
    {"offer", "answer", "ice-candidate", "ice-restart", "media-state", "quality-step"}
)
#: Only the doctor may send these.
DOCTOR_ONLY = frozenset({"hold", "resume", "end", "add-participant"})
LARGE = frozenset({"offer", "answer"})


class ProtocolError(Exception):
    """The client broke the protocol; it is disconnected with close code 4400."""


def parse_client_message(raw: str | None) -> dict[str, Any]:
    """The client's message, checked against SCHEMAS and the limits, or ProtocolError."""
    if raw is None:
        raise ProtocolError("binary frames are not accepted")
    if len(raw) > MAX_SDP_MESSAGE_BYTES:
        raise ProtocolError("message too large")
    try:
        message = json.loads(raw)
    except ValueError:
        raise ProtocolError("not JSON") from None
    if not isinstance(message, dict):
        raise ProtocolError("not a JSON object")
    kind = message.get("type")
    schema = SCHEMAS.get(kind) if isinstance(kind, str) else None
    if schema is None:
        raise ProtocolError("unknown message type")
    if kind not in LARGE and len(raw) > MAX_MESSAGE_BYTES:
        raise ProtocolError("message too large")
    unknown = set(message) - set(schema) - {"type"}
    if unknown:
        raise ProtocolError(f"unexpected fields: {', '.join(sorted(unknown))[:80]}")
    for field, (expected, required) in schema.items():
        if field not in message:
            if required:
                raise ProtocolError(f"missing field: {field}")
            continue
        value = message[field]
        if isinstance(value, bool) and expected in (_INT, (int, float)):
            raise ProtocolError(f"wrong type: {field}")
        if not isinstance(value, expected):
            raise ProtocolError(f"wrong type: {field}")
    if "to" in message and not 0 < len(message["to"]) <= PEER_ID_CHARS:
        raise ProtocolError("bad peer id")
    if kind == "media-stats":
        if not 0 < len(message["user_id"]) <= USER_ID_CHARS:
            raise ProtocolError("bad user id")
        if any(not 0 <= message[name] <= MAX_COUNTER for name in MEDIA_COUNTERS):
            raise ProtocolError(f"counters run from 0 to {MAX_COUNTER}")
    if kind == "quality-step" and message["step"] not in QUALITY_STEPS:
        raise ProtocolError(f"step is one of {', '.join(QUALITY_STEPS)}")
    return message


class RateLimit:
    """A token bucket per connection: a burst, then a steady rate."""

    def __init__(self, per_second: float | None = None, burst: int | None = None):
        self.rate = float(per_second or getattr(settings, "ROOM_MESSAGES_PER_SECOND", 20))
        self.capacity = float(burst or getattr(settings, "ROOM_MESSAGES_BURST", 120))
        self.tokens = self.capacity
        self.stamp = time.monotonic()

    def allow(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True
