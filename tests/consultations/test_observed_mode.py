"""The consultation mode is observed from both ends of the room, confirmed by the doctor,
and carried into the signed prescription. With real WebRTC peers:
tests/realtime/test_observed_mode_peers.py."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from sanjeevani.audit.models import AuditEvent
from sanjeevani.consultations import services
from sanjeevani.consultations.models import Consultation, MediaObservation
from sanjeevani.consultations.modes import (
    AUDIO_MIN_PACKETS,
    VIDEO_MIN_FRAMES,
    derive_mode,
)
from sanjeevani.prescriptions import signing
from sanjeevani.prescriptions.models import Prescription
from tests.factories import StaffUserFactory
from tests.prescriptions.conftest import api_for, issue, line
from tests.prescriptions.factories import ConsultationFactory as ReadyConsultationFactory
from tests.realtime.factories import ConsultationFactory, HubSpokeConsultationFactory

pytestmark = pytest.mark.django_db

VIDEO = {"video_frames": 300, "video_bytes": 900_000, "audio_packets": 500, "audio_bytes": 40_000}
AUDIO = {"video_frames": 0, "video_bytes": 0, "audio_packets": 500, "audio_bytes": 40_000}
NOTHING = {"video_frames": 0, "video_bytes": 0, "audio_packets": 0, "audio_bytes": 0}
MODE_API = "/api/v1/opd/consultations/{}/mode/"


@pytest.fixture(autouse=True)
def signing_key(settings, tmp_path):
    settings.SIGNING_KEY_FILE = tmp_path / "keys" / "rx.pem"
    signing._load_private_key.cache_clear()
    yield
    signing._load_private_key.cache_clear()


def report(consultation, reporter, source, counters):
    return services.record_media_observation(reporter, consultation, source.pk, counters)


def people(consultation):
    return consultation.doctor.user, consultation.patient.account


def observed(consultation) -> Consultation:
    consultation.refresh_from_db()
    return consultation


def obs(reporter, source, frames=0, packets=0):
    return SimpleNamespace(
        reporter_id=reporter, source_id=source, video_frames=frames, audio_packets=packets
    )


@pytest.mark.parametrize(
    ("doctor_got", "patient_got", "expected"),
    [
        ((VIDEO_MIN_FRAMES, 0), (VIDEO_MIN_FRAMES, 0), "video"),
        ((VIDEO_MIN_FRAMES, AUDIO_MIN_PACKETS), (VIDEO_MIN_FRAMES - 1, AUDIO_MIN_PACKETS), "audio"),
        ((10_000, 0), (0, 0), "chat"),  # one side's claim alone
        ((0, AUDIO_MIN_PACKETS), (0, AUDIO_MIN_PACKETS), "audio"),
        ((0, AUDIO_MIN_PACKETS), (0, AUDIO_MIN_PACKETS - 1), "chat"),
        (None, (10_000, 10_000), "chat"),  # the doctor never reported
    ],
)
def test_the_mode_needs_both_ends(doctor_got, patient_got, expected):
    rows = [obs("patient", "doctor", *patient_got)]
    if doctor_got is not None:
        rows.append(obs("doctor", "patient", *doctor_got))
    assert derive_mode("doctor", {"patient"}, rows) == expected


def test_a_new_consultation_is_chat_until_something_is_observed():
    consultation = ConsultationFactory()
    assert (consultation.mode, consultation.observed_mode, consultation.had_video) == (
        "chat",
        "chat",
        False,
    )


def test_video_both_ways_makes_it_video_and_audits_the_change():
    consultation = ConsultationFactory()
    doctor, patient = people(consultation)
    report(consultation, doctor, patient, VIDEO)
    assert observed(consultation).observed_mode == "chat"  # the doctor's report alone
    report(consultation, patient, doctor, VIDEO)
    consultation = observed(consultation)
    assert (consultation.observed_mode, consultation.mode, consultation.had_video) == (
        "video",
        "video",
        True,
    )
    event = AuditEvent.objects.get(action="consultation.mode_observed")
    assert event.patient_id == consultation.patient_id
    assert event.detail == {"from": "chat", "to": "video"}


def test_one_side_lying_about_video_is_not_video():
    consultation = ConsultationFactory()
    doctor, patient = people(consultation)
    report(consultation, patient, doctor, VIDEO)  # "I saw the doctor"
    report(consultation, doctor, patient, NOTHING)  # the doctor's page received nothing
    assert observed(consultation).mode == "chat"
    report(consultation, doctor, patient, AUDIO)  # the doctor only ever heard the patient
    consultation = observed(consultation)
    assert consultation.mode == "audio" and consultation.had_video is False


def test_counters_only_grow_and_bad_counters_are_refused():
    consultation = ConsultationFactory()
    doctor, patient = people(consultation)
    report(consultation, doctor, patient, VIDEO)
    report(consultation, doctor, patient, NOTHING)  # a restarted connection counts from 0
    row = MediaObservation.objects.get(consultation=consultation, reporter=doctor)
    assert row.video_frames == VIDEO["video_frames"]
    for bad in (-1, 10**13, "12", True, 1.5):
        with pytest.raises(ValidationError):
            report(consultation, doctor, patient, {**AUDIO, "audio_packets": bad})


def test_reports_outside_the_doctor_and_patient_pair_do_not_count():
    consultation = ConsultationFactory()
    doctor, patient = people(consultation)
    specialist = StaffUserFactory()
    assert report(consultation, specialist, doctor, VIDEO) is None
    assert report(consultation, doctor, specialist, VIDEO) is None
    assert report(consultation, patient, patient, VIDEO) is None
    assert not MediaObservation.objects.exists()


def test_hub_and_spoke_the_cho_is_the_patients_side():
    consultation = HubSpokeConsultationFactory()
    doctor, cho = consultation.doctor.user, consultation.requested_by
    report(consultation, doctor, cho, VIDEO)
    report(consultation, cho, doctor, VIDEO)
    assert observed(consultation).mode == "video"


def test_an_ended_consultation_takes_no_more_reports():
    consultation = ConsultationFactory(status=Consultation.Status.ENDED, ended_at=timezone.now())
    doctor, patient = people(consultation)
    assert report(consultation, doctor, patient, VIDEO) is None
    assert not MediaObservation.objects.exists()


def test_the_doctor_confirms_the_observed_mode_or_a_lower_one_never_a_higher_one():
    consultation = ConsultationFactory()
    doctor, patient = people(consultation)
    report(consultation, doctor, patient, AUDIO)
    report(consultation, patient, doctor, AUDIO)
    with pytest.raises(ValidationError) as refused:
        services.confirm_consultation_mode(doctor, consultation, "video")
    assert "observed audio only" in str(refused.value)
    assert observed(consultation).mode_confirmed_at is None
    with pytest.raises(PermissionDenied):
        services.confirm_consultation_mode(patient, consultation, "audio")
    with pytest.raises(ValidationError):
        services.confirm_consultation_mode(doctor, consultation, "telepathy")

    services.confirm_consultation_mode(doctor, consultation, "chat")
    consultation = observed(consultation)
    assert (consultation.mode, consultation.observed_mode) == ("chat", "audio")
    assert consultation.mode_confirmed_at is not None
    # Later video does not raise the confirmed mode by itself; the doctor may confirm again.
    report(consultation, doctor, patient, VIDEO)
    report(consultation, patient, doctor, VIDEO)
    consultation = observed(consultation)
    assert (consultation.mode, consultation.observed_mode, consultation.had_video) == (
        "chat",
        "video",
        False,
    )
    services.confirm_consultation_mode(doctor, consultation, "video")
    assert observed(consultation).had_video is True
    confirmations = AuditEvent.objects.filter(action="consultation.mode_confirmed")
    assert sorted(e.detail["mode"] for e in confirmations) == ["chat", "video"]
    assert all(e.actor_id == doctor.pk for e in confirmations)


def test_the_mode_cannot_change_an_hour_after_the_end():
    consultation = ConsultationFactory(
        status=Consultation.Status.ENDED, ended_at=timezone.now() - dt.timedelta(hours=2)
    )
    with pytest.raises(ValidationError):
        services.confirm_consultation_mode(consultation.doctor.user, consultation, "chat")


# --- API ------------------------------------------------------------------------------------


def test_api_refuses_video_that_was_not_observed_and_shows_the_observations():
    consultation = ConsultationFactory()
    doctor, patient = people(consultation)
    report(consultation, doctor, patient, AUDIO)
    report(consultation, patient, doctor, VIDEO)  # the patient says more than the doctor saw
    client = api_for(doctor)
    response = client.post(MODE_API.format(consultation.pk), {"mode": "video"}, format="json")
    assert response.status_code == 400, response.content
    assert "cannot confirm video" in response.json()["error"]["message"]
    body = client.get(MODE_API.format(consultation.pk)).json()
    assert (body["observed_mode"], body["confirmed"]) == ("audio", False)
    levels = {(o["reporter"], o["level"]) for o in body["observations"]}
    assert levels == {(str(doctor.pk), "audio"), (str(patient.pk), "video")}
    assert AuditEvent.objects.filter(action="consultation.view", actor=doctor).exists()

    response = client.post(MODE_API.format(consultation.pk), {"mode": "audio"}, format="json")
    assert response.status_code == 200, response.content
    assert (response.json()["mode"], response.json()["confirmed"]) == ("audio", True)


def test_api_confirm_is_for_the_consultations_doctor_only():
    consultation = ConsultationFactory()
    patient_says = api_for(consultation.patient.account).post(
        MODE_API.format(consultation.pk), {"mode": "chat"}, format="json"
    )
    assert patient_says.status_code == 403
    other = ConsultationFactory()
    stranger = api_for(other.doctor.user).post(
        MODE_API.format(consultation.pk), {"mode": "chat"}, format="json"
    )
    assert stranger.status_code == 404
    junk = api_for(consultation.doctor.user).post(
        MODE_API.format(consultation.pk), {"mode": ["video"]}, format="json"
    )
    assert junk.status_code == 400
    assert observed(consultation).mode_confirmed_at is None


def test_a_prescription_waits_for_the_confirmed_mode_and_carries_the_observed_one():
    consultation = ReadyConsultationFactory(
        mode="chat", observed_mode="chat", mode_confirmed_at=None, had_video=False
    )
    doctor, patient = people(consultation)
    refused = issue(consultation, [line("paracetamol")])
    assert refused.status_code == 400, refused.content
    assert "Confirm how this consultation was held" in refused.json()["error"]["message"]
    assert not Prescription.objects.exists()

    report(consultation, doctor, patient, AUDIO)
    report(consultation, patient, doctor, VIDEO)  # a lie: the doctor never decoded video
    services.confirm_consultation_mode(doctor, consultation, "audio")
    issued = issue(consultation, [line("paracetamol")])
    assert issued.status_code == 201, issued.content
    content = Prescription.objects.get(pk=issued.json()["id"]).content
    assert content["consultation"]["mode"] == "audio"
    assert content["consultation"]["had_video"] is False


def test_a_video_consultation_signs_video():
    consultation = ReadyConsultationFactory(
        mode="chat", observed_mode="chat", mode_confirmed_at=None, had_video=False
    )
    doctor, patient = people(consultation)
    report(consultation, doctor, patient, VIDEO)
    report(consultation, patient, doctor, VIDEO)
    services.confirm_consultation_mode(doctor, consultation, "video")
    issued = issue(consultation, [line("paracetamol")])
    assert issued.status_code == 201, issued.content
    content = Prescription.objects.get(pk=issued.json()["id"]).content
    assert content["consultation"] == {
        **content["consultation"],
        "mode": "video",
        "had_video": True,
    }
