"""Bugs colleagues met trying the OPD flows, each pinned through the HTTP layer: vitals
from the record page, the follow-up's earlier consultation, SMS languages, a call the
doctor marked missed, audited token and consultation reads, a drop while the patient holds
another token."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from sanjeevani.audit.models import AuditEvent
from sanjeevani.consultations.models import Consultation
from sanjeevani.queueing.models import Ticket
from tests.factories import OnlineOPDFactory, PatientFactory
from tests.queueing.factories import (  # noqa: F401 - fixtures
    API,
    api_for,
    call_next,
    confirm_identity,
    doctor_fixture,
    go_online,
    opd_fixture,
    outbox_fixture,
    patient_fixture,
    take_token,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _private_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "private-media"


def _called(doctor, opd, patient) -> Consultation:
    go_online(doctor, opd)
    assert take_token(patient, opd).status_code == 201
    response = call_next(doctor)
    assert response.status_code == 201, response.content
    return Consultation.objects.get(pk=response.json()["consultation"])


def _joined(doctor, opd, patient) -> Consultation:
    consultation = _called(doctor, opd, patient)
    joined = api_for(patient.account).post(f"{API}/tickets/{consultation.ticket_id}/join/")
    assert joined.status_code == 200, joined.content
    return consultation


def _end(doctor, consultation, outcome: str):
    return api_for(doctor.user).post(
        f"{API}/consultations/{consultation.pk}/end/", {"outcome": outcome}, format="json"
    )


# --- 1. vitals from the record page ---------------------------------------------------------
def _vital_inputs(html: str) -> list[str]:
    return re.findall(r'name="vitals\.([a-z0-9_]+)"', html)


def _autosave(client, consultation, **fields):
    return client.post(
        reverse("opd:save_record", args=[consultation.pk]),
        data=json.dumps(fields),
        content_type="application/json",
    )


def test_record_page_vitals_are_the_ones_the_service_stores(client, doctor, opd, patient):
    consultation = _joined(doctor, opd, patient)
    client.force_login(doctor.user)
    page = client.get(reverse("opd:doctor_consultation", args=[consultation.pk])).content.decode()
    names = _vital_inputs(page)
    assert {"bp_systolic", "bp_diastolic", "temperature_f", "weight_kg"} <= set(names)
    assert "Temperature (°F)" in page
    typed = {
        "bp_systolic": "120",
        "bp_diastolic": "80",
        "temperature_f": "98.6",
        "weight_kg": "61.5",
        "pulse": "88",
        "spo2": "97",
    }
    # what record.js collects: every vitals.<name> input of the page, by that name
    response = _autosave(client, consultation, base_revision=0, vitals={n: typed[n] for n in names})
    assert response.status_code == 200, response.content
    assert "rejected" not in response.json()
    consultation.refresh_from_db()
    assert consultation.vitals == {
        "bp_systolic": 120,
        "bp_diastolic": 80,
        "temperature_c": 37,
        "weight_kg": 61.5,
        "pulse": 88,
        "spo2": 97,
    }
    # the editor reloads the temperature in the unit it asks for
    page = client.get(reverse("opd:doctor_consultation", args=[consultation.pk])).content.decode()
    record = json.loads(re.search(r'id="record-data"[^>]*>(.*?)</script>', page).group(1))
    assert record["vitals"]["temperature_f"] == 98.6


def test_a_rejected_vital_does_not_lose_the_rest_of_the_record(client, doctor, opd, patient):
    consultation = _joined(doctor, opd, patient)
    client.force_login(doctor.user)
    first = _autosave(client, consultation, base_revision=0, vitals={"temperature_f": "101"})
    assert first.status_code == 200
    second = _autosave(
        client,
        consultation,
        base_revision=1,
        complaints="Fever for three days",
        advice="Paracetamol, fluids",
        follow_up_on="not a date",
        vitals={"temperature_f": "1010", "pulse": "96", "bp_systolic": "80", "bp_diastolic": "90"},
    )
    assert second.status_code == 200, second.content
    body = second.json()
    assert body["revision"] == 2
    assert set(body["rejected"]) == {
        "vitals.temperature_f",
        "vitals.bp_diastolic",
        "follow_up_on",
    }
    assert "°F" in body["rejected"]["vitals.temperature_f"][0]
    consultation.refresh_from_db()
    assert consultation.complaints == "Fever for three days"
    assert consultation.advice == "Paracetamol, fluids"
    # the mistyped temperature keeps the one saved before; the valid vitals are saved
    assert consultation.vitals == {"temperature_c": 38.33, "pulse": 96, "bp_systolic": 80}


def test_api_takes_the_temperature_in_fahrenheit_and_refuses_a_bad_patch_whole(
    doctor, opd, patient
):
    consultation = _joined(doctor, opd, patient)
    url = f"{API}/consultations/{consultation.pk}/record/"
    ok = api_for(doctor.user).patch(
        url, {"base_revision": 0, "vitals": {"temperature_f": 100.4}}, format="json"
    )
    assert ok.status_code == 200, ok.content
    assert ok.json()["vitals"] == {"temperature_c": 38}
    bad = api_for(doctor.user).patch(
        url, {"base_revision": 1, "advice": "Rest", "vitals": {"spo2": 120}}, format="json"
    )
    assert bad.status_code == 400
    consultation.refresh_from_db()
    assert consultation.advice == ""


# --- 2. the follow-up names the completed consultation --------------------------------------
def test_follow_up_points_at_the_completed_consultation_not_a_later_no_show(doctor, opd, patient):
    completed = _joined(doctor, opd, patient)
    api_for(doctor.user).patch(
        f"{API}/consultations/{completed.pk}/record/",
        {"base_revision": 0, "advice": "Rest"},
        format="json",
    )
    confirm_identity(doctor, completed)
    assert _end(doctor, completed, "advice_only").status_code == 200
    no_show = _called(doctor, opd, patient)
    assert _end(doctor, no_show, "no_show").status_code == 200
    booked = api_for(patient.account).post(
        f"{API}/consultations/{completed.pk}/follow-up/", {}, format="json"
    )
    assert booked.status_code == 201, booked.content
    assert Ticket.objects.get(pk=booked.json()["id"]).follow_up_of == completed
    claimed = call_next(doctor).json()
    follow_up = Consultation.objects.get(pk=claimed["consultation"])
    assert follow_up.follow_up_of == completed
    detail = api_for(doctor.user).get(f"{API}/consultations/{follow_up.pk}/").json()
    assert detail["follow_up_of"] == str(completed.pk)


# --- 3. an SMS wholly in one language -------------------------------------------------------
def test_token_sms_without_a_catalogue_is_wholly_english(
    opd, outbox, django_capture_on_commit_callbacks
):
    kannada = PatientFactory(preferred_language="kn")
    with django_capture_on_commit_callbacks(execute=True):
        assert take_token(kannada, opd).status_code == 201
    body = outbox.messages(kannada.account.mobile)[0].body
    assert "token 1" in body
    assert not re.search(r"[\u0c80-\u0cff]", body), body
    assert timezone.localdate().strftime("%b") in body


def test_token_sms_in_hindi_has_its_date_in_hindi(opd, outbox, django_capture_on_commit_callbacks):
    hindi = PatientFactory(preferred_language="hi")
    with django_capture_on_commit_callbacks(execute=True):
        assert take_token(hindi, opd).status_code == 201
    body = outbox.messages(hindi.account.mobile)[0].body
    assert "टोकन" in body
    assert timezone.localdate().strftime("%b") not in body


# --- 4. a call the doctor marked missed -----------------------------------------------------
def test_late_join_after_the_doctor_marked_the_call_missed(client, doctor, opd, patient):
    consultation = _called(doctor, opd, patient)
    assert _end(doctor, consultation, "no_show").status_code == 200
    late = api_for(patient.account).post(f"{API}/tickets/{consultation.ticket_id}/join/")
    assert late.status_code == 409
    error = late.json()["error"]
    assert error["code"] == "call_marked_missed"
    assert "doctor marked" in error["message"] and "rejoin" in error["message"]
    assert "2 minutes" not in error["message"]
    client.force_login(patient.account)
    page = client.post(reverse("opd:join", args=[consultation.ticket_id]), follow=True)
    html = page.content.decode()
    assert "doctor marked this call as missed" in html
    assert reverse("opd:rejoin", args=[consultation.ticket_id]) in html


def test_join_after_the_window_still_says_the_two_minutes_passed(doctor, opd, patient):
    consultation = _called(doctor, opd, patient)
    Ticket.objects.filter(pk=consultation.ticket_id).update(
        call_expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    late = api_for(patient.account).post(f"{API}/tickets/{consultation.ticket_id}/join/")
    assert late.status_code == 409
    assert late.json()["error"]["code"] == "call_expired"


# --- 6. reading a token or a consultation is audited; status polls are not ------------------
def _reads(action: str, patient) -> int:
    return AuditEvent.objects.filter(action=action, patient_id=patient.pk).count()


def test_token_reads_are_audited_but_not_the_status_polls(client, opd, patient):
    ticket_id = take_token(patient, opd).json()["id"]
    client.force_login(patient.account)
    assert client.get(reverse("opd:waiting_room", args=[ticket_id])).status_code == 200
    assert _reads("ticket.view", patient) == 1
    # The app's status read is its poll (every event, every 10 s without the socket): the
    # family reading its own token is not a record read (issue 15: audit on purpose).
    assert api_for(patient.account).get(f"{API}/tickets/{ticket_id}/").status_code == 200
    assert _reads("ticket.view", patient) == 1
    assert client.get(reverse("opd:ticket_status", args=[ticket_id])).status_code == 200
    assert _reads("ticket.view", patient) == 1


def test_the_patients_consultation_page_is_audited(client, doctor, opd, patient):
    consultation = _joined(doctor, opd, patient)
    client.force_login(patient.account)
    before = _reads("consultation.view", patient)
    assert client.get(reverse("opd:consultation", args=[consultation.pk])).status_code == 200
    assert _reads("consultation.view", patient) == before + 1
    client.get(reverse("opd:consultation_status", args=[consultation.pk]))
    assert _reads("consultation.view", patient) == before + 1


# --- 8. a drop while the patient holds another live token -----------------------------------
def _holding_another_token(doctor, opd, patient) -> tuple[Consultation, Ticket]:
    consultation = _joined(doctor, opd, patient)
    Ticket.objects.filter(pk=consultation.ticket_id).update(status=Ticket.Status.COMPLETED)
    other = take_token(patient, OnlineOPDFactory())
    assert other.status_code == 201, other.content
    return consultation, Ticket.objects.get(pk=other.json()["id"])


def test_drop_by_api_when_the_patient_holds_another_token_ends_without_requeue(
    doctor, opd, patient
):
    consultation, other = _holding_another_token(doctor, opd, patient)
    response = api_for(doctor.user).post(f"{API}/consultations/{consultation.pk}/drop/")
    assert response.status_code == 200, response.content
    assert response.json()["outcome"] == "dropped"
    assert Ticket.objects.get(pk=consultation.ticket_id).status == Ticket.Status.COMPLETED
    other.refresh_from_db()
    assert other.status == Ticket.Status.WAITING
    doctor.presence.refresh_from_db()
    assert doctor.presence.status == "available"


def test_drop_by_page_when_the_patient_holds_another_token(client, doctor, opd, patient):
    consultation, other = _holding_another_token(doctor, opd, patient)
    client.force_login(doctor.user)
    response = client.post(reverse("opd:dropped", args=[consultation.pk]), follow=True)
    assert response.status_code == 200
    assert "already holds another token" in response.content.decode()
    consultation.refresh_from_db()
    assert consultation.outcome == Consultation.Outcome.DROPPED


def test_drop_still_returns_the_patient_to_the_head(doctor, opd, patient):
    consultation = _joined(doctor, opd, patient)
    response = api_for(doctor.user).post(f"{API}/consultations/{consultation.pk}/drop/")
    assert response.status_code == 200
    ticket = Ticket.objects.get(pk=consultation.ticket_id)
    assert ticket.status == Ticket.Status.WAITING and ticket.priority == Ticket.Priority.HEAD


# --- 10. the profile's language on the remaining pages --------------------------------------
def test_cancel_and_upload_messages_speak_the_profile_language(client, opd):
    hindi = PatientFactory(preferred_language="hi")
    ticket_id = take_token(hindi, opd).json()["id"]
    client.force_login(hindi.account)
    page = client.post(reverse("opd:cancel", args=[ticket_id]), follow=True).content.decode()
    assert '<html lang="hi">' in page
    assert "Your token is cancelled." not in page
    refused = client.post(
        reverse("opd:upload", args=[hindi.pk]), {"title": "x"}, follow=True
    ).content.decode()
    assert "Choose a PDF, JPEG or PNG file to share." not in refused
