"""The room WebSocket: who gets in, what a misbehaving client gets, signalling relay, chat
order, replay on reconnect, delivered/read marks, hold and end."""

from __future__ import annotations

import json
import time
import uuid
from unittest import mock

import pytest
from channels.db import database_sync_to_async

from sanjeevani.audit.models import AuditEvent
from sanjeevani.consultations import services as consultation_services
from sanjeevani.consultations.models import Consultation
from sanjeevani.realtime import tokens
from sanjeevani.realtime.consumers import MEDIA_STATS_SOURCES
from sanjeevani.realtime.models import ChatMessage, MessageReceipt
from tests.factories import PatientAccountFactory
from tests.realtime.conftest import join, open_room, receive_until, refused
from tests.realtime.factories import ConsultationFactory

pytestmark = [pytest.mark.realtime, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _in_process_layer(settings):
    """These tests drive one consumer in this process, so they use the in-process layer
    even when REDIS_URL is set: with Redis, a refused consumer left waiting in the layer's
    Redis read sometimes never finished when its test's event loop closed (redis-py
    swallows the cancellation, redis/redis-py#2028). Rooms across processes over Redis
    are tested with real servers in test_webrtc_peers.py and test_fanout.py."""
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "sanjeevani.realtime.layers.InMemoryChannelLayer"}
    }


async def test_participant_is_welcomed_with_ice_servers_and_the_join_is_audited(
    consultation, doctor_user
):
    room, welcome = await join(consultation.pk, doctor_user)
    assert welcome["role"] == "doctor"
    assert welcome["user_id"] == str(doctor_user.pk)
    assert isinstance(welcome["ice_servers"], list)
    assert {m["role"] for m in welcome["members"]} == {"doctor", "patient"}
    assert welcome["mode"] == {
        "observed_mode": "chat",
        "mode": "chat",
        "confirmed": False,
        "confirmed_at": None,
    }
    await room.disconnect()
    joins = await database_sync_to_async(
        lambda: list(AuditEvent.objects.filter(action="room.join").values_list("actor", flat=True))
    )()
    assert joins == [doctor_user.pk]


async def test_stranger_is_refused(consultation):
    stranger = await database_sync_to_async(PatientAccountFactory)()
    room = await open_room(consultation.pk, tokens.issue_token(consultation.pk, stranger.pk))
    error, close = await refused(room)
    assert error["code"] == "forbidden"
    assert close["code"] == 4403


async def test_token_for_another_room_is_refused(consultation, doctor_user):
    other = await database_sync_to_async(ConsultationFactory)(doctor=consultation.doctor)
    room = await open_room(consultation.pk, tokens.issue_token(other.pk, doctor_user.pk))
    _error, close = await refused(room)
    assert close["code"] == 4403


async def test_expired_token_is_refused(consultation, doctor_user, settings):
    settings.ROOM_TOKEN_TTL_SECONDS = 300
    token = tokens.issue_token(consultation.pk, doctor_user.pk)
    later = time.time() + 301
    with mock.patch("django.core.signing.time.time", lambda: later):
        room = await open_room(consultation.pk, token)
        error, close = await refused(room)
    assert error["code"] == "token_expired"
    assert close["code"] == 4401


async def test_forged_token_is_refused(consultation, doctor_user):
    token = tokens.issue_token(consultation.pk, doctor_user.pk)
    room = await open_room(consultation.pk, token[:-3] + ("AAA" if token[-3:] != "AAA" else "BBB"))
    error, close = await refused(room)
    assert error["code"] == "token_invalid"
    assert close["code"] == 4401


async def test_replayed_token_is_refused(consultation, doctor_user):
    token = tokens.issue_token(consultation.pk, doctor_user.pk)
    first = await open_room(consultation.pk, token)
    assert (await first.receive_json_from(timeout=5))["type"] == "welcome"
    second = await open_room(consultation.pk, token)
    error, close = await refused(second)
    assert error["code"] == "token_used"
    assert close["code"] == 4401
    await first.disconnect()


