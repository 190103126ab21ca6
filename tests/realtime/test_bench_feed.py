"""The benchmark feed (bench/ws_feed.py) lives outside production routing, whatever DEBUG
says, and still works on the benchmark's own application, so bench/ws_capacity.py keeps
measuring the waiting rooms' fan-out path."""

from __future__ import annotations

import pytest
from channels.testing import WebsocketCommunicator
from django.urls import URLPattern

from bench.ws_feed import FEED_PATH
from bench.ws_feed import application as bench_application
from sanjeevani.config.asgi import build_application
from sanjeevani.realtime.routing import websocket_urlpatterns
from tests.realtime.conftest import ORIGIN

pytestmark = pytest.mark.realtime


def _routes(patterns: list[URLPattern]) -> list[str]:
    return [str(pattern.pattern) for pattern in patterns]


def test_production_routing_has_no_benchmark_feed(settings):
    settings.DEBUG = True
    assert not [route for route in _routes(websocket_urlpatterns) if "bench" in route]


async def test_the_project_application_refuses_the_feed():
    feed = WebsocketCommunicator(build_application(), f"/{FEED_PATH}", headers=[ORIGIN])
    with pytest.raises(ValueError, match="No route found"):
        await feed.connect()


async def test_the_bench_application_fans_a_published_event_out_to_every_feed():
    feeds = [
        WebsocketCommunicator(bench_application, f"/{FEED_PATH}", headers=[ORIGIN])
        for _ in range(3)
    ]
    for feed in feeds:
        connected, _ = await feed.connect()
        assert connected
    await feeds[0].send_json_to({"publish": 12.5})
    for feed in feeds:
        event = await feed.receive_json_from(timeout=10)
        assert (event["type"], event["t"]) == ("queue.advanced", 12.5)
    for feed in feeds:
        await feed.disconnect()
