"""Mobile apps open the live feeds with their API token instead of a session cookie."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from sanjeevani.accounts.models import DeviceToken
from sanjeevani.config.asgi import application
from sanjeevani.queueing import services
from tests.factories import OnlineOPDFactory, PatientFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.realtime]


def _patient_with_ticket():
    opd = OnlineOPDFactory()
    patient = PatientFactory()
    services.join_queue(patient.account, patient, opd)
    return opd, DeviceToken.objects.issue(patient.account).key


def _socket(path: str, authorization: str | None) -> WebsocketCommunicator:
    headers = [(b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1")]
    if authorization:
        headers.append((b"authorization", authorization.encode()))
    return WebsocketCommunicator(application, path, headers=headers)


async def test_waiting_room_accepts_the_patients_api_token():
    opd, key = await database_sync_to_async(_patient_with_ticket)()
    socket = _socket(f"/ws/opd/{opd.pk}/waiting/", f"Token {key}")
    connected, _ = await socket.connect()
    assert connected
    await socket.disconnect()


@pytest.mark.parametrize("authorization", [None, "Token not-a-real-key", "Bearer abc"])
async def test_waiting_room_refuses_without_a_valid_token(authorization):
    opd, _key = await database_sync_to_async(_patient_with_ticket)()
    feed = _socket(f"/ws/opd/{opd.pk}/waiting/", authorization)
    connected, _ = await feed.connect()
    await feed.disconnect()
    assert not connected
