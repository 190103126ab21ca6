"""The centre's live feed (ws/centre/cases/): a CHO's workspace hears at once when a hub
doctor calls one of the centre's cases; other roles and unposted CHOs are refused; another
centre's CHO hears nothing of it."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator

from sanjeevani.config.websocket_routes import websocket_urlpatterns
from sanjeevani.consultations import services as consultations
from sanjeevani.hwc import services as hwc
from sanjeevani.live.publisher import flush
from tests.factories import FacilityFactory, SpecialtyFactory
from tests.hwc.factories import build_network, cho_at, send_case

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.realtime]


def _socket(user) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(URLRouter(websocket_urlpatterns), "/ws/centre/cases/")
    communicator.scope["user"] = user
    return communicator


def _world():
    # a transactional test may follow another that flushed the migrations' specialties
    SpecialtyFactory(code="general-medicine", name="General medicine")
    SpecialtyFactory(code="dermatology", name="Dermatology")
    network = build_network()
    case = send_case(network)
    hwc.go_online_at_hub(network.doctor_a.user, network.hub_a, network.general)
    other_cho = cho_at(FacilityFactory(state=network.state))
    assert flush(timeout=10)
    return network, case, other_cho


def _call(network):
    return hwc.call_next_case(network.doctor_a.user)


async def test_the_centre_hears_the_call_and_another_centre_does_not():
    network, case, other_cho = await database_sync_to_async(_world)()
    ours, theirs = _socket(network.cho), _socket(other_cho)
    assert (await ours.connect())[0] and (await theirs.connect())[0]
    joined = await ours.receive_json_from(timeout=5)
    assert joined == {"type": "centre.joined", "tickets": [str(case.ticket_id)]}
    assert (await theirs.receive_json_from(timeout=5))["tickets"] == []
    ticket = await database_sync_to_async(_call)(network)
    called = await ours.receive_json_from(timeout=5)
    assert called["type"] == "ticket.called"
    assert called["ticket"] == str(ticket.pk)
    assert await theirs.receive_nothing(timeout=0.5)
    await ours.disconnect()
    await theirs.disconnect()


async def test_the_feed_refuses_other_roles_and_the_signed_out():
    network, *_ = await database_sync_to_async(_world)()
    for user in (network.doctor_a.user, None):
        communicator = _socket(user)
        if user is None:
            from django.contrib.auth.models import AnonymousUser

            communicator.scope["user"] = AnonymousUser()
        connected, code = await communicator.connect()
        await communicator.disconnect()
        assert not connected and code == 4403


def _seen_and_ended(network, ticket) -> None:
    """The health worker joins; the hub doctor confirms the patient, advises and ends."""
    doctor = network.doctor_a.user
    consultation = consultations.accept_call(network.cho, ticket)
    consultations.save_clinical_record(doctor, consultation, {"advice": "Rest, fluids."}, 0)
    consultations.confirm_identity(doctor, consultation, "Seen at the centre", 34)
    consultations.end_consultation(doctor, consultation, "advice_only")


async def test_the_centre_hears_the_consultation_end_without_polling():
    network, case, _other = await database_sync_to_async(_world)()
    ours = _socket(network.cho)
    assert (await ours.connect())[0]
    assert (await ours.receive_json_from(timeout=5))["type"] == "centre.joined"
    ticket = await database_sync_to_async(_call)(network)
    assert (await ours.receive_json_from(timeout=5))["type"] == "ticket.called"
    await database_sync_to_async(_seen_and_ended)(network, ticket)
    ended = await ours.receive_json_from(timeout=5)
    assert ended == {"type": "ticket.completed", "ticket": str(case.ticket_id)}
    await ours.disconnect()


def _first_seen_then_second_called(network):
    """The case that waited ahead is called and ended; then the one sent later is called."""
    first = _call(network)
    _seen_and_ended(network, first)
    return _call(network)


async def test_a_case_sent_after_connecting_is_heard_without_reconnecting():
    network, case, other_cho = await database_sync_to_async(_world)()
    ours, theirs = _socket(network.cho), _socket(other_cho)
    assert (await ours.connect())[0] and (await theirs.connect())[0]
    assert (await ours.receive_json_from(timeout=5))["type"] == "centre.joined"
    assert (await theirs.receive_json_from(timeout=5))["type"] == "centre.joined"
    # A colleague sends a second case after this workspace connected.
    second = await database_sync_to_async(send_case)(network)
    sent = await ours.receive_json_from(timeout=5)
    assert sent == {
        "type": "centre.case_sent",
        "case": str(second.pk),
        "ticket": str(second.ticket_id),
    }
    ticket = await database_sync_to_async(_first_seen_then_second_called)(network)
    assert ticket.pk == second.ticket_id
    heard = [await ours.receive_json_from(timeout=5) for _ in range(3)]
    assert [(e["type"], e["ticket"]) for e in heard] == [
        ("ticket.called", str(case.ticket_id)),
        ("ticket.completed", str(case.ticket_id)),
        ("ticket.called", str(second.ticket_id)),
    ]
    assert await theirs.receive_nothing(timeout=0.5)
    await ours.disconnect()
    await theirs.disconnect()