async def test_finished_consultation_is_refused(consultation, patient_user):
    consultation.status = Consultation.Status.ENDED
    await database_sync_to_async(consultation.save)()
    room = await open_room(consultation.pk, tokens.issue_token(consultation.pk, patient_user.pk))
    error, close = await refused(room)
    assert error["code"] == "ended"
    assert close["code"] == 4410


async def test_signalling_is_relayed_to_the_named_peer_with_its_sender(
    consultation, doctor_user, patient_user
):
    doctor, doctor_welcome = await join(consultation.pk, doctor_user)
    patient, patient_welcome = await join(consultation.pk, patient_user)
    joined = await receive_until(doctor, "peer-joined")
    assert joined["peer_id"] == patient_welcome["peer_id"]
    present = await receive_until(patient, "peer-present")
    assert present["peer_id"] == doctor_welcome["peer_id"]

    await patient.send_json_to({"type": "offer", "to": present["peer_id"], "sdp": "v=0 fake"})
    offer = await receive_until(doctor, "offer")
    assert offer == {
        "type": "offer",
        "to": doctor_welcome["peer_id"],
        "sdp": "v=0 fake",
        "from": patient_welcome["peer_id"],
    }
    candidate = {"candidate": "candidate:1 1 udp 1 10.0.0.1 9 typ host", "sdpMid": "0"}
    await doctor.send_json_to(
        {"type": "ice-candidate", "to": joined["peer_id"], "candidate": candidate}
    )
    assert (await receive_until(patient, "ice-candidate"))["candidate"] == candidate
    await doctor.disconnect()
    assert (await receive_until(patient, "peer-left"))["peer_id"] == doctor_welcome["peer_id"]
    await patient.disconnect()


async def test_a_quality_step_reaches_the_others_with_its_sender(
    consultation, doctor_user, patient_user
):
    """A page that stepped down (or back up) tells the room, so the other side can say
    why the picture changed; the sender does not get its own message back."""
    doctor, doctor_welcome = await join(consultation.pk, doctor_user)
    patient, _ = await join(consultation.pk, patient_user)
    await receive_until(patient, "peer-present")
    await doctor.send_json_to({"type": "quality-step", "step": "audio-only", "automatic": True})
    step = await receive_until(patient, "quality-step")
    assert step == {
        "type": "quality-step",
        "step": "audio-only",
        "automatic": True,
        "from": doctor_welcome["peer_id"],
    }
    await patient.send_json_to({"type": "quality-step", "step": "normal", "automatic": False})
    back = await receive_until(doctor, "quality-step")  # not its own "audio-only" echoed
    assert (back["step"], back["automatic"]) == ("normal", False)
    await doctor.disconnect()
    await patient.disconnect()


