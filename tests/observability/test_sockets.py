"""A WebSocket connection counts in the gauge from its accept to its disconnect."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from prometheus_client import REGISTRY

from sanjeevani.queueing import services
from sanjeevani.realtime.routing import websocket_urlpatterns
from tests.factories import DoctorFactory, OnlineOPDFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.realtime]

GAUGE = "sanjeevani_websocket_connections"


def _open(kind: str) -> float:
    return REGISTRY.get_sample_value(GAUGE, {"consumer": kind}) or 0.0


def _doctor_online():
    opd = OnlineOPDFactory()
    doctor = DoctorFactory()
    doctor.opds.add(opd)
    services.go_online(doctor.user, opd)
    return doctor


async def test_the_gauge_follows_a_doctor_queue_connection():
    doctor = await database_sync_to_async(_doctor_online)()
    before = _open("DoctorQueueConsumer")
    feed = WebsocketCommunicator(
        URLRouter(websocket_urlpatterns),
        "/ws/doctor/queue/",
        headers=[(b"x-request-id", b"f3b1c2d4e5a60718293a4b5c6d7e8f90")],
    )
    feed.scope["user"] = doctor.user
    assert (await feed.connect())[0]
    assert _open("DoctorQueueConsumer") == before + 1
    await feed.disconnect()
    assert _open("DoctorQueueConsumer") == before


async def test_a_refused_connection_is_not_counted():
    before = _open("DoctorQueueConsumer")
    feed = WebsocketCommunicator(URLRouter(websocket_urlpatterns), "/ws/doctor/queue/")
    connected, code = await feed.connect()
    await feed.disconnect()
    assert not connected and code == 4403
    assert _open("DoctorQueueConsumer") == before
