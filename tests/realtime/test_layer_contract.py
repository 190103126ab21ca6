"""What ``sanjeevani.realtime.layers`` (and the fan-out's capacity tweak in
``sanjeevani.realtime.fanout``) take from the private parts of channels and channels-redis.

Those parts may change in any release; pyproject.toml pins both packages to the series
tested here. After an upgrade this file is the one that fails, naming what moved, before a
waiting room quietly stops receiving events. Widen the pins only with it green.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import time
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest
from channels.layers import BaseChannelLayer
from channels.layers import InMemoryChannelLayer as ChannelsInMemoryChannelLayer
from channels_redis.core import RedisChannelLayer as ChannelsRedisChannelLayer
from packaging.requirements import Requirement

from sanjeevani.realtime.layers import InMemoryChannelLayer, RedisChannelLayer

pytestmark = pytest.mark.realtime

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def _parameters(function) -> list[str]:
    return list(inspect.signature(function).parameters)


def _pins() -> dict[str, Requirement]:
    dependencies = tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"]
    return {req.name: req for req in map(Requirement, dependencies)}


@pytest.mark.parametrize("package", ["channels", "channels-redis"])
def test_the_installed_version_is_inside_the_pinned_range(package):
    pin = _pins()[package]
    assert pin.specifier, f"{package} has no version range in pyproject.toml"
    assert "<" in str(pin.specifier), f"{package} has no upper bound in pyproject.toml"
    assert pin.specifier.contains(version(package)), (package, version(package), str(pin))


def test_the_in_memory_layer_methods_overridden_keep_their_signatures():
    base = ChannelsInMemoryChannelLayer
    assert _parameters(base.__init__)[:5] == [
        "self",
        "expiry",
        "group_expiry",
        "capacity",
        "channel_capacity",
    ]
    assert _parameters(base.new_channel) == ["self", "prefix"]
    assert inspect.signature(base.new_channel).parameters["prefix"].default == "specific."
    assert _parameters(base.group_add) == ["self", "group", "channel"]
    assert _parameters(base.group_send) == ["self", "group", "message"]
    assert _parameters(base._clean_expired) == ["self"]
    assert _parameters(base.get_capacity) == ["self", "channel"]
    assert _parameters(base.require_valid_group_name) == ["self", "name"]
    assert _parameters(BaseChannelLayer.compile_capacities) == ["self", "channel_capacity"]


async def test_the_in_memory_layer_keeps_its_state_where_the_override_writes_it():
    """``group_send`` reads ``groups`` (group -> {channel: joined at}) and puts
    ``(expires at, message)`` straight into the asyncio queues of ``channels``, which the
    inherited ``receive`` and ``_clean_expired`` read back; ``expiry`` and ``get_capacity``
    are the settings it honours."""

    base = ChannelsInMemoryChannelLayer(expiry=30)
    assert base.expiry == 30
    channel = await base.new_channel()
    await base.group_add("contract", channel)
    joined = base.groups["contract"][channel]
    assert isinstance(joined, float) and abs(joined - time.time()) < 5
    await base.send(channel, {"type": "x"})
    queue = base.channels[channel]
    assert isinstance(queue, asyncio.Queue)
    expires, message = queue.get_nowait()
    assert message == {"type": "x"}
    assert abs(expires - (time.time() + 30)) < 5

    ours = InMemoryChannelLayer()
    channel = await ours.new_channel()
    assert ours.loop is asyncio.get_running_loop()
    await ours.group_add("contract", channel)
    await ours.group_send("contract", {"type": "y"})
    assert await asyncio.wait_for(ours.receive(channel), 5) == {"type": "y"}


async def test_the_in_memory_cleaning_still_expires_what_the_override_queues():
    layer = InMemoryChannelLayer(expiry=-1)  # expired as soon as queued
    channel = await layer.new_channel()
    await layer.group_add("contract", channel)
    await layer.group_send("contract", {"type": "stale"})
    layer._cleaned_at = 0.0
    layer._clean_expired()
    assert channel not in layer.channels
    assert channel not in layer.groups.get("contract", {})


@pytest.mark.parametrize("layer_class", [InMemoryChannelLayer, RedisChannelLayer])
def test_capacities_are_pattern_pairs_the_fan_out_can_put_in_front(layer_class):
    """``fanout._make_room_for_hubs`` prepends compiled ``(pattern, capacity)`` pairs to
    ``channel_capacity``, which ``get_capacity`` reads in order."""
    layer = layer_class()
    layer.channel_capacity = [
        *layer.compile_capacities({"*!fanout.*": 7}),
        *layer.channel_capacity,
    ]
    assert layer.get_capacity("specific.abc!fanout.x") == 7
    assert layer.get_capacity("specific.abc!other") == layer.capacity


def test_the_redis_layer_parts_used_by_groups_with_members_exist():
    base = ChannelsRedisChannelLayer
    assert "group_expiry" in _parameters(base.__init__)
    assert _parameters(base.consistent_hash) == ["self", "value"]
    assert _parameters(base.connection) == ["self", "index"]
    assert _parameters(base._group_key) == ["self", "group"]

    layer = RedisChannelLayer(hosts=["redis://127.0.0.1:1/0"], prefix="sanjeevani-contract")
    assert layer.group_expiry == 86400
    assert layer._group_key("g") == b"sanjeevani-contract:group:g"
    assert layer.consistent_hash("g") in range(layer.ring_size)


@pytest.mark.skipif(
    not os.environ.get("REDIS_URL"),
    reason="needs REDIS_URL (group membership is read from Redis; .ci/run sets it)",
)
async def test_redis_keeps_a_group_as_a_sorted_set_of_channels_scored_by_join_time():
    """What ``groups_with_members`` prunes (``zremrangebyscore`` up to now - group_expiry)
    and counts (``zcard``)."""

    layer = RedisChannelLayer(hosts=[os.environ["REDIS_URL"]], prefix="sanjeevani-contract")
    try:
        channel = await layer.new_channel()
        await layer.group_add("contract", channel)
        connection = layer.connection(layer.consistent_hash("contract"))
        key = layer._group_key("contract")
        assert await connection.type(key) == b"zset"
        joined = await connection.zscore(key, channel)
        assert abs(joined - time.time()) < 5
        assert await layer.groups_with_members(["contract", "nobody"]) == {"contract"}
        await layer.group_discard("contract", channel)
        assert await layer.groups_with_members(["contract"]) == set()
    finally:
        await layer.flush()