@pytest.mark.parametrize(
    "bad",
    [
        "x" * (17 * 1024),  # not JSON, and over 16 KB
        json.dumps({"type": "chat", "text": "y" * (20 * 1024)}),  # over 16 KB for a non-SDP
        json.dumps({"type": "offer", "to": "abc", "sdp": "z" * (65 * 1024)}),  # over 64 KB
        json.dumps({"type": "launch-missiles"}),
        json.dumps({"type": "offer", "to": "abc"}),  # missing sdp
        json.dumps({"type": "sync", "after_seq": "3"}),  # wrong type
        json.dumps({"type": "chat", "text": "hi", "admin": True}),  # unexpected field
        json.dumps(["not", "an", "object"]),
        json.dumps({"type": "quality-step", "step": "4k", "automatic": True}),  # no such step
        json.dumps({"type": "quality-step", "step": "normal"}),  # automatic missing
        json.dumps({"type": "quality-step", "step": "normal", "automatic": "yes"}),  # not bool
        json.dumps({"type": "media-stats", "user_id": "x", "video_frames": 1}),  # missing
        json.dumps(  # a counter out of range
            {
                "type": "media-stats",
                "user_id": "x",
                "video_frames": -1,
                "video_bytes": 0,
                "audio_packets": 0,
                "audio_bytes": 0,
            }
        ),  # fmt: skip
        json.dumps(  # a counter of the wrong type
            {
                "type": "media-stats",
                "user_id": "x",
                "video_frames": 1.5,
                "video_bytes": 0,
                "audio_packets": 0,
                "audio_bytes": 0,
            }
        ),  # fmt: skip
    ],
)
async def test_misbehaving_client_is_disconnected_and_the_other_stays(
    consultation, doctor_user, patient_user, bad
):
    doctor, _ = await join(consultation.pk, doctor_user)
    patient, _ = await join(consultation.pk, patient_user)
    await receive_until(patient, "peer-present")
    await patient.send_to(text_data=bad)
    error = await receive_until(patient, "error")
    assert error["fatal"] is True
    close = await patient.receive_output(timeout=5)
    assert close == {"type": "websocket.close", "code": 4400, "reason": error["code"]}

    await doctor.send_json_to({"type": "chat", "text": "still here?"})
    message = await receive_until(doctor, "chat-message")
    assert message["text"] == "still here?"
    await doctor.disconnect()


async def test_flooding_client_is_disconnected(consultation, doctor_user, settings):
    settings.ROOM_MESSAGES_BURST = 5
    settings.ROOM_MESSAGES_PER_SECOND = 1
    doctor, _ = await join(consultation.pk, doctor_user)
    for n in range(10):
        await doctor.send_json_to({"type": "ping", "t": n})
    error = await receive_until(doctor, "error")
    assert error["code"] == "rate_limited"
    assert (await doctor.receive_output(timeout=5))["code"] == 4400


async def test_only_the_doctor_holds_resumes_and_ends(consultation, doctor_user, patient_user):
    doctor, _ = await join(consultation.pk, doctor_user)
    patient, _ = await join(consultation.pk, patient_user)
    for kind in ("hold", "resume", "end"):
        await patient.send_json_to(
            {"type": kind, **({"outcome": "advice_only"} if kind == "end" else {})}
        )
        error = await receive_until(patient, "error")
        assert (error["code"], error["about"]) == ("forbidden", kind)
    await patient.send_json_to({"type": "ping", "t": 1})
    assert (await receive_until(patient, "pong"))["t"] == 1  # still connected

    await doctor.send_json_to({"type": "hold"})
    state = await receive_until(patient, "room-state")
    assert state["on_hold"] is True
    await doctor.send_json_to({"type": "resume"})
    assert (await receive_until(patient, "room-state"))["on_hold"] is False

    await doctor.send_json_to({"type": "end", "outcome": "referred"})
    error = await receive_until(doctor, "error")  # clinical advice needs the identity first
    assert (error["code"], error["about"]) == ("identity_not_confirmed", "end")
    await database_sync_to_async(consultation_services.confirm_identity)(
        doctor_user, consultation, "Name and age asked", 40
    )
    await doctor.send_json_to({"type": "end", "outcome": "referred"})
    error = await receive_until(doctor, "error")  # the consultation's own rule: write it first
    assert (error["code"], error["about"]) == ("no_referral", "end")
    await doctor.send_json_to({"type": "end", "outcome": "advice_only"})
    for room in (doctor, patient):
        await receive_until(room, "room-ended")
        assert (await room.receive_output(timeout=5))["code"] == 4410
    await database_sync_to_async(consultation.refresh_from_db)()
    assert (consultation.status, consultation.outcome) == (Consultation.Status.ENDED, "advice_only")


