"""A waiting-room-like feed for bench/ws_capacity.py, routed only when DEBUG is on.

Every connection joins one group and stays idle; a client that sends ``{"publish": t}``
makes the server fan ``{"t": t}`` out to the whole group, as a queue change would.
"""

from __future__ import annotations

from typing import Any

from channels.generic.websocket import AsyncJsonWebsocketConsumer

GROUP = "bench.feed"


class BenchFeedConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        await self.accept()
        await self.channel_layer.group_add(GROUP, self.channel_name)

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard(GROUP, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if isinstance(content, dict) and isinstance(content.get("publish"), (int, float)):
            await self.channel_layer.group_send(
                GROUP, {"type": "feed.event", "t": content["publish"]}
            )

    async def feed_event(self, event: dict[str, Any]) -> None:
        await self.send_json({"t": event["t"]})
