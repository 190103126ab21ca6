"""The channel layers: the in-process one of the embedded run, without its quadratic
fan-out, and channels_redis with one question for a batch of groups.

Channels' ``InMemoryChannelLayer`` scans every channel and group for expired messages on
every ``receive``; one event fanned out to N waiting rooms then costs N x N steps (5,000
clients: about 25 million, tens of seconds; measured by bench/ws_capacity.py). Here the
scan runs at most once a second, so expired messages may linger a second longer; and
``group_send`` queues the message for each member directly instead of starting a task each.

Its queues are asyncio queues of the loop the consumers run on, which are not thread-safe;
the layer remembers that loop as ``loop`` so that ``sanjeevani.live.publisher`` can hand
events from service threads over to it.

Both classes lean on private parts of channels and channels-redis (the in-memory layer's
``channels``/``groups``/``_clean_expired``, channels_redis's ``_group_key``, ``connection``
and ``consistent_hash``); pyproject.toml pins both packages to the series tested, and
tests/realtime/test_layer_contract.py names each part so that an upgrade fails there.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import time
from collections import defaultdict
from collections.abc import Iterable

from channels.layers import InMemoryChannelLayer as ChannelsInMemoryChannelLayer
from channels_redis.core import RedisChannelLayer as ChannelsRedisChannelLayer


class InMemoryChannelLayer(ChannelsInMemoryChannelLayer):
    clean_interval_seconds = 1.0

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._cleaned_at = 0.0
        self.loop: asyncio.AbstractEventLoop | None = None

    async def new_channel(self, prefix: str = "specific.") -> str:
        self.loop = asyncio.get_running_loop()
        return await super().new_channel(prefix)

    async def group_add(self, group: str, channel: str) -> None:
        self.loop = asyncio.get_running_loop()
        await super().group_add(group, channel)

    def _clean_expired(self) -> None:
        now = time.monotonic()
        if now - self._cleaned_at < self.clean_interval_seconds:
            return
        self._cleaned_at = now
        super()._clean_expired()

    async def group_send(self, group: str, message: dict) -> None:
        """Put one copy of the message straight into each member's queue: no task and no
        copy per member. Consumers read a message and never change it, so members may share
        it. (A broadcast group, such as an OPD's queue, has one member here whatever its
        number of clients: the process's fan-out hub, see ``sanjeevani.realtime.fanout``.)"""
        if not isinstance(message, dict):
            raise TypeError("Message is not a dict")
        self.require_valid_group_name(group)
        self._clean_expired()
        members = list(self.groups.get(group, {}))
        if not members:
            return
        expires = time.time() + self.expiry
        shared = copy.deepcopy(message)
        for channel in members:
            queue = self.channels.setdefault(
                channel, asyncio.Queue(maxsize=self.get_capacity(channel))
            )
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait((expires, shared))


class RedisChannelLayer(ChannelsRedisChannelLayer):
    """channels_redis, plus ``groups_with_members``.

    channels_redis's ``group_send`` asks Redis for a group's members in two round trips
    even when it has none, as personal groups mostly have (the patient or doctor does not
    have the page open); with channels_redis each costs about 0.27 ms of CPU. The publisher
    (``sanjeevani.live.publisher``) asks once per drain, one pipeline per Redis server,
    and sends only to the groups somebody listens to."""

    async def groups_with_members(self, groups: Iterable[str]) -> set[str]:
        by_server: defaultdict[int, list[str]] = defaultdict(list)
        for group in groups:
            by_server[self.consistent_hash(group)].append(group)
        oldest = int(time.time()) - self.group_expiry
        listened: set[str] = set()
        for index, names in by_server.items():
            pipe = self.connection(index).pipeline(transaction=False)
            for group in names:
                key = self._group_key(group)
                pipe.zremrangebyscore(key, min=0, max=oldest)
                pipe.zcard(key)
            counts = (await pipe.execute())[1::2]
            listened.update(group for group, count in zip(names, counts, strict=True) if count)
        return listened
