"""Who may issue, when, and what happens around it (SMS after commit, audit)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from sanjeevani.audit.models import AuditEvent
from sanjeevani.prescriptions.models import Prescription
from tests.factories import DoctorFactory, PatientAccountFactory
from tests.prescriptions.conftest import API, api_for, issue, line
from tests.prescriptions.factories import ConsultationFactory

pytestmark = pytest.mark.django_db


def error(response, status: int) -> str:
    assert response.status_code == status, response.content
    return response.json()["error"]["message"]


def test_identity_not_confirmed_is_refused():
    consultation = ConsultationFactory(identity_confirmed_at=None)
    message = error(issue(consultation, [line("paracetamol")]), 400)
    assert message == "Confirm the patient's identity and age before writing a prescription."
    assert not Prescription.objects.exists()


def test_only_the_consultations_doctor_can_issue(audio_consultation):
    payload = {"consultation": str(audio_consultation.pk), "items": [line("paracetamol")]}
    other_doctor = DoctorFactory().user
    assert api_for(other_doctor).post(API, payload, format="json").status_code == 403
    patient_account = audio_consultation.patient.account
    assert api_for(patient_account).post(API, payload, format="json").status_code == 403
    assert not Prescription.objects.exists()


def test_unknown_consultation_is_404(audio_consultation):
    payload = {"consultation": "7d0c2c8e-0000-4000-8000-000000000000", "items": []}
    response = api_for(audio_consultation.doctor.user).post(API, payload, format="json")
    assert response.status_code == 404


def test_ended_consultation_allows_a_prescription_within_the_hour_only():
    recent = ConsultationFactory(status="ended", ended_at=timezone.now() - dt.timedelta(minutes=20))
    assert issue(recent, [line("paracetamol")]).status_code == 201
    old = ConsultationFactory(status="ended", ended_at=timezone.now() - dt.timedelta(hours=2))
    assert "more than an hour ago" in error(issue(old, [line("paracetamol")]), 400)


def test_incomplete_line_names_what_is_missing(audio_consultation):
    response = issue(audio_consultation, [line("paracetamol", dose="", duration="")])
    assert error(response, 400) == "Line 1 — paracetamol: give the dose, duration."


def test_empty_prescription_is_refused():
    consultation = ConsultationFactory(advice="", investigations="")
    assert "at least one medicine" in error(issue(consultation, []), 400)


def test_snapshot_holds_the_record_and_the_people(audio_consultation):
    rx = issue(audio_consultation, [line("paracetamol")], follow_up_on="2030-02-01").json()
    content = rx["content"]
    doctor, patient = audio_consultation.doctor, audio_consultation.patient
    assert content["doctor"] == {
        "name": doctor.user.get_full_name(),
        "qualification": doctor.qualification,
        "registration_number": doctor.registration_number,
        "council": doctor.council,
        "phone": doctor.contact_phone,
        "email": doctor.contact_email,
        "key_id": rx["doctor_key_id"],
    }
    assert doctor.contact_phone and rx["doctor_key_id"]
    assert content["patient"]["name"] == patient.name
    assert content["patient"]["age_years"] == 35
    assert content["patient"]["patient_number"] == patient.patient_number
    assert content["complaints"] == audio_consultation.complaints
    assert content["diagnoses"] == [
        {"code": "R50.9", "label": "Fever, unspecified", "provisional": False}
    ]
    assert content["advice"] == "Drink plenty of fluids"
    assert content["follow_up_on"] == "2030-02-01"
    assert content["issued_at"].endswith("+05:30")
    assert content["statement"] == "This prescription is generated on a teleconsultation"
    assert content["medicines"][0]["route"] == "oral"


def test_language_defaults_to_the_patients_preference():
    consultation = ConsultationFactory(patient__preferred_language="hi")
    assert issue(consultation, [line("paracetamol")]).json()["language"] == "hi"


def test_sms_with_the_download_link_goes_after_commit(
    audio_consultation, outbox, django_capture_on_commit_callbacks
):
    mobile = audio_consultation.patient.account.mobile
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        rx = issue(audio_consultation, [line("paracetamol")]).json()
    assert outbox.messages(mobile) == []
    for callback in callbacks:
        callback()
    [sms] = outbox.messages(mobile)
    assert f"/rx/{rx['id']}/pdf/" in sms.body
    assert audio_consultation.doctor.registration_number in sms.body


def test_refused_prescription_sends_no_sms(
    audio_consultation, outbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        assert issue(audio_consultation, [line("alprazolam")]).status_code == 400
    assert outbox.messages() == []


def test_issue_is_audited(audio_consultation):
    rx = issue(audio_consultation, [line("paracetamol")]).json()
    event = AuditEvent.objects.get(action="prescription.issue")
    assert event.object_id == rx["id"]
    assert event.patient_id == audio_consultation.patient_id
    assert event.actor == audio_consultation.doctor.user


def test_patient_lists_only_their_familys_prescriptions(audio_consultation):
    issue(audio_consultation, [line("paracetamol")])
    other = ConsultationFactory()
    issue(other, [line("paracetamol")])
    mine = api_for(audio_consultation.patient.account).get(API).json()
    assert [p["patient"] for p in mine] == [str(audio_consultation.patient_id)]
    assert api_for(PatientAccountFactory()).get(API).json() == []


def test_the_answer_shows_the_lines_as_stored_without_reading_them_back(audio_consultation):
    lines = [line("paracetamol"), line("cetirizine")]
    with CaptureQueriesContext(connection) as queries:
        response = issue(audio_consultation, lines)
    assert response.status_code == 201, response.content
    read_back = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].startswith("SELECT") and 'FROM "prescriptions_prescriptionitem"' in q["sql"]
    ]
    assert read_back == []
    answered = response.json()
    stored = api_for(audio_consultation.doctor.user).get(f"{API}{answered['id']}/")
    assert stored.status_code == 200, stored.content
    assert answered["items"] == stored.json()["items"]
    assert [item["generic_name"] for item in answered["items"]] == ["paracetamol", "cetirizine"]
    assert answered["superseded_by"] is None is stored.json()["superseded_by"]
