"""The process-local fan-out of broadcast groups (``sanjeevani.realtime.fanout``): the
waiting rooms of one OPD share one layer-group membership per process and each gets every
event once, in publish order; members that leave, break or stall do not disturb the
others; the hub keeps its membership and its room. On the in-process layer (SQLite run) and
on Redis (the PostgreSQL + Redis run), where two server processes each get an event once."""

from __future__ import annotations

import asyncio
import json
import os

import pytest
import websockets
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator

from sanjeevani.accounts.models import DeviceToken
from sanjeevani.live import publisher
from sanjeevani.live.groups import doctor_group, queue_group
from sanjeevani.queueing import services
from sanjeevani.queueing.models import Queue
from sanjeevani.realtime.fanout import HUB_CAPACITY, LocalGroupFanout
from sanjeevani.realtime.layers import InMemoryChannelLayer
from sanjeevani.realtime.routing import websocket_urlpatterns
from tests.e2e.live import running_server
from tests.factories import OnlineOPDFactory, PatientFactory
from tests.polling import async_wait_until
from tests.queueing.factories import member_doctor

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.realtime]


def _waiting_opd(patients: int):
    """An OPD with a doctor online and ``patients`` patients holding a token there."""
    opd = OnlineOPDFactory()
    services.go_online(member_doctor(opd).user, opd)
    people = [PatientFactory() for _ in range(patients)]
    for person in people:
        services.join_queue(person.account, person, opd)
    assert publisher.flush(timeout=10)
    return opd, people


async def _waiting_room(opd, patient) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(
        URLRouter(websocket_urlpatterns), f"/ws/opd/{opd.pk}/waiting/"
    )
    communicator.scope["user"] = patient.account
    connected, _ = await communicator.connect()
    assert connected
    return communicator


async def _layer_members(layer, group: str) -> set[str]:
    """The channels the layer itself holds as members of ``group``."""
    if isinstance(layer, InMemoryChannelLayer):
        return set(layer.groups.get(group, {}))
    connection = layer.connection(layer.consistent_hash(group))
    return {name.decode() for name in await connection.zrange(layer._group_key(group), 0, -1)}


def _publish(group: str, *numbers: int) -> None:
    publisher.publish_now([(group, {"type": "queue.advanced", "n": n}) for n in numbers])


async def _numbers(communicator: WebsocketCommunicator, count: int) -> list[int]:
    return [(await communicator.receive_json_from(timeout=10))["n"] for _ in range(count)]


class _Recorder:
    """A member that keeps what it is sent; ``stall`` makes its sends wait until released,
    as a send into a socket whose write buffer is full does; ``broken`` makes them fail."""

    def __init__(self, stall: bool = False, broken: bool = False) -> None:
        self.texts: list[str] = []
        self.attempts = 0
        self.broken = broken
        self.gate = asyncio.Event()
        if not stall:
            self.gate.set()

    async def send(self, text_data: str | None = None) -> None:
        self.attempts += 1
        if self.broken:
            raise ConnectionResetError("the client went away")
        await self.gate.wait()
        self.texts.append(text_data)

    @property
    def numbers(self) -> list[int]:
        return [json.loads(text)["n"] for text in self.texts]


async def test_waiting_rooms_of_one_opd_get_each_event_once_and_in_order():
    opd, people = await database_sync_to_async(_waiting_opd)(3)
    group = queue_group(await database_sync_to_async(_queue_id)(opd))
    rooms = [await _waiting_room(opd, person) for person in people]
    layer = get_channel_layer()
    members = await _layer_members(layer, group)
    assert len(members) == 1 and "!fanout." in members.pop()
    assert len(LocalGroupFanout.of(layer).members(group)) == 3

    await asyncio.to_thread(_publish, group, *range(6))  # one live.batch message, unpacked
    for room in rooms:
        assert await _numbers(room, 6) == list(range(6))
    await asyncio.to_thread(_publish, group, 99)
    for room in rooms:
        assert await _numbers(room, 1) == [99]
        await room.disconnect()


async def test_a_member_that_leaves_gets_nothing_more_and_the_last_one_leaves_the_group():
    opd, people = await database_sync_to_async(_waiting_opd)(2)
    group = queue_group(await database_sync_to_async(_queue_id)(opd))
    staying, leaving = [await _waiting_room(opd, person) for person in people]
    layer = get_channel_layer()
    fanout = LocalGroupFanout.of(layer)
    hub_channel = fanout.hubs[group].channel
    assert await _layer_members(layer, group) == {hub_channel}

    await leaving.disconnect()
    assert len(fanout.members(group)) == 1
    await asyncio.to_thread(_publish, group, 1)
    assert await _numbers(staying, 1) == [1]
    assert await _layer_members(layer, group) == {hub_channel}

    await staying.disconnect()
    assert group not in fanout.hubs and fanout.members(group) == []
    assert await _layer_members(layer, group) == set()


