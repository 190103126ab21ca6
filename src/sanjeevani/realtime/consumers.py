"""The consultation room over WebSocket: presence, signalling relay, chat, hold/end.

The server relays signalling between the peers of one room through the room's channel
group (so peers on different app nodes reach each other through Redis) and never touches
media. Every write goes through ``realtime.services``. Protocol: docs/realtime.md.
"""

from __future__ import annotations

import secrets
import time
from typing import Any
from urllib.parse import parse_qs

from asgiref.sync import sync_to_async
from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils.translation import gettext as _

from sanjeevani.audit.services import scope_client_ip
from sanjeevani.consultations.models import Consultation
from sanjeevani.consultations.modes import RANK, level_of
from sanjeevani.limits import rates as limit_rates
from sanjeevani.live.groups import consultation_group, room_group
from sanjeevani.live.sign_in import EndsWithSignIn
from sanjeevani.observability.sockets import ObservedConnection
from sanjeevani.queueing.errors import DomainError

from . import selectors, services
from .ice import ice_servers_for
from .models import RoomRole
from .protocol import (
    DOCTOR_ONLY,
    MEDIA_COUNTERS,
    RELAYED,
    ProtocolError,
    RateLimit,
    parse_client_message,
)

#: A page's media-stats that prove nothing new are stored at most this often.
MEDIA_STATS_WRITE_SECONDS = 30.0
#: The most participants one connection reports about (a room holds at most 4 people).
MEDIA_STATS_SOURCES = 8