async def test_chat_in_order_with_marks_and_replay_on_reconnect(
    consultation, doctor_user, patient_user
):
    doctor, _ = await join(consultation.pk, doctor_user)
    patient, _ = await join(consultation.pk, patient_user)
    for n in range(3):
        await doctor.send_json_to({"type": "chat", "text": f"line {n}", "client_id": f"c{n}"})
        ack = await receive_until(doctor, "chat-ack")
        assert ack["client_id"] == f"c{n}"
    received = [await receive_until(patient, "chat-message") for _ in range(3)]
    assert [(m["seq"], m["text"]) for m in received] == [
        (1, "line 0"),
        (2, "line 1"),
        (3, "line 2"),
    ]
    assert received[0]["sender"]["role"] == "doctor"

    await patient.send_json_to({"type": "delivered", "seq": 3})
    receipt = await receive_until(doctor, "chat-receipt")
    assert (receipt["mark"], receipt["up_to_seq"]) == ("delivered", 3)
    await patient.send_json_to({"type": "read", "seq": 2})
    receipt = await receive_until(doctor, "chat-receipt")
    assert (receipt["mark"], receipt["up_to_seq"], receipt["user_id"]) == (
        "read",
        2,
        str(patient_user.pk),
    )

    await patient.disconnect()
    for n in range(3, 5):
        await doctor.send_json_to({"type": "chat", "text": f"line {n}"})
        await receive_until(doctor, "chat-ack")

    patient, welcome = await join(consultation.pk, patient_user)
    assert welcome["last_seq"] == 5
    await patient.send_json_to({"type": "sync", "after_seq": 3})
    replay = [await receive_until(patient, "chat-message") for _ in range(2)]
    assert [(m["seq"], m["text"]) for m in replay] == [(4, "line 3"), (5, "line 4")]
    assert (await receive_until(patient, "chat-synced"))["last_seq"] == 5

    await patient.send_json_to({"type": "sync", "after_seq": 0})
    full = [await receive_until(patient, "chat-message") for _ in range(5)]
    assert [m["seq"] for m in full] == [1, 2, 3, 4, 5]
    assert full[0]["read_by"] == [str(patient_user.pk)]
    assert full[2]["delivered_to"] == [str(patient_user.pk)] and full[2]["read_by"] == []

    marks = await database_sync_to_async(
        lambda: sorted(
            (r.message.seq, bool(r.delivered_at), bool(r.read_at))
            for r in MessageReceipt.objects.select_related("message")
        )
    )()
    assert marks == [(1, True, True), (2, True, True), (3, True, False)]
    assert await database_sync_to_async(ChatMessage.objects.count)() == 5
    await doctor.disconnect()
    await patient.disconnect()


async def test_rejoining_from_another_page_replaces_the_old_connection(consultation, patient_user):
    first, _ = await join(consultation.pk, patient_user)
    second, _ = await join(consultation.pk, patient_user)
    error = await receive_until(first, "error")
    assert error["code"] == "replaced"
    assert (await first.receive_output(timeout=5))["code"] == 4409
    await second.send_json_to({"type": "ping"})
    assert (await receive_until(second, "pong"))["type"] == "pong"
    await second.disconnect()


async def test_doctor_adds_a_participant_over_the_socket(consultation, doctor_user, patient_user):
    interpreter = await database_sync_to_async(PatientAccountFactory)()
    doctor, _ = await join(consultation.pk, doctor_user)
    patient, _ = await join(consultation.pk, patient_user)
    await patient.send_json_to(
        {"type": "add-participant", "user_id": str(interpreter.pk), "role": "interpreter"}
    )
    assert (await receive_until(patient, "error"))["code"] == "forbidden"
    await doctor.send_json_to(
        {"type": "add-participant", "user_id": str(interpreter.pk), "role": "interpreter"}
    )
    added = await receive_until(patient, "participant-added")
    assert (added["user_id"], added["role"]) == (str(interpreter.pk), "interpreter")
    room, welcome = await join(consultation.pk, interpreter)
    assert welcome["role"] == "interpreter"
    for r in (doctor, patient, room):
        await r.disconnect()


