"""Live queue feeds. Thin: they check who connects, join the right groups and forward the
events the services publish after commit (groups and who sends what:
``sanjeevani.live.groups``; shapes where they are sent, ``sanjeevani.queueing.services`` and
``sanjeevani.consultations.services``).
They never write to the database.

``ws/opd/<opd uuid>/waiting/``  a signed-in patient whose family holds a live token of that
    OPD. Receives ``queue.advanced`` for the queue those tokens wait in (not once they are
    called) and ``ticket.called`` / ``ticket.missed`` / ``ticket.returned`` /
    ``ticket.completed`` for the family's token(s) there; an app keeps it open through the
    consultation to hear it end.
``ws/doctor/queue/``  a signed-in doctor. Receives ``presence.changed``,
    ``consultation.assigned``, ``consultation.status`` and ``consultation.mode`` for
    themselves, and
    ``queue.advanced`` of the queue they are online for (followed when they move).
Refused connections close with code 4403.

A queue's group (``queue.<queue uuid>``) is a broadcast group: its events reach this process
once and are written to every local waiting room and doctor's queue of that queue by
``sanjeevani.realtime.fanout``. The personal groups (ticket, doctor) stay ordinary groups.
"""

from __future__ import annotations

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from sanjeevani.accounts.models import Role
from sanjeevani.live.groups import doctor_group, queue_group, ticket_group
from sanjeevani.live.sign_in import EndsWithSignIn
from sanjeevani.observability.sockets import ObservedConnection
from sanjeevani.queueing.models import LIVE_STATUSES, DoctorPresence, Ticket
from sanjeevani.queueing.selectors import ONLINE_STATUSES

from .fanout import LocalGroupFanout

REFUSED = 4403


class QueueFeedConsumer(ObservedConnection, EndsWithSignIn, AsyncJsonWebsocketConsumer):
    """A listening socket: joins its groups (a queue's through the process's fan-out hub)
    and forwards what the services publish. The waiting room and the doctor's queue are
    these; so is the benchmark's feed."""

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
    ticket_completed = forward
    consultation_assigned = forward
    consultation_status = forward
    consultation_mode = forward


class WaitingRoomConsumer(QueueFeedConsumer):
    """The family's waiting room. It is in a queue's broadcast group only while one of the
    family's tokens waits in that queue: a called token needs no positions, and the socket
    stays open through the consultation, where each queue change would otherwise reach
    every patient being seen. A token back in the line (``ticket.returned``) joins again;
    the page reads its position afresh on that event."""

    async def connect(self) -> None:
        self.groups_joined = []
        self.queue_of: dict[str, str] = {}
        self.waiting: set[str] = set()
        user = self.scope.get("user")
        opd_id = self.scope["url_route"]["kwargs"]["opd_id"]
        if not getattr(user, "is_authenticated", False) or user.role != Role.PATIENT:
            await self.close(code=REFUSED)
            return
        tickets = await self._live_tickets(user, opd_id)
        if not tickets:
            await self.close(code=REFUSED)
            return
        for ticket_id, queue_id, status in tickets:
            self.queue_of[ticket_id] = queue_id
            if status == Ticket.Status.WAITING:
                self.waiting.add(ticket_id)
        for queue_id in sorted(self._queues_waited_in()):
            await self._join_broadcast(queue_group(queue_id))
        for ticket_id in self.queue_of:
            await self._join(ticket_group(ticket_id))
        await self.accept()

    @database_sync_to_async
    def _live_tickets(self, user, opd_id) -> list[tuple[str, str, str]]:
        """The family's live tokens at this OPD, with the queue each is in and its status."""
        return [
            (str(pk), str(queue_id), status)
            for pk, queue_id, status in Ticket.objects.filter(
                opd_id=opd_id, patient__account=user, status__in=LIVE_STATUSES
            ).values_list("pk", "queue_id", "status")
        ]

    def _queues_waited_in(self) -> set[str]:
        return {self.queue_of[ticket_id] for ticket_id in self.waiting}

    async def _follow_line(self, ticket_id: str | None, waiting: bool) -> None:
        """Be in the broadcast group of each queue where a family token waits, no other."""
        if ticket_id not in self.queue_of:
            return
        before = self._queues_waited_in()
        if waiting:
            self.waiting.add(ticket_id)
        else:
            self.waiting.discard(ticket_id)
        after = self._queues_waited_in()
        for gone in sorted(before - after):
            await self._leave_broadcast(queue_group(gone))
        for joined in sorted(after - before):
            await self._join_broadcast(queue_group(joined))

    async def ticket_called(self, event: dict) -> None:
        """The call first: leaving the group waits on the layer."""
        await self.send_json(event)
        await self._follow_line(event.get("ticket"), waiting=False)

    async def ticket_returned(self, event: dict) -> None:
        """In the group before the page reads its position again on this event."""
        await self._follow_line(event.get("ticket"), waiting=True)
        await self.send_json(event)


class DoctorQueueConsumer(QueueFeedConsumer):
    async def connect(self) -> None:
        self.groups_joined = []
        self.queue_group = None
        user = self.scope.get("user")
        if not getattr(user, "is_authenticated", False) or user.role != Role.DOCTOR:
            await self.close(code=REFUSED)
            return
        found = await self._presence(user)
        if found is None:
            await self.close(code=REFUSED)
            return
        doctor_id, queue_id = found
        await self._join(doctor_group(doctor_id))
        if queue_id:
            self.queue_group = queue_group(queue_id)
            await self._join_broadcast(self.queue_group)
        await self.accept()

    @database_sync_to_async
    def _presence(self, user) -> tuple[str, str | None] | None:
        profile = getattr(user, "doctor_profile", None)
        if profile is None:
            return None
        presence = DoctorPresence.objects.filter(doctor=profile).first()
        online = presence is not None and presence.status in ONLINE_STATUSES
        return str(profile.pk), (str(presence.queue_id) if online and presence.queue_id else None)

    async def presence_changed(self, event: dict) -> None:
        """Follow the doctor to the queue they are now online for (or to none)."""
        online = event.get("status") in ONLINE_STATUSES and event.get("queue")
        wanted = queue_group(event["queue"]) if online else None
        if wanted != self.queue_group:
            if self.queue_group:
                await self._leave_broadcast(self.queue_group)
            if wanted:
                await self._join_broadcast(wanted)
            self.queue_group = wanted
        await self.send_json(event)
