"""The in-process channel layer of the embedded run, without its quadratic fan-out.

Channels' ``InMemoryChannelLayer`` scans every channel and group for expired messages on
every ``receive``; one event fanned out to N waiting rooms then costs N x N steps (5,000
clients: about 25 million, tens of seconds; measured by bench/ws_capacity.py). Here the
scan runs at most once a second, so expired messages may linger a second longer; and
``group_send`` queues the message for each member directly instead of starting a task each.
"""

from __future__ import annotations

import contextlib
import time

from channels.exceptions import ChannelFull
from channels.layers import InMemoryChannelLayer as ChannelsInMemoryChannelLayer


class InMemoryChannelLayer(ChannelsInMemoryChannelLayer):
    clean_interval_seconds = 1.0

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._cleaned_at = 0.0

    def _clean_expired(self) -> None:
        now = time.monotonic()
        if now - self._cleaned_at < self.clean_interval_seconds:
            return
        self._cleaned_at = now
        super()._clean_expired()

    async def group_send(self, group: str, message: dict) -> None:
        """Put the message straight into each member's queue: no task per member."""
        if not isinstance(message, dict):
            raise TypeError("Message is not a dict")
        self.require_valid_group_name(group)
        self._clean_expired()
        for channel in list(self.groups.get(group, {})):
            with contextlib.suppress(ChannelFull):
                await self.send(channel, message)
