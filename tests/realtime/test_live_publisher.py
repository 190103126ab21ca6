"""Publishing after commit (``sanjeevani.live.publisher``): events reach the consumers'
loop in the order they were published, from the thread a service runs in, on the in-process
layer (SQLite run) and on Redis (the PostgreSQL + Redis run); a network layer is fed from
one background loop without the caller waiting; a failing send is logged, not raised."""

from __future__ import annotations

import asyncio
import logging
import os
import threading

import pytest
from channels.layers import BaseChannelLayer, get_channel_layer
from django.db import transaction

from sanjeevani.live import publisher
from sanjeevani.live.groups import queue_group, room_group, ticket_group

pytestmark = pytest.mark.realtime


def _on_own_loop(scenario) -> None:
    """Run an async scenario on a fresh loop in its own thread: a browser test's sync
    Playwright may still hold a running loop on the main thread when these run."""
    failures: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(scenario())
        except BaseException as error:
            failures.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(30)
    if failures:
        raise failures[0]
    assert not thread.is_alive()


async def _listen(*groups: str) -> tuple[object, str]:
    layer = get_channel_layer()
    channel = await layer.new_channel()
    for group in groups:
        await layer.group_add(group, channel)
    return layer, channel


def test_events_from_a_service_thread_arrive_in_order():
    _on_own_loop(_events_arrive_in_order)


async def _events_arrive_in_order() -> None:
    group = queue_group("a1b2")
    layer, channel = await _listen(group)

    def service_thread() -> None:
        for n in range(40):
            publisher.publish_now([(group, {"type": "queue.advanced", "n": n})])

    await asyncio.to_thread(service_thread)
    received: list[int] = []
    while len(received) < 40:
        message = await asyncio.wait_for(layer.receive(channel), 5)
        # a broadcast group's burst may come as one live.batch (its fan-out hub unpacks it)
        events = message["events"] if message["type"] == publisher.BATCH_TYPE else [message]
        received += [event["n"] for event in events]
    assert received == list(range(40))


def test_a_burst_to_a_broadcast_group_is_one_message_and_personal_groups_are_not_batched():
    _on_own_loop(_burst_is_batched)


async def _burst_is_batched() -> None:
    queue, personal = queue_group("c3d4"), ticket_group("t9")
    layer, channel = await _listen(queue, personal)
    batch = [(queue, {"type": "queue.advanced", "n": n}) for n in range(5)]
    batch += [(personal, {"type": "ticket.called", "n": n}) for n in range(2)]
    await asyncio.to_thread(publisher.publish_now, batch)
    messages = [await asyncio.wait_for(layer.receive(channel), 5) for _ in range(3)]
    batches = [m for m in messages if m["type"] == publisher.BATCH_TYPE]
    assert len(batches) == 1
    assert [e["n"] for e in batches[0]["events"]] == [0, 1, 2, 3, 4]
    assert [m["n"] for m in messages if m["type"] == "ticket.called"] == [0, 1]


def test_one_batch_reaches_every_group_it_names():
    _on_own_loop(_batch_reaches_every_group)


async def _batch_reaches_every_group() -> None:
    first, second = ticket_group("t1"), room_group("7c9e6679-7425-40de-944b-e07fc1f90ae7")
    layer, channel = await _listen(first, second)
    batch = [(first, {"type": "ticket.called", "n": 1}), (second, {"type": "room.event", "n": 2})]
    await asyncio.to_thread(publisher.publish_now, batch)
    got = {(await asyncio.wait_for(layer.receive(channel), 5))["n"] for _ in range(2)}
    assert got == {1, 2}


@pytest.mark.django_db(transaction=True)
def test_nothing_is_sent_when_the_transaction_rolls_back(monkeypatch):
    sent: list = []
    monkeypatch.setattr(publisher, "publish_now", sent.append)
    with pytest.raises(RuntimeError), transaction.atomic():
        publisher.publish_after_commit("ticket.x", {"type": "ticket.called"})
        raise RuntimeError("rolled back")
    with transaction.atomic():
        publisher.publish_after_commit("ticket.y", {"type": "ticket.called"})
    assert sent == [[("ticket.y", {"type": "ticket.called"})]]


