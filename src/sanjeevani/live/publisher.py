"""Handing events to the channel layer, after commit, without holding up the service.

The caller is a request thread, a consumer's database thread or a worker; it must not wait
for the layer. ``async_to_sync`` per event starts a thread and an event loop whenever no loop
is around (about 1.6 ms per claim in bench/queue_claim.py), so instead:

- a network layer (Redis) is fed from one long-lived event loop per process, running in a
  background thread; channels_redis keeps its connection pools per loop, so one loop keeps
  reusing the same connections;
- the in-process layer holds asyncio queues that belong to the loop its consumers run on and
  are not thread-safe: the events go to that loop with ``call_soon_threadsafe`` (the layer
  names the loop as ``loop``, see ``sanjeevani.realtime.layers``). When no such loop is
  running (a management command, a test without sockets) ``async_to_sync`` sends them.

Events published to one group arrive in the order they were published: each loop drains its
hand-over in order, one group's events one after another, different groups side by side.
Broadcast events (``live.groups.is_broadcast_group``: an OPD's ``queue.advanced``) wait up
to ``LINGER_SECONDS`` for their neighbours and then go as one
``{"type": "live.batch", "events": [...]}`` message per group, which its fan-out hubs unpack
in order: under load a claim then shares its Redis send (about 0.27 ms of CPU, two round
trips) with the others of that tenth of a second. A personal event (a call, a missed call,
an assignment) cuts the wait short; personal groups get one message per event.
Sending is fire-and-forget: a failure is logged, never raised, because the database is the
truth and every client can re-read it. ``flush`` waits for what is still on its way (at exit,
and for callers that need it sent before they go on).
"""

from __future__ import annotations

import asyncio
import atexit
import collections
import contextlib
import logging
import os
import threading
import weakref
from collections.abc import Iterable
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.db import transaction

from sanjeevani.observability.context import current_request_id

from .groups import is_broadcast_group

log = logging.getLogger(__name__)

Message = tuple[str, dict[str, Any]]

#: Groups sent to at the same time from one drain; bounds the connections a backlog opens.
PARALLEL_GROUPS = 16
#: How long broadcast events wait for more before they are sent (seconds); a waiting room
#: cannot tell a tenth of a second, and bench/queue_claim.py can.
LINGER_SECONDS = 0.1
#: The most events one ``live.batch`` message carries.
BATCH_EVENTS = 200
BATCH_TYPE = "live.batch"