async def test_the_last_member_leaving_loses_nothing_meant_for_another_consumer():
    """The hub's reader is ended by a message of its own, not cancelled: on Redis, one
    blocking pop reads all of a process's channels, and after a reader was cancelled a
    later event to another socket of the process went missing (the waiting room's
    ``ticket.completed`` in tests/queueing/test_queue_sockets.py, run as a file)."""
    layer = get_channel_layer()
    fanout = LocalGroupFanout.of(layer)
    member = _Recorder()
    await fanout.join("queue.stopping", member)
    await fanout.ready(member)
    hub = fanout.hubs["queue.stopping"]
    other = await layer.new_channel()
    waiting = asyncio.ensure_future(layer.receive(other))
    await asyncio.sleep(0.2)  # both readers are blocked on the layer now

    reader = hub.tasks[0]
    await fanout.leave("queue.stopping", member)
    assert reader.done() and not reader.cancelled()
    await layer.send(other, {"type": "ticket.completed", "n": 1})
    assert (await asyncio.wait_for(waiting, timeout=10))["n"] == 1


async def test_a_broken_or_stalled_member_does_not_hold_up_the_others():
    opd, people = await database_sync_to_async(_waiting_opd)(1)
    group = queue_group(await database_sync_to_async(_queue_id)(opd))
    fanout = LocalGroupFanout.of(get_channel_layer())
    broken, stalled = _Recorder(broken=True), _Recorder(stall=True)
    for member in (broken, stalled):
        await fanout.join(group, member)
        await fanout.ready(member)
    room = await _waiting_room(opd, people[0])

    await asyncio.to_thread(_publish, group, 1, 2, 3)
    assert await _numbers(room, 3) == [1, 2, 3]
    assert broken.attempts == 3
    assert stalled.attempts == 1 and stalled.texts == []

    stalled.gate.set()
    await async_wait_until(lambda: len(stalled.texts) == 3, timeout=5)
    assert stalled.numbers == [1, 2, 3]
    await room.disconnect()
    await fanout.forget(broken)
    await fanout.forget(stalled)
    assert group not in fanout.hubs


async def test_frames_wait_for_a_member_until_it_is_ready():
    opd, people = await database_sync_to_async(_waiting_opd)(1)
    group = queue_group(await database_sync_to_async(_queue_id)(opd))
    fanout = LocalGroupFanout.of(get_channel_layer())
    room = await _waiting_room(opd, people[0])
    joining = _Recorder()
    await fanout.join(group, joining)

    await asyncio.to_thread(_publish, group, 1, 2)
    assert await _numbers(room, 2) == [1, 2]
    assert joining.texts == []
    await fanout.ready(joining)
    await asyncio.to_thread(_publish, group, 3)
    assert await _numbers(room, 1) == [3]
    assert joining.numbers == [1, 2, 3]
    await fanout.forget(joining)
    await room.disconnect()


async def test_a_burst_beyond_the_layer_capacity_reaches_the_member_whole():
    layer = get_channel_layer()
    fanout = LocalGroupFanout.of(layer)
    member = _Recorder()
    group = queue_group("burst")
    await fanout.join(group, member)
    await fanout.ready(member)
    assert layer.get_capacity(fanout.hubs[group].channel) >= HUB_CAPACITY
    count = layer.capacity + 50
    for n in range(count):
        await layer.group_send(group, {"type": "queue.advanced", "n": n})
    await async_wait_until(lambda: len(member.texts) == count, timeout=10)
    assert member.numbers == list(range(count))
    await fanout.forget(member)


async def test_the_hub_renews_its_membership_before_the_layer_expires_it():
    layer = InMemoryChannelLayer(group_expiry=2)
    fanout = LocalGroupFanout.of(layer)
    assert fanout.rejoin_seconds == 1
    member = _Recorder()
    await fanout.join("queue.renewed", member)
    await fanout.ready(member)
    await asyncio.sleep(4)  # the point: twice group_expiry, which only renewal survives
    await layer.group_send("queue.renewed", {"type": "queue.advanced", "n": 7})
    await async_wait_until(lambda: member.texts, timeout=5)
    assert member.numbers == [7]
    await fanout.forget(member)


