"""Chat in the room is limited per user: past the rate the sender gets an error message it
can show (with the seconds to wait), the room stays open, and nothing is stored."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from channels.layers import channel_layers

from sanjeevani.realtime.models import ChatMessage
from tests.realtime.conftest import join, receive_until
from tests.realtime.factories import ConsultationFactory

pytestmark = [pytest.mark.realtime, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _in_process_layer(settings):
    """One consumer in this process: the in-process layer, fresh for this test's loop
    (see tests/realtime/test_room_consumer.py for why not Redis here)."""
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "sanjeevani.realtime.layers.InMemoryChannelLayer"}
    }
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


async def test_chat_past_the_rate_is_an_error_not_a_closed_room(settings):
    settings.RATE_LIMITS = {"room.chat": {"user": "2/min"}}
    consultation = await database_sync_to_async(ConsultationFactory)()
    room, _welcome = await join(consultation.pk, consultation.doctor.user)
    for n in range(2):
        await room.send_json_to({"type": "chat", "text": f"line {n}", "client_id": f"c{n}"})
        ack = await receive_until(room, "chat-ack")
        assert ack["client_id"] == f"c{n}"
    await room.send_json_to({"type": "chat", "text": "line 2", "client_id": "c2"})
    error = await receive_until(room, "error")
    assert error["code"] == "rate_limited"
    assert error["about"] == "chat" and error["client_id"] == "c2"
    assert 0 < error["retry_after_seconds"] <= 60
    assert "wait" in error["message"]
    assert not error.get("fatal")
    # Still connected: other messages work.
    await room.send_json_to({"type": "ping", "t": 1})
    assert (await receive_until(room, "pong"))["t"] == 1
    stored = await database_sync_to_async(
        lambda: list(ChatMessage.objects.values_list("text", flat=True).order_by("seq"))
    )()
    assert stored == ["line 0", "line 1"]
    # The patient has an allowance of their own.
    patient_room, _ = await join(consultation.pk, consultation.patient.account)
    await patient_room.send_json_to({"type": "chat", "text": "hello", "client_id": "p0"})
    assert (await receive_until(patient_room, "chat-ack"))["client_id"] == "p0"
    await patient_room.disconnect()
    await room.disconnect()
