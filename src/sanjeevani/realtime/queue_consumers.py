"""Live queue feeds. Thin: they check who connects, join the right groups and forward the
events the services publish after commit (groups and who sends what:
``sanjeevani.live.groups``; shapes where they are sent, ``sanjeevani.queueing.services`` and
``sanjeevani.consultations.services``).
They never write to the database.

``ws/opd/<opd uuid>/waiting/``  a signed-in patient whose family holds a live token of that
    OPD. Receives ``queue.advanced`` for the OPD and ``ticket.called`` / ``ticket.missed`` /
    ``ticket.returned`` for the family's token(s) there.
``ws/doctor/queue/``  a signed-in doctor. Receives ``presence.changed``,
    ``consultation.assigned`` and ``consultation.status`` for themselves, and
    ``queue.advanced`` of the OPD they are online for (followed when they move).
Refused connections close with code 4403.

An OPD's queue group is a broadcast group: its events reach this process once and are
written to every local waiting room and doctor's queue of that OPD by
``sanjeevani.realtime.fanout``. The personal groups (ticket, doctor) stay ordinary groups.
"""

from __future__ import annotations

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from sanjeevani.accounts.models import Role
from sanjeevani.live.groups import doctor_group, opd_queue_group, ticket_group
from sanjeevani.queueing.models import LIVE_STATUSES, DoctorPresence, Ticket
from sanjeevani.queueing.selectors import ONLINE_STATUSES

from .fanout import LocalGroupFanout

REFUSED = 4403


class _ForwardingConsumer(AsyncJsonWebsocketConsumer):
    groups_joined: list[str]

    @property
    def fanout(self) -> LocalGroupFanout:
        return LocalGroupFanout.of(self.channel_layer)

    async def _join(self, group: str) -> None:
        await self.channel_layer.group_add(group, self.channel_name)
        self.groups_joined.append(group)

    async def _join_broadcast(self, group: str) -> None:
        await self.fanout.join(group, self)

    async def _leave_broadcast(self, group: str) -> None:
        await self.fanout.leave(group, self)

    async def accept(self, subprotocol=None, headers=None) -> None:
        """Broadcast frames held since the join go out right after the accept."""
        await super().accept(subprotocol, headers)
        await self.fanout.ready(self)

    async def disconnect(self, code: int) -> None:
        await self.fanout.forget(self)
        for group in list(getattr(self, "groups_joined", [])):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive_json(self, content, **kwargs) -> None:
        """Clients only listen; a ping gets a pong so they can test the link."""
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})

    async def forward(self, event: dict) -> None:
        await self.send_json(event)

    queue_advanced = forward
    ticket_called = forward
    ticket_missed = forward
    ticket_returned = forward
    consultation_assigned = forward
    consultation_status = forward


class WaitingRoomConsumer(_ForwardingConsumer):
    async def connect(self) -> None:
        self.groups_joined = []
        user = self.scope.get("user")
        opd_id = self.scope["url_route"]["kwargs"]["opd_id"]
        if not getattr(user, "is_authenticated", False) or user.role != Role.PATIENT:
            await self.close(code=REFUSED)
            return
        tickets = await self._live_tickets(user, opd_id)
        if not tickets:
            await self.close(code=REFUSED)
            return
        await self._join_broadcast(opd_queue_group(opd_id))
        for ticket_id in tickets:
            await self._join(ticket_group(ticket_id))
        await self.accept()

    @database_sync_to_async
    def _live_tickets(self, user, opd_id) -> list[str]:
        return [
            str(pk)
            for pk in Ticket.objects.filter(
                opd_id=opd_id, patient__account=user, status__in=LIVE_STATUSES
            ).values_list("pk", flat=True)
        ]


class DoctorQueueConsumer(_ForwardingConsumer):
    async def connect(self) -> None:
        self.groups_joined = []
        self.opd_group = None
        user = self.scope.get("user")
        if not getattr(user, "is_authenticated", False) or user.role != Role.DOCTOR:
            await self.close(code=REFUSED)
            return
        found = await self._presence(user)
        if found is None:
            await self.close(code=REFUSED)
            return
        doctor_id, opd_id = found
        await self._join(doctor_group(doctor_id))
        if opd_id:
            self.opd_group = opd_queue_group(opd_id)
            await self._join_broadcast(self.opd_group)
        await self.accept()

    @database_sync_to_async
    def _presence(self, user) -> tuple[str, str | None] | None:
        profile = getattr(user, "doctor_profile", None)
        if profile is None:
            return None
        presence = DoctorPresence.objects.filter(doctor=profile).first()
        online = presence is not None and presence.status in ONLINE_STATUSES
        return str(profile.pk), (str(presence.opd_id) if online and presence.opd_id else None)

    async def presence_changed(self, event: dict) -> None:
        """Follow the doctor to the OPD they are now online for (or to none)."""
        online = event.get("status") in ONLINE_STATUSES and event.get("opd")
        wanted = opd_queue_group(event["opd"]) if online else None
        if wanted != self.opd_group:
            if self.opd_group:
                await self._leave_broadcast(self.opd_group)
            if wanted:
                await self._join_broadcast(wanted)
            self.opd_group = wanted
        await self.send_json(event)