def stats(user, frames: int, packets: int) -> dict:
    return {
        "type": "media-stats",
        "user_id": str(user.pk),
        "video_frames": frames,
        "video_bytes": frames * 1000,
        "audio_packets": packets,
        "audio_bytes": packets * 80,
    }


async def test_media_stats_from_both_ends_make_the_mode_and_the_room_hears_of_it(
    consultation, doctor_user, patient_user
):
    doctor, _ = await join(consultation.pk, doctor_user)
    patient, _ = await join(consultation.pk, patient_user)
    await receive_until(patient, "peer-present", timeout=15)
    await patient.send_json_to(stats(doctor_user, 500, 500))  # the patient's claim alone
    await patient.send_json_to({"type": "ping"})
    await receive_until(patient, "pong", timeout=15)
    await database_sync_to_async(consultation.refresh_from_db)()
    assert consultation.observed_mode == "chat"

    await doctor.send_json_to(stats(patient_user, 0, 500))  # the doctor only heard them
    mode = await receive_until(patient, "consultation-mode", timeout=15)
    assert (mode["observed_mode"], mode["mode"], mode["confirmed"]) == ("audio", "audio", False)
    await doctor.send_json_to(stats(patient_user, 500, 800))  # now the picture came through
    mode = await receive_until(doctor, "consultation-mode", timeout=15)
    assert mode["observed_mode"] == "audio"  # the first event, to the doctor as well
    mode = await receive_until(doctor, "consultation-mode", timeout=15)
    assert mode["observed_mode"] == "video"
    await database_sync_to_async(consultation.refresh_from_db)()
    assert (consultation.mode, consultation.had_video) == ("video", True)
    await doctor.disconnect()
    await patient.disconnect()


async def test_media_stats_that_prove_nothing_new_are_not_written_each_time(
    consultation, doctor_user, patient_user
):
    doctor, _ = await join(consultation.pk, doctor_user)
    with mock.patch(
        "sanjeevani.realtime.services.consultation_services.record_media_observation",
        return_value=None,
    ) as record:
        for n in range(5):
            await doctor.send_json_to(stats(patient_user, 0, 10 + n))  # still below audio
        await doctor.send_json_to(stats(patient_user, 0, 500))  # audio now: written
        await doctor.send_json_to({"type": "ping"})
        await receive_until(doctor, "pong", timeout=15)
    assert record.call_count == 2
    with mock.patch("sanjeevani.realtime.services.record_media_stats", return_value=None) as record:
        for _n in range(20):  # reports about 20 made-up participants
            await doctor.send_json_to({**stats(patient_user, 0, 0), "user_id": str(uuid.uuid4())})
        await doctor.send_json_to({"type": "ping"})
        await receive_until(doctor, "pong", timeout=15)
    assert record.call_count == MEDIA_STATS_SOURCES - 1  # the patient already has a slot
    await doctor.disconnect()


async def test_media_stats_about_a_stranger_or_junk_id_change_nothing(
    consultation, doctor_user, patient_user
):
    doctor, _ = await join(consultation.pk, doctor_user)
    stranger = await database_sync_to_async(PatientAccountFactory)()
    await doctor.send_json_to(stats(stranger, 500, 500))
    await doctor.send_json_to({**stats(patient_user, 500, 500), "user_id": "not-a-uuid"})
    error = await receive_until(doctor, "error", timeout=15)
    assert (error["code"], error["about"]) == ("bad_user", "media-stats")
    assert "fatal" not in error
    await doctor.send_json_to({"type": "ping"})
    await receive_until(doctor, "pong", timeout=15)
    await database_sync_to_async(consultation.refresh_from_db)()
    assert consultation.observed_mode == "chat"
    count = await database_sync_to_async(consultation.media_observations.count)()
    assert count == 0
    await doctor.disconnect()