class RoomConsumer(ObservedConnection, EndsWithSignIn, AsyncJsonWebsocketConsumer):
    """One participant's connection to one consultation room."""

    admission: services.Admission | None = None

    async def connect(self) -> None:
        self.peer_id = secrets.token_hex(8)
        self.consultation_id = str(self.scope["url_route"]["kwargs"]["consultation_id"])
        self.group = room_group(self.consultation_id)
        self.rate = RateLimit()
        self.closing = False
        # source user id -> (level last stored, when): media-stats are written when what
        # they prove rises, otherwise at most every MEDIA_STATS_WRITE_SECONDS.
        self.media_written: dict[str, tuple[int, float]] = {}
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        token = (query.get("token") or [""])[0]
        session = (query.get("session") or [""])[0]
        # The page's own id: a rejoin from the same page keeps its media connections.
        self.session = session if session.isalnum() and len(session) <= 32 else ""
        # Accept first so that the refusal reaches the client as a close code and a reason.
        await self.accept()
        try:
            self.admission = await database_sync_to_async(services.admit_to_room)(
                token,
                self.consultation_id,
                session_user=self.scope.get("user"),
                ip=scope_client_ip(self.scope),
            )
        except services.RoomRefused as refused:
            await self._refuse(refused.close_code, refused.code, refused.message)
            return
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.channel_layer.group_add(
            consultation_group(self.consultation_id), self.channel_name
        )
        me = self._me()
        await self.send_json(
            {
                "type": "welcome",
                **me,
                "status": self.admission.status,
                "last_seq": self.admission.last_seq,
                "members": [m.as_dict() for m in self.admission.members],
                "mode": self.admission.mode,
                "ice_servers": await database_sync_to_async(ice_servers_for)(
                    self.admission.user.pk
                ),
            }
        )
        await self._to_room({"type": "peer-joined", **me})

    async def disconnect(self, code: int) -> None:
        if self.admission is None:
            return
        await self.channel_layer.group_discard(self.group, self.channel_name)
        await self.channel_layer.group_discard(
            consultation_group(self.consultation_id), self.channel_name
        )
        await self._to_room({"type": "peer-left", "peer_id": self.peer_id})

    # --- from the client ---------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.admission is None or self.closing:
            return
        if not self.rate.allow():
            await self._refuse(services.CLOSE_PROTOCOL, "rate_limited", _("Too many messages."))
            return
        try:
            message = parse_client_message(text_data if bytes_data is None else None)
        except ProtocolError as error:
            await self._refuse(services.CLOSE_PROTOCOL, "protocol_error", str(error))
            return
        kind = message["type"]
        if kind in DOCTOR_ONLY and self.admission.member.role != RoomRole.DOCTOR:
            await self._error("forbidden", _("Only the doctor can do that."), kind)
            return
        if kind in RELAYED:
            await self._to_room({**message, "from": self.peer_id}, to=message.get("to"))
            return
        handler = getattr(self, "on_" + kind.replace("-", "_"))
        try:
            await handler(message)
        except ValidationError as error:
            await self._error(error.code or "invalid", " ".join(error.messages), kind)
        except DomainError as error:
            await self._error(error.code, error.message, kind)
        except (PermissionDenied, Http404) as error:
            await self._error("forbidden", str(error) or _("Not allowed."), kind)

    async def on_chat(self, message: dict[str, Any]) -> None:
        # Per user across connections and per address (sanjeevani.limits), on top of the
        # per-connection bucket: an error the page shows, not a closed room.
        refusal = await sync_to_async(limit_rates.check)(
            "room.chat",
            user=self.admission.user,
            address=scope_client_ip(self.scope),
        )
        if refusal is not None:
            await self.send_json(
                {
                    "type": "error",
                    "code": "rate_limited",
                    "message": limit_rates.message_for(refusal),
                    "about": "chat",
                    "client_id": message.get("client_id", ""),
                    "retry_after_seconds": refusal.retry_after,
                }
            )
            return
        stored = await self._call(services.post_chat_message, message["text"])
        await self.send_json(
            {
                "type": "chat-ack",
                "client_id": message.get("client_id", ""),
                "id": str(stored.id),
                "seq": stored.seq,
            }
        )

    async def on_sync(self, message: dict[str, Any]) -> None:
        for payload in await database_sync_to_async(self._history)(message["after_seq"]):
            await self.send_json(payload)
        await self.send_json({"type": "chat-synced", "last_seq": self._synced_to})

    async def on_delivered(self, message: dict[str, Any]) -> None:
        await self._call(services.mark_messages, message["seq"], "delivered")

    async def on_read(self, message: dict[str, Any]) -> None:
        await self._call(services.mark_messages, message["seq"], "read")

    async def on_ping(self, message: dict[str, Any]) -> None:
        await self.send_json({"type": "pong", "t": message.get("t"), "server_time": time.time()})

    async def on_video_connected(self, message: dict[str, Any]) -> None:
        """Pages loaded before the mode was observed still send this; it proves nothing."""

    async def on_media_stats(self, message: dict[str, Any]) -> None:
        source = message["user_id"]
        counters = {name: message[name] for name in MEDIA_COUNTERS}
        level = RANK[level_of(counters)]
        now = time.monotonic()
        if source not in self.media_written and len(self.media_written) >= MEDIA_STATS_SOURCES:
            return  # a room holds 4 people; more sources are junk, not worth a query
        stored_level, stored_at = self.media_written.get(source, (-1, 0.0))
        if level <= stored_level and now - stored_at < MEDIA_STATS_WRITE_SECONDS:
            return
        self.media_written[source] = (max(level, stored_level), now)
        await self._call(services.record_media_stats, source, counters)

    async def on_hold(self, message: dict[str, Any]) -> None:
        await self._call(services.hold_room)

    async def on_resume(self, message: dict[str, Any]) -> None:
        await self._call(services.resume_room)

    async def on_end(self, message: dict[str, Any]) -> None:
        await self._call(services.end_room, message["outcome"])

    async def on_add_participant(self, message: dict[str, Any]) -> None:
        await self._call(services.add_participant, message["user_id"], message["role"])

    # --- from the room group -------------------------------------------------------------

    async def room_relay(self, event: dict[str, Any]) -> None:
        """A peer's message: delivered to its addressee, or to everyone but the sender."""
        payload = event["payload"]
        if self.closing or event["from"] == self.peer_id:
            return
        if event.get("to") and event["to"] != self.peer_id:
            return
        if payload["type"] == "peer-joined":
            if payload["user_id"] == self._me()["user_id"]:
                await self._refuse(
                    services.CLOSE_REPLACED, "replaced", _("You joined from another page.")
                )
                return
            await self._to_room({"type": "peer-present", **self._me()}, to=payload["peer_id"])
        await self.send_json(payload)

    async def room_event(self, event: dict[str, Any]) -> None:
        """An event a realtime service published after its write committed."""
        if not self.closing:
            await self.send_json(event["event"])

    async def consultation_mode(self, event: dict[str, Any]) -> None:
        """The observed or confirmed mode changed (``consultations.modes``)."""
        if not self.closing:
            payload = {
                k: event.get(k) for k in ("observed_mode", "mode", "confirmed", "confirmed_at")
            }
            await self.send_json({"type": "consultation-mode", **payload})

    async def consultation_status(self, event: dict[str, Any]) -> None:
        """The consultation moved (hold, resume, end), from the room or the doctor's console."""
        if self.closing:
            return
        if event.get("status") == Consultation.Status.ENDED:
            self.closing = True
            await self.send_json(
                {
                    "type": "room-ended",
                    "outcome": event.get("outcome", ""),
                    "message": _("The doctor ended the consultation."),
                }
            )
            await self.close(code=services.CLOSE_ENDED, reason="ended")
            return
        status = event.get("status", "")
        on_hold = status == Consultation.Status.ON_HOLD
        await self.send_json({"type": "room-state", "status": status, "on_hold": on_hold})

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Other ``consultation.*`` events on the consultation's group are not for the room."""
        if message["type"].startswith("consultation.") and not hasattr(
            self, get_handler_name(message)
        ):
            return
        await super().dispatch(message)

    # --- helpers ---------------------------------------------------------------------------

    def _me(self) -> dict[str, Any]:
        member = self.admission.member
        return {"peer_id": self.peer_id, "session": self.session, **member.as_dict()}

    def _history(self, after_seq: int) -> list[dict]:
        consultation = selectors.load_consultation(self.consultation_id)
        members = selectors.room_members(consultation)
        messages = selectors.messages_after(consultation, max(after_seq, 0))
        self._synced_to = messages[-1].seq if messages else max(after_seq, 0)
        return [selectors.message_payload(m, members) for m in messages]

    async def _call(self, service: Any, *args: Any) -> Any:
        return await database_sync_to_async(service)(
            self.admission.user, self.consultation_id, *args
        )

    async def _to_room(self, payload: dict[str, Any], to: str | None = None) -> None:
        await self.channel_layer.group_send(
            self.group, {"type": "room.relay", "from": self.peer_id, "to": to, "payload": payload}
        )

    async def _error(self, code: str, message: str, about: str = "") -> None:
        await self.send_json({"type": "error", "code": code, "message": message, "about": about})

    async def _refuse(self, close_code: int, code: str, message: str) -> None:
        self.closing = True
        await self.send_json({"type": "error", "code": code, "message": message, "fatal": True})
        await self.close(code=close_code, reason=code)
