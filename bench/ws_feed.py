"""The ASGI application bench/ws_capacity.py serves: the project's own, plus a
waiting-room-like feed at ``ws/bench/feed/`` that production never routes.

    uvicorn bench.ws_feed:application      (from the repository's root)

Every connection to the feed joins one broadcast group before it accepts and then stays
idle, as a waiting room joins its queue's group; a client that sends ``{"publish": t}`` makes
the server fan a ``queue.advanced`` event of the usual size out to the whole group, stamped
with ``t``, through the same fan-out and forwarding code as the waiting rooms.
"""

from __future__ import annotations

from typing import Any

from django.urls import path

from sanjeevani.config.asgi import build_application
from sanjeevani.live.groups import queue_group
from sanjeevani.realtime.queue_consumers import QueueFeedConsumer

QUEUE_ID = "5f0c3c3e-8d1e-4f6a-9a53-2f3e1b7c9d10"
GROUP = queue_group(QUEUE_ID)
FEED_PATH = "ws/bench/feed/"


class BenchFeedConsumer(QueueFeedConsumer):
    async def connect(self) -> None:
        self.groups_joined = []
        await self._join_broadcast(GROUP)
        await self.accept()

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if isinstance(content, dict) and isinstance(content.get("publish"), (int, float)):
            await self.channel_layer.group_send(
                GROUP,
                {
                    "type": "queue.advanced",
                    "queue": QUEUE_ID,
                    "change": "joined",
                    "ticket": {"priority": 10, "queued_at": "2025-01-01T10:00:00+05:30"},
                    "doctors_online": 3,
                    "doctors_busy": 2,
                    "mean_consultation_seconds": 360,
                    "at": "2025-01-01T10:00:00+05:30",
                    "t": content["publish"],
                },
            )


application = build_application([path(FEED_PATH, BenchFeedConsumer.as_asgi())])
