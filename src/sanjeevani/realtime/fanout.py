"""Process-local fan-out for broadcast groups (the pattern of Phoenix PubSub and the
socket.io adapters): one channel-layer message per process, not one per client.

A broadcast group (an OPD's queue) can have thousands of waiting rooms on one process. As
ordinary Channels group members, each has its own channel: the layer stores one message per
member (channels_redis also carries every member's channel name through Redis), and each
consumer task wakes up, dispatches, encodes and sends (bench/ws_capacity.py: about 0.27 ms
per connection, 1.4 s for 5,000). Here the first local member of a group makes the process
join the layer group once, with a process-local channel of its own read by one task; the
last one leaving discards it. An event arriving there is encoded to JSON once and written
to each local member's socket directly, without a layer message or a dispatch per member.
Such a group carries only events that clients receive as they are (``{"type": ..., ...}``).

- A member joins before it accepts its socket (so it misses nothing published after the
  join); its frames are held until ``ready`` (after accept), then sent in order.
- A send into a writable socket completes without suspending, so the fan-out is a plain
  loop. A socket whose write buffer is full (a slow or vanished client) takes its frame in
  a task of its own and queues the next ones behind it, so it never holds up the others;
  a member whose send fails, or that disconnected meanwhile, is skipped.
- The layer forgets group members after ``group_expiry`` (channels_redis: one day), so each
  hub re-adds itself every ``REJOIN_SECONDS`` (sooner when the expiry is shorter), and again
  after a failed read from the layer.
- A hub channel carries a whole group's events: its name ends in ``!fanout.<random>``
  (``HUB_CHANNEL_PATTERN``), and it gets room for ``HUB_CAPACITY`` waiting messages unless
  the layer's ``channel_capacity`` setting already gives it as much. (channels_redis also
  buffers a channel's messages in the process up to its plain ``capacity``; the hub drains
  that between fan-outs, so only more than that many events to one group during one
  fan-out pass, a fraction of a second, could push the oldest out.)

One ``LocalGroupFanout`` per channel layer and event loop (``LocalGroupFanout.of``).
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import weakref
from collections.abc import Coroutine
from typing import Any, Protocol

from sanjeevani.live.publisher import BATCH_TYPE

log = logging.getLogger(__name__)

HUB_CHANNEL_PATTERN = "*!fanout.*"
HUB_CAPACITY = 10_000
REJOIN_SECONDS = 3600.0
RETRY_SECONDS = 1.0
#: How long leaving a group waits for the hub's reader to wind down.
STOP_SECONDS = 5.0
#: The message a hub sends its own reader to end it.
STOP_TYPE = "fanout.stop"
#: Frames kept for one member that cannot take them yet; the oldest go first beyond it.
BACKLOG_LIMIT = 256
#: Members written to between two turns of the event loop, so a fan-out to thousands
#: does not hold up every other socket of the process until it is done.
BATCH = 500


class Member(Protocol):
    async def send(self, text_data: str | None = None) -> None: ...


def _run_until_suspended(coro: Coroutine[Any, Any, Any]) -> tuple[Any] | None:
    """Run ``coro`` here and now, in the caller's task, until it first waits: None when it
    completed, else what it waits on (in a 1-tuple, since that may be None). Exceptions
    raised before then go to the caller. Python 3.12's eager tasks do this; 3.11 has none,
    and a task per member per event is the very cost the fan-out is for."""
    try:
        return (coro.send(None),)
    except StopIteration:
        return None


async def _resume(coro: Coroutine[Any, Any, Any], waiting_on: Any) -> None:
    """Carry a suspended ``coro`` on to its end, as the task it did not get would."""
    try:
        while True:
            if waiting_on is None:
                await asyncio.sleep(0)
            else:
                waiting_on._asyncio_future_blocking = False
                await asyncio.wait([waiting_on])
            waiting_on = coro.send(None)
    except StopIteration:
        return
    finally:
        coro.close()


class _Outlet:
    """One member's frames, in order: held until it is ready, and queued while a send to
    it is still under way."""

    __slots__ = ("member", "groups", "held", "gone", "waiting", "busy", "lagging")

    def __init__(self, member: Member) -> None:
        self.member = member
        self.groups: set[str] = set()
        self.held = True
        self.gone = False
        self.waiting: collections.deque[str] = collections.deque()
        self.busy: asyncio.Task | None = None
        self.lagging = False

    def put(self, text: str) -> None:
        if self.held or self.busy is not None:
            if len(self.waiting) >= BACKLOG_LIMIT:
                self.waiting.popleft()
                if not self.lagging:
                    log.warning("A fan-out member is %d frames behind; dropping", BACKLOG_LIMIT)
                self.lagging = True
            self.waiting.append(text)
            return
        coro = self.member.send(text_data=text)
        try:
            suspended = _run_until_suspended(coro)
        except (Exception, asyncio.CancelledError):
            log.debug("Fan-out send failed", exc_info=True)
            return
        if suspended is not None:
            self.busy = asyncio.get_running_loop().create_task(self._catch_up(coro, suspended[0]))

    async def _catch_up(self, coro: Coroutine[Any, Any, Any], waiting_on: Any) -> None:
        try:
            try:
                await _resume(coro, waiting_on)
            except Exception:
                log.debug("Fan-out send failed", exc_info=True)
            while self.waiting and not self.gone:
                await self._send(self.waiting.popleft())
        finally:
            self.busy = None

    async def _send(self, text: str) -> None:
        try:
            await self.member.send(text_data=text)
        except Exception:
            log.debug("Fan-out send failed", exc_info=True)

    async def release(self) -> None:
        while self.waiting and not self.gone:
            await self._send(self.waiting.popleft())
        self.held = False

    def close(self) -> None:
        self.gone = True
        self.waiting.clear()
        if self.busy is not None:
            self.busy.cancel()


class _Hub:
    """This process's seat in one layer group."""

    __slots__ = ("group", "channel", "members", "started", "tasks", "closed")

    def __init__(self, group: str) -> None:
        self.group = group
        self.channel = ""
        self.members: dict[Member, _Outlet] = {}
        self.started: asyncio.Task | None = None
        self.tasks: list[asyncio.Task] = []
        self.closed = False