class _Outbox:
    """Batches handed over to one event loop and sent from it, in order per group.

    Any thread appends to ``pending`` (a deque: appends and pops are thread-safe) and wakes
    the loop only when no drain is scheduled or running: a drain looks at ``pending`` again
    before it ends. So a burst of hand-overs from many threads costs the loop one wake-up
    (a wake-up is a thread switch, which cost more than the send under load)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.pending: collections.deque[tuple[Any, list[Message]]] = collections.deque()
        self.task: asyncio.Task | None = None
        self._scheduled = False
        self._urgent = False
        self._lock = threading.Lock()
        self._hurry = asyncio.Event()

    def post(self, layer: Any, batch: list[Message]) -> None:
        """Thread-safe; returns at once."""
        urgent = not all(is_broadcast_group(group) for group, _event in batch)
        self.pending.append((layer, batch))
        with self._lock:
            wake = not self._scheduled or (urgent and not self._urgent)
            self._scheduled = True
            self._urgent = self._urgent or urgent
        if wake:
            self.loop.call_soon_threadsafe(self._wake)

    def _wake(self) -> None:
        if self._urgent:
            self._hurry.set()
        if self.task is None:
            self.task = self.loop.create_task(self._drain())

    async def _drain(self) -> None:
        limit = asyncio.Semaphore(PARALLEL_GROUPS)
        try:
            while True:
                if not self._urgent:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._hurry.wait(), LINGER_SECONDS)
                with self._lock:
                    self._urgent = False
                    self._hurry.clear()
                lanes: dict[tuple[int, str], tuple[Any, str, list[dict]]] = {}
                while self.pending:
                    layer, batch = self.pending.popleft()
                    for group, event in batch:
                        lanes.setdefault((id(layer), group), (layer, group, []))[2].append(event)
                await self._skip_unheard(lanes)
                await asyncio.gather(*(self._send(limit, *lane) for lane in lanes.values()))
                with self._lock:
                    if not self.pending:
                        self._scheduled = False
                        return
        finally:
            self.task = None
            with self._lock:  # also after a cancelled drain: the next post wakes
                self._scheduled = False

    @staticmethod
    async def _skip_unheard(lanes: dict[tuple[int, str], tuple[Any, str, list[dict]]]) -> None:
        """Drop the lanes of groups without members, on layers that can tell for many
        groups at once (``groups_with_members``, see ``sanjeevani.realtime.layers``)."""
        by_layer: dict[int, tuple[Any, list[str]]] = {}
        for (layer_id, group), (layer, _group, _events) in lanes.items():
            if hasattr(layer, "groups_with_members"):
                by_layer.setdefault(layer_id, (layer, []))[1].append(group)
        for layer_id, (layer, groups) in by_layer.items():
            try:
                heard = await layer.groups_with_members(groups)
            except Exception:
                log.exception("Could not ask for the members of %d group(s)", len(groups))
                continue
            for group in groups:
                if group not in heard:
                    del lanes[(layer_id, group)]

    @staticmethod
    async def _send(limit: asyncio.Semaphore, layer: Any, group: str, events: list[dict]) -> None:
        if is_broadcast_group(group) and len(events) > 1:
            messages = [
                {"type": BATCH_TYPE, "events": events[start : start + BATCH_EVENTS]}
                for start in range(0, len(events), BATCH_EVENTS)
            ]
        else:
            messages = events
        async with limit:
            for message in messages:
                try:
                    await layer.group_send(group, message)
                except Exception:
                    log.exception("Could not publish %s to %s", message.get("type"), group)

    async def _settled(self) -> None:
        while self.task is not None or self.pending:
            if self.task is None:
                self.task = self.loop.create_task(self._drain())
            await asyncio.shield(self.task)

    def flush(self, timeout: float) -> bool:
        """Wait (from another thread) until everything handed over has been sent."""
        if self.loop.is_closed() or not self.loop.is_running():
            return not self.pending
        future = asyncio.run_coroutine_threadsafe(self._settled(), self.loop)
        try:
            future.result(timeout)
        except TimeoutError:
            return False
        return True


_lock = threading.Lock()
_background: tuple[int, _Outbox] | None = None
_on_loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Outbox] = (
    weakref.WeakKeyDictionary()
)


def _background_outbox() -> _Outbox:
    """This process's publishing loop, started on first use (again after a fork)."""
    global _background
    current = _background
    if current is not None and current[0] == os.getpid():
        return current[1]
    with _lock:
        if _background is None or _background[0] != os.getpid():
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="live-events", daemon=True).start()
            _background = (os.getpid(), _Outbox(loop))
        return _background[1]


def _outbox_on(loop: asyncio.AbstractEventLoop) -> _Outbox:
    outbox = _on_loops.get(loop)
    if outbox is None:
        with _lock:
            outbox = _on_loops.setdefault(loop, _Outbox(loop))
    return outbox


def _outbox_for(layer: Any) -> _Outbox | None:
    """Where events for ``layer`` are sent from; None: send them here and now."""
    if not isinstance(layer, InMemoryChannelLayer):
        return _background_outbox()
    loop = getattr(layer, "loop", None)
    if loop is None or loop.is_closed() or not loop.is_running():
        return None
    return _outbox_on(loop)


async def _send_in_order(layer: Any, batch: list[Message]) -> None:
    for group, event in batch:
        await layer.group_send(group, event)


def with_request_id(messages: Iterable[Message], request_id: str) -> list[Message]:
    """Each event with ``request_id`` (the request or connection that caused it), unless it
    names one already; unchanged outside a request."""
    if not request_id:
        return list(messages)
    return [
        (group, event if "request_id" in event else {**event, "request_id": request_id})
        for group, event in messages
    ]


def publish_now(messages: Iterable[Message]) -> None:
    """Hand ``(group, event)`` pairs to the channel layer and return without waiting."""
    batch = with_request_id(messages, current_request_id())
    layer = get_channel_layer()
    if layer is None or not batch:
        return
    try:
        outbox = _outbox_for(layer)
        if outbox is None:
            async_to_sync(_send_in_order)(layer, batch)
        else:
            outbox.post(layer, batch)
    except Exception:
        log.exception("Could not publish %d event(s) to the channel layer", len(batch))


def publish_after_commit(group: str, event: dict[str, Any]) -> None:
    """Send ``event`` (a dict with ``type`` and JSON-safe values) to ``group`` once the
    current transaction commits; nothing is sent if it rolls back."""
    publish_many_after_commit([(group, event)])


def publish_many_after_commit(messages: Iterable[Message]) -> None:
    """Several events in one hand-over to the channel layer."""
    batch = with_request_id(messages, current_request_id())
    if batch:
        transaction.on_commit(lambda: publish_now(batch))


def flush(timeout: float = 5.0) -> bool:
    """Wait until the events this process handed over have left; False on timeout."""
    current = _background
    if current is None or current[0] != os.getpid():
        return True
    return current[1].flush(timeout)


atexit.register(flush)