async def _until(communicator: WebsocketCommunicator, wanted) -> dict:
    for _ in range(20):
        event = await communicator.receive_json_from(timeout=10)
        if wanted(event):
            return event
    raise AssertionError("the event did not come")


def _queue_id(opd) -> str:
    return str(Queue.objects.for_opd(opd).pk)


def _doctor_on_two_opds():
    first, second = OnlineOPDFactory(), OnlineOPDFactory()
    doctor = member_doctor(first)
    doctor.opds.add(second)
    services.go_online(doctor.user, first)
    assert publisher.flush(timeout=10)
    return first, second, doctor


async def test_a_doctors_queue_moves_with_the_doctor_to_another_opd():
    first, second, doctor = await database_sync_to_async(_doctor_on_two_opds)()
    old_group = queue_group(await database_sync_to_async(_queue_id)(first))
    new_group = queue_group(await database_sync_to_async(_queue_id)(second))
    feed = WebsocketCommunicator(URLRouter(websocket_urlpatterns), "/ws/doctor/queue/")
    feed.scope["user"] = doctor.user
    assert (await feed.connect())[0]
    layer = get_channel_layer()
    fanout = LocalGroupFanout.of(layer)
    assert len(fanout.members(old_group)) == 1

    await database_sync_to_async(services.go_online)(doctor.user, second)
    moved = await _until(feed, lambda event: event["type"] == "presence.changed")
    assert moved["opd"] == str(second.pk)
    assert moved["queue"] == new_group.removeprefix("queue.")
    assert fanout.members(old_group) == [] and await _layer_members(layer, old_group) == set()
    assert len(fanout.members(new_group)) == 1
    assert await _layer_members(layer, new_group) == {fanout.hubs[new_group].channel}

    await asyncio.to_thread(_publish, new_group, 5)
    assert (await _until(feed, lambda event: event.get("n") is not None))["n"] == 5
    await feed.disconnect()


def _two_node_world():
    opd, people = _waiting_opd(2)
    keys = [DeviceToken.objects.issue(person.account).key for person in people]
    return opd, keys


async def _open_rooms(bases: list[str], opd, keys: list[str]) -> list:
    rooms = []
    for base in bases:
        for key in keys:
            url = base.replace("http", "ws", 1) + f"/ws/opd/{opd.pk}/waiting/"
            rooms.append(
                await websockets.connect(
                    url, origin=base, additional_headers={"Authorization": f"Token {key}"}
                )
            )
    return rooms


async def _next_event(ws) -> dict:
    return json.loads(await asyncio.wait_for(ws.recv(), 15))


@pytest.mark.skipif(
    not os.environ.get("REDIS_URL"),
    reason="needs Redis: two server processes share the channel layer only through it; "
    "set REDIS_URL (.ci/run does)",
)
def test_two_server_processes_each_get_an_event_once_through_redis():
    opd, keys = _two_node_world()
    group = queue_group(_queue_id(opd))

    async def scenario(bases: list[str]) -> None:
        rooms = await _open_rooms(bases, opd, keys)
        layer = get_channel_layer()
        members = await _layer_members(layer, group)
        assert len(members) == 2 and all("!fanout." in name for name in members)

        newcomer = await database_sync_to_async(PatientFactory)()
        await database_sync_to_async(services.join_queue)(newcomer.account, newcomer, opd)
        await asyncio.to_thread(_publish, group, 99)
        for ws in rooms:
            joined = await _next_event(ws)
            assert (joined["type"], joined["change"]) == ("queue.advanced", "joined")
            assert (await _next_event(ws))["n"] == 99
        for ws in rooms:
            await ws.close()

    with running_server() as node_a, running_server() as node_b:
        asyncio.run(scenario([node_a, node_b]))


async def test_the_doctors_feed_forwards_every_event_sent_to_the_doctor():
    """Every event of ``doctor.<id>`` reaches the doctor's feed; one it had no handler for
    (``consultation.mode``) used to close the socket the workspace follows the state on."""
    first, _second, doctor = await database_sync_to_async(_doctor_on_two_opds)()
    feed = WebsocketCommunicator(URLRouter(websocket_urlpatterns), "/ws/doctor/queue/")
    feed.scope["user"] = doctor.user
    assert (await feed.connect())[0]
    layer = get_channel_layer()
    for kind in ("consultation.mode", "consultation.status", "consultation.assigned"):
        await layer.group_send(doctor_group(doctor.pk), {"type": kind, "consultation": "c"})
        assert (await _until(feed, lambda event, kind=kind: event["type"] == kind))["type"] == kind
    await feed.disconnect()