class _RecordingLayer(BaseChannelLayer):
    """A network-like layer: records each send, its thread, and fails where told to."""

    def __init__(self, fail_on: int | None = None) -> None:
        super().__init__()
        self.sent: list[tuple[str, int, str]] = []
        self.messages = 0
        self.fail_on = fail_on

    async def group_send(self, group: str, message: dict) -> None:
        await asyncio.sleep(0)
        events = message["events"] if message["type"] == publisher.BATCH_TYPE else [message]
        if any(event["n"] == self.fail_on for event in events):
            raise ConnectionError("redis went away")
        self.messages += 1
        for event in events:
            self.sent.append((group, event["n"], threading.current_thread().name))


def test_a_network_layer_is_fed_from_one_background_loop_in_order(monkeypatch):
    layer = _RecordingLayer()
    monkeypatch.setattr(publisher, "get_channel_layer", lambda: layer)
    groups = [
        queue_group("o"),
        ticket_group("t"),
        room_group("7c9e6679742540de944be07fc1f90ae7"),
    ]
    for n in range(90):
        publisher.publish_now([(groups[n % 3], {"type": "x", "n": n})])
    assert publisher.flush(5)
    assert len(layer.sent) == 90
    # the 60 personal events go one by one; the broadcast group's 30 share messages
    assert 30 < layer.messages < 90
    assert {thread for _group, _n, thread in layer.sent} == {"live-events"}
    for group in groups:
        numbers = [n for g, n, _thread in layer.sent if g == group]
        assert numbers == sorted(numbers) and len(numbers) == 30


def test_a_failed_send_is_logged_and_the_rest_still_goes_out(monkeypatch, caplog):
    layer = _RecordingLayer(fail_on=1)
    monkeypatch.setattr(publisher, "get_channel_layer", lambda: layer)
    with caplog.at_level(logging.ERROR, logger="sanjeevani.live.publisher"):
        publisher.publish_now([("g", {"type": "x", "n": n}) for n in range(3)])
        assert publisher.flush(5)
    assert [n for _g, n, _t in layer.sent] == [0, 2]
    assert "Could not publish x to g" in caplog.text


class _AskingLayer(_RecordingLayer):
    """Also answers which groups have members, as the Redis layer does."""

    def __init__(self, heard: set[str]) -> None:
        super().__init__()
        self.heard = heard
        self.asked: list[list[str]] = []

    async def groups_with_members(self, groups) -> set[str]:
        self.asked.append(sorted(groups))
        return {group for group in groups if group in self.heard}


def test_groups_nobody_listens_to_are_not_sent_to(monkeypatch):
    heard, unheard = ticket_group("heard"), ticket_group("nobody")
    layer = _AskingLayer({heard})
    monkeypatch.setattr(publisher, "get_channel_layer", lambda: layer)
    publisher.publish_now([(heard, {"type": "x", "n": 1}), (unheard, {"type": "x", "n": 2})])
    assert publisher.flush(5)
    assert [(group, n) for group, n, _thread in layer.sent] == [(heard, 1)]
    assert layer.asked == [sorted([heard, unheard])]


@pytest.mark.skipif(
    not os.environ.get("REDIS_URL"),
    reason="needs REDIS_URL (the membership question goes to Redis; .ci/run sets it)",
)
def test_the_redis_layer_tells_which_groups_have_members():
    _on_own_loop(_redis_groups_with_members)


async def _redis_groups_with_members() -> None:
    listened, silent = ticket_group("listened-t"), ticket_group("silent-t")
    layer, channel = await _listen(listened)
    assert await layer.groups_with_members([listened, silent]) == {listened}
    await layer.group_discard(listened, channel)
    assert await layer.groups_with_members([listened, silent]) == set()
