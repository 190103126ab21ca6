"""The centre's live feed, ``ws/centre/cases/``: a CHO's workspace hears at once when a hub
doctor calls one of the centre's live cases (``ticket.called``), when its consultation ends
(``ticket.completed``: the answer is ready), or when a case moves (overflow, forwarding:
``ticket.moved``), misses its call or returns to the line. The page
then reads the status feed (``centre:status``), which holds the names, positions and
waits; the socket carries no patient data of its own beyond the service's event.

A CHO's socket joins the ticket group of each live case of their centre when it connects,
and the centre's group: a case sent afterwards, from this device or a colleague's
(``centre.case_sent``), has its ticket group joined at once and is forwarded, so the page
reads its list then. Refused connections close with 4403."""

from __future__ import annotations

from channels.db import database_sync_to_async
from django.core.exceptions import PermissionDenied

from sanjeevani.accounts.models import Role
from sanjeevani.live.groups import centre_group, ticket_group
from sanjeevani.queueing.models import LIVE_STATUSES
from sanjeevani.realtime.queue_consumers import REFUSED, QueueFeedConsumer

from .models import Case
from .services import centre_of


class CentreFeedConsumer(QueueFeedConsumer):
    ticket_moved = QueueFeedConsumer.forward

    async def connect(self) -> None:
        self.groups_joined = []
        user = self.scope.get("user")
        if not getattr(user, "is_authenticated", False) or user.role != Role.CHO:
            await self.close(code=REFUSED)
            return
        found = await self._live_tickets(user)
        if found is None:
            await self.close(code=REFUSED)
            return
        centre_id, tickets = found
        await self._join(centre_group(centre_id))
        for ticket_id in tickets:
            await self._join(ticket_group(ticket_id))
        await self.accept()
        await self.send_json({"type": "centre.joined", "tickets": tickets})

    async def centre_case_sent(self, event: dict) -> None:
        """A case just sent at this centre: its calls are heard from now on."""
        group = ticket_group(event["ticket"])
        if group not in self.groups_joined:
            await self._join(group)
        await self.forward(event)

    @database_sync_to_async
    def _live_tickets(self, user) -> tuple[str, list[str]] | None:
        """The CHO's centre and the live tickets of its cases (None: not posted at a
        centre)."""
        try:
            centre = centre_of(user)
        except PermissionDenied:
            return None
        return str(centre.pk), [
            str(pk)
            for pk in Case.objects.filter(
                spoke=centre, ticket__status__in=LIVE_STATUSES
            ).values_list("ticket_id", flat=True)
        ]
