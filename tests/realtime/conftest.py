"""Room fixtures: a consultation, its people, and helpers to join its WebSocket."""

from __future__ import annotations

import pytest
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator

from sanjeevani.config.asgi import application
from sanjeevani.realtime import tokens
from tests.realtime.factories import ConsultationFactory

ORIGIN = (b"origin", b"http://testserver")


@pytest.fixture(autouse=True)
def _fresh_channel_layer():
    """Each async test runs on its own event loop; a Redis channel layer holds locks bound
    to the loop that created it, so every test gets a new layer object."""
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


@pytest.fixture
def consultation(db):
    return ConsultationFactory()


@pytest.fixture
def doctor_user(consultation):
    return consultation.doctor.user


@pytest.fixture
def patient_user(consultation):
    return consultation.patient.account


async def open_room(consultation_id, token: str, session: str = "") -> WebsocketCommunicator:
    path = f"/ws/room/{consultation_id}/?token={token}"
    if session:
        path += f"&session={session}"
    communicator = WebsocketCommunicator(application, path, headers=[ORIGIN])
    connected, _ = await communicator.connect()
    assert connected
    return communicator


async def join(consultation_id, user) -> tuple[WebsocketCommunicator, dict]:
    """Join with a fresh token; returns the connection and its welcome message."""
    communicator = await open_room(consultation_id, tokens.issue_token(consultation_id, user.pk))
    welcome = await communicator.receive_json_from(timeout=15)  # a loaded CI machine
    assert welcome["type"] == "welcome", welcome
    return communicator, welcome


async def receive_until(communicator: WebsocketCommunicator, kind: str, timeout: float = 5):
    """Skip other messages until one of ``kind`` arrives."""
    while True:
        message = await communicator.receive_json_from(timeout=timeout)
        if message["type"] == kind:
            return message


async def refused(communicator: WebsocketCommunicator) -> tuple[dict, dict]:
    """The error message and the close frame of a refused connection. The connection is
    then ended as a server ends it (``websocket.disconnect``), so that the consumer stops
    by itself rather than being cancelled with the test's event loop: cancelling both a
    consumer and its channels_redis receive at once can leave the receive waiting for
    ever, and the loop's shutdown with it."""
    error = await communicator.receive_json_from(timeout=5)
    close = await communicator.receive_output(timeout=5)
    assert close["type"] == "websocket.close"
    await communicator.disconnect()
    return error, close
