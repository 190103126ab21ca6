"""The consultation mode, observed through a real server from what two aiortc peers really
received (tests/realtime/peers.py ``media_call``): video both ways is video, audio only is
audio, chat only is chat, and one side's lie never makes it video."""

from __future__ import annotations

import asyncio

import pytest

from sanjeevani.accounts.models import DeviceToken
from sanjeevani.consultations.models import Consultation, MediaObservation
from sanjeevani.consultations.modes import AUDIO_MIN_PACKETS, VIDEO_MIN_FRAMES
from tests.e2e.live import running_server
from tests.realtime.factories import ConsultationFactory
from tests.realtime.peers import RoomPeer, media_call

pytestmark = [pytest.mark.realtime, pytest.mark.django_db(transaction=True)]

LIE = {"video_frames": 10_000, "video_bytes": 10**8, "audio_packets": 10_000, "audio_bytes": 10**6}


@pytest.fixture
def room(transactional_db):
    consultation = ConsultationFactory()
    doctor = DeviceToken.objects.issue(consultation.doctor.user).key
    patient = DeviceToken.objects.issue(consultation.patient.account).key
    return consultation, doctor, patient


def meet(room, **kwargs) -> tuple[dict, Consultation]:
    consultation, doctor_key, patient_key = room
    with running_server() as base:
        result = asyncio.run(
            media_call(
                RoomPeer(base, str(consultation.pk), doctor_key),
                RoomPeer(base, str(consultation.pk), patient_key),
                **kwargs,
            )
        )
    consultation.refresh_from_db()
    return result, consultation


def test_video_both_ways_is_observed_as_video(room):
    result, consultation = meet(room, kinds=("audio", "video"), until_mode="video")
    assert result["connected"], result
    assert result["modes"] and result["modes"][-1]["observed_mode"] == "video", result
    assert result["doctor"]["video_frames"] >= VIDEO_MIN_FRAMES
    assert result["patient"]["video_frames"] >= VIDEO_MIN_FRAMES
    assert (consultation.observed_mode, consultation.mode, consultation.had_video) == (
        "video",
        "video",
        True,
    )
    assert MediaObservation.objects.filter(consultation=consultation).count() == 2


def test_audio_only_peers_are_observed_as_audio(room):
    result, consultation = meet(room, kinds=("audio",), until_mode="audio")
    assert result["connected"], result
    assert result["modes"][-1]["observed_mode"] == "audio", result
    assert result["doctor"]["audio_packets"] >= AUDIO_MIN_PACKETS
    assert result["doctor"]["video_frames"] == 0
    assert (consultation.mode, consultation.had_video) == ("audio", False)


def test_one_side_claiming_video_over_an_audio_call_stays_audio(room):
    """The patient's page says it decoded 10,000 frames; the doctor's page received audio
    only. The call runs long enough for real video to have been observed twice over."""
    result, consultation = meet(
        room, kinds=("audio",), until_mode="video", patient_claims=LIE, timeout=12
    )
    assert result["connected"], result
    assert result["patient"] == LIE
    assert [m["observed_mode"] for m in result["modes"]] == ["audio"], result
    assert (consultation.observed_mode, consultation.mode, consultation.had_video) == (
        "audio",
        "audio",
        False,
    )


def test_a_lie_with_no_media_at_all_stays_chat(room):
    result, consultation = meet(room, kinds=(), until_mode="video", patient_claims=LIE, timeout=5)
    assert result["doctor"]["audio_packets"] == 0 and result["doctor"]["video_frames"] == 0
    assert result["modes"] == []
    assert (consultation.mode, consultation.had_video) == ("chat", False)


def test_chat_only_is_chat(room):
    consultation, doctor_key, patient_key = room

    async def chat_only(base):
        doctor = RoomPeer(base, str(consultation.pk), doctor_key)
        patient = RoomPeer(base, str(consultation.pk), patient_key)
        await doctor.join()
        await patient.join()
        try:
            await patient.send({"type": "chat", "text": "No camera here; I can type."})
            message = await doctor.wait_for("chat-message")
            await doctor.send({"type": "video-connected"})  # an old page's claim: ignored
            zero = dict.fromkeys(("video_frames", "video_bytes", "audio_packets", "audio_bytes"), 0)
            await doctor.send(
                {"type": "media-stats", "user_id": patient.welcome["user_id"], **zero}
            )
            await doctor.send({"type": "ping", "t": 1})
            await doctor.wait_for("pong")  # the socket is still open: the messages were valid
            return message
        finally:
            await doctor.close()
            await patient.close()

    with running_server() as base:
        message = asyncio.run(chat_only(base))
    assert message["text"] == "No camera here; I can type."
    consultation.refresh_from_db()
    assert (consultation.mode, consultation.observed_mode, consultation.had_video) == (
        "chat",
        "chat",
        False,
    )
