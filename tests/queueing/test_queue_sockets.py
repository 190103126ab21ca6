"""The waiting room and the doctor's queue receive queue events over WebSocket after a
change commits (in-memory channel layer; the Redis layer when REDIS_URL is set)."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator

from sanjeevani.consultations import services as consultation_services
from sanjeevani.live.publisher import flush
from sanjeevani.queueing import services
from sanjeevani.queueing.models import Ticket
from sanjeevani.realtime.routing import websocket_urlpatterns
from tests.factories import OnlineOPDFactory, PatientFactory
from tests.queueing.factories import member_doctor

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.realtime]


def _world():
    opd = OnlineOPDFactory()
    doctor = member_doctor(opd)
    services.go_online(doctor.user, opd)
    first, second = PatientFactory(), PatientFactory()
    tickets = [services.join_queue(p.account, p, opd) for p in (first, second)]
    # The set-up's own events leave before any client joins: with a network layer they go
    # out from a background loop and could otherwise reach the sockets opened next.
    assert flush(timeout=10)
    return opd, doctor, first, second, tickets


def _socket(path: str, user) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(URLRouter(websocket_urlpatterns), path)
    communicator.scope["user"] = user
    return communicator


async def _receive(communicator, wanted: str) -> dict:
    for _ in range(10):
        event = await communicator.receive_json_from(timeout=5)
        if event["type"] == wanted:
            return event
    raise AssertionError(f"no {wanted} event")


async def test_waiting_room_gets_queue_advanced_and_called_after_a_claim():
    opd, doctor, first, second, tickets = await database_sync_to_async(_world)()
    behind = _socket(f"/ws/opd/{opd.pk}/waiting/", second.account)
    front = _socket(f"/ws/opd/{opd.pk}/waiting/", first.account)
    assert (await behind.connect())[0] and (await front.connect())[0]

    claimed = await database_sync_to_async(consultation_services.call_next_patient)(doctor.user)
    assert claimed.pk == tickets[0].pk

    advanced = await _receive(behind, "queue.advanced")
    assert advanced["change"] == "claimed"
    assert advanced["doctors_online"] == 1 and advanced["doctors_busy"] == 1
    assert advanced["ticket"]["queued_at"] == tickets[0].queued_at.isoformat()
    called = await _receive(front, "ticket.called")
    assert called["ticket"] == str(tickets[0].pk)
    assert called["consultation"] == str(claimed.consultation.pk)
    await behind.disconnect()
    await front.disconnect()


async def test_waiting_room_refuses_a_patient_without_a_token_there():
    opd, *_ = await database_sync_to_async(_world)()
    stranger = await database_sync_to_async(PatientFactory)()
    feed = _socket(f"/ws/opd/{opd.pk}/waiting/", stranger.account)
    connected, code = await feed.connect()
    await feed.disconnect()
    assert not connected and code == 4403


async def test_doctor_queue_hears_a_new_token():
    opd, doctor, *_ = await database_sync_to_async(_world)()
    feed = _socket("/ws/doctor/queue/", doctor.user)
    assert (await feed.connect())[0]
    newcomer = await database_sync_to_async(PatientFactory)()
    await database_sync_to_async(services.join_queue)(newcomer.account, newcomer, opd)
    event = await _receive(feed, "queue.advanced")
    assert event["change"] == "joined"
    assert event["ticket"]["priority"] == 10 and event["doctors_online"] == 1
    await feed.disconnect()


def _seen_and_ended(doctor, patient, ticket) -> None:
    """The patient joins; the doctor confirms who they are, writes advice and ends."""
    consultation = consultation_services.accept_call(patient.account, ticket)
    consultation_services.save_clinical_record(
        doctor.user, consultation, {"advice": "Rest, fluids."}, 0
    )
    consultation_services.confirm_identity(doctor.user, consultation, "Name and age asked", 34)
    consultation_services.end_consultation(doctor.user, consultation, "advice_only")


async def test_waiting_room_hears_the_consultation_end_without_polling():
    opd, doctor, first, _second, tickets = await database_sync_to_async(_world)()
    front = _socket(f"/ws/opd/{opd.pk}/waiting/", first.account)
    assert (await front.connect())[0]
    await database_sync_to_async(consultation_services.call_next_patient)(doctor.user)
    await _receive(front, "ticket.called")
    ticket = await database_sync_to_async(Ticket.objects.get)(pk=tickets[0].pk)
    await database_sync_to_async(_seen_and_ended)(doctor, first, ticket)
    completed = await _receive(front, "ticket.completed")
    assert completed == {"type": "ticket.completed", "ticket": str(tickets[0].pk)}
    await front.disconnect()


async def _quiet(communicator) -> None:
    """Drop what is already on its way (an event may still follow the one awaited)."""
    while not await communicator.receive_nothing(timeout=0.3):
        await communicator.receive_json_from()


async def test_a_called_patient_hears_no_queue_changes_until_back_in_the_line():
    opd, doctor, first, second, tickets = await database_sync_to_async(_world)()
    front = _socket(f"/ws/opd/{opd.pk}/waiting/", first.account)
    behind = _socket(f"/ws/opd/{opd.pk}/waiting/", second.account)
    assert (await front.connect())[0] and (await behind.connect())[0]
    claimed = await database_sync_to_async(consultation_services.call_next_patient)(doctor.user)
    await _receive(front, "ticket.called")
    await _quiet(front)
    await _quiet(behind)

    newcomer = await database_sync_to_async(PatientFactory)()
    await database_sync_to_async(services.join_queue)(newcomer.account, newcomer, opd)
    assert (await _receive(behind, "queue.advanced"))["change"] == "joined"
    assert await front.receive_nothing(timeout=0.5)

    await database_sync_to_async(consultation_services.return_dropped_ticket)(
        doctor.user, claimed.consultation
    )
    returned = await _receive(front, "ticket.returned")
    assert returned["ticket"] == str(tickets[0].pk) and returned["reason"] == "dropped"
    await _quiet(front)
    latecomer = await database_sync_to_async(PatientFactory)()
    await database_sync_to_async(services.join_queue)(latecomer.account, latecomer, opd)
    assert (await _receive(front, "queue.advanced"))["change"] == "joined"
    await front.disconnect()
    await behind.disconnect()