_registry: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[Any, LocalGroupFanout]] = (
    weakref.WeakKeyDictionary()
)


class LocalGroupFanout:
    """This process's members of broadcast groups on one channel layer and event loop."""

    def __init__(self, layer: Any) -> None:
        self.layer = layer
        self.hubs: dict[str, _Hub] = {}
        self.outlets: dict[Member, _Outlet] = {}
        expiry = getattr(layer, "group_expiry", None)
        self.rejoin_seconds = min(REJOIN_SECONDS, expiry / 2) if expiry else REJOIN_SECONDS
        _make_room_for_hubs(layer)

    @classmethod
    def of(cls, layer: Any) -> LocalGroupFanout:
        """The fan-out of ``layer`` on the running event loop."""
        per_layer = _registry.setdefault(asyncio.get_running_loop(), {})
        fanout = per_layer.get(layer)
        if fanout is None:
            fanout = per_layer[layer] = cls(layer)
        return fanout

    async def join(self, group: str, member: Member) -> None:
        """Add ``member`` to ``group``; returns once this process is in the layer group.
        Its frames are held until ``ready(member)``."""
        outlet = self._outlet(member)
        hub = self.hubs.get(group)
        if hub is None:
            hub = self.hubs[group] = _Hub(group)
            hub.started = asyncio.get_running_loop().create_task(self._start(hub))
        hub.members[member] = outlet
        outlet.groups.add(group)
        try:
            await asyncio.shield(hub.started)
        except Exception:
            hub.members.pop(member, None)
            outlet.groups.discard(group)
            raise

    async def ready(self, member: Member) -> None:
        """Start writing to ``member`` (its socket is accepted): the frames held for it
        first, then each as it comes."""
        await self._outlet(member).release()

    async def leave(self, group: str, member: Member) -> None:
        outlet = self.outlets.get(member)
        if outlet is not None:
            outlet.groups.discard(group)
        hub = self.hubs.get(group)
        if hub is not None and hub.members.pop(member, None) is not None and not hub.members:
            await self._stop(hub)

    async def forget(self, member: Member) -> None:
        """``member`` is gone (disconnected): leave all its groups, drop what it had queued."""
        outlet = self.outlets.pop(member, None)
        if outlet is None:
            return
        outlet.close()
        for group in list(outlet.groups):
            await self.leave(group, member)

    def members(self, group: str) -> list[Member]:
        hub = self.hubs.get(group)
        return list(hub.members) if hub else []

    def _outlet(self, member: Member) -> _Outlet:
        outlet = self.outlets.get(member)
        if outlet is None:
            outlet = self.outlets[member] = _Outlet(member)
        return outlet

    async def _hub_channel(self) -> str:
        """A process-local channel named so that ``HUB_CHANNEL_PATTERN`` matches it. It keeps
        the local part's routing prefix: channels_redis reads all of a process's channels
        through one key and cannot wait on channels of two prefixes at once."""
        name = await self.layer.new_channel()
        routing, bang, local = name.partition("!")
        return f"{routing}!fanout.{local}" if bang else f"{name}!fanout.{id(self):x}"

    async def _start(self, hub: _Hub) -> None:
        try:
            hub.channel = await self._hub_channel()
            await self.layer.group_add(hub.group, hub.channel)
        except BaseException:
            if self.hubs.get(hub.group) is hub:
                del self.hubs[hub.group]
            hub.closed = True
            raise
        if not hub.closed:
            loop = asyncio.get_running_loop()
            hub.tasks = [loop.create_task(self._read(hub)), loop.create_task(self._rejoin(hub))]

    async def _stop(self, hub: _Hub) -> None:
        """Leave the layer group, then end the reader with a message of its own rather than
        by cancelling it: channels_redis reads all of a process's channels through one
        blocking pop, and after a cancelled reader a later event to another socket of this
        process was seen to go missing. Cancelled only if it does not end in time."""
        if self.hubs.get(hub.group) is hub:
            del self.hubs[hub.group]
        hub.closed = True
        if hub.started is not None:
            await asyncio.wait([hub.started])
            if hub.started.cancelled() or hub.started.exception() is not None:
                return
        try:
            await self.layer.group_discard(hub.group, hub.channel)
        except Exception:
            log.exception("Could not leave %s; the layer forgets it after group_expiry", hub.group)
        reader, *others = hub.tasks or [None]
        for task in others:
            task.cancel()
        if reader is None:
            return
        try:
            await self.layer.send(hub.channel, {"type": STOP_TYPE})
        except Exception:
            log.debug("Could not tell the reader of %s to stop", hub.group, exc_info=True)
        _done, late = await asyncio.wait([reader], timeout=STOP_SECONDS)
        for task in late:
            task.cancel()

    async def _read(self, hub: _Hub) -> None:
        while True:
            try:
                message = await self.layer.receive(hub.channel)
            except Exception:
                if hub.closed:  # a cancelled read can surface as a connection error
                    return
                log.exception("Fan-out of %s could not receive; retrying", hub.group)
                await asyncio.sleep(RETRY_SECONDS)
                await self._add(hub)
                continue
            if message.get("type") == STOP_TYPE:
                return
            if not hub.closed:
                await self._fan_out(hub, message)

    async def _rejoin(self, hub: _Hub) -> None:
        while not hub.closed:
            await asyncio.sleep(self.rejoin_seconds)
            await self._add(hub)

    async def _add(self, hub: _Hub) -> None:
        try:
            await self.layer.group_add(hub.group, hub.channel)
        except Exception:
            log.exception("Could not re-add %s to %s", hub.channel, hub.group)

    async def _fan_out(self, hub: _Hub, message: dict) -> None:
        if message.get("type") == BATCH_TYPE:
            for event in message.get("events", ()):
                await self._fan_out(hub, event)
            return
        try:
            text = json.dumps(message)
        except (TypeError, ValueError):
            log.exception("Cannot send %s to %s as JSON", message.get("type"), hub.group)
            return
        group = hub.group
        for index, outlet in enumerate(list(hub.members.values())):
            if index and not index % BATCH:
                await asyncio.sleep(0)
            if not outlet.gone and group in outlet.groups:
                outlet.put(text)


def _make_room_for_hubs(layer: Any) -> None:
    """Give hub channels ``HUB_CAPACITY`` unless the layer's settings already do."""
    get_capacity = getattr(layer, "get_capacity", None)
    compile_capacities = getattr(layer, "compile_capacities", None)
    if get_capacity is None or compile_capacities is None:
        return
    if get_capacity("specific.x!fanout.x") >= HUB_CAPACITY:
        return
    layer.channel_capacity = [
        *compile_capacities({HUB_CHANNEL_PATTERN: HUB_CAPACITY}),
        *layer.channel_capacity,
    ]
