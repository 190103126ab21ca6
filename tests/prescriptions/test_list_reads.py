"""The prescription list (GET /api/v1/prescriptions/): summaries only, scoped to the caller,
and every read audited, one row per patient listed (issue 9, item 7)."""

from __future__ import annotations

import pytest

from sanjeevani.audit.models import AuditEvent
from tests.factories import PatientAccountFactory, PatientFactory
from tests.prescriptions.conftest import API, api_for, issue, line
from tests.prescriptions.factories import ConsultationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def issued(consultation) -> dict:
    response = issue(consultation, [line("paracetamol")])
    assert response.status_code == 201, response.content
    return response.json()


def test_the_list_holds_summaries_not_the_clinical_content(audio_consultation):
    rx = issued(audio_consultation)
    [summary] = api_for(audio_consultation.patient.account).get(API).json()
    assert summary["id"] == rx["id"]
    assert summary["patient"] == str(audio_consultation.patient_id)
    assert summary["medicine_count"] == 1
    assert summary["url"].endswith(f"/api/v1/prescriptions/{rx['id']}/")
    for clinical in ("content", "items", "signature", "diagnoses", "advice"):
        assert clinical not in summary


def test_a_family_sees_its_members_and_no_one_elses():
    account = PatientAccountFactory()
    mother = ConsultationFactory(patient=PatientFactory(account=account))
    child = ConsultationFactory(patient=PatientFactory(account=account))
    stranger = ConsultationFactory()
    for consultation in (mother, child, stranger):
        issued(consultation)
    listed = {p["patient"] for p in api_for(account).get(API).json()}
    assert listed == {str(mother.patient_id), str(child.patient_id)}


def test_a_doctor_sees_only_the_prescriptions_they_wrote():
    mine = ConsultationFactory()
    theirs = ConsultationFactory(patient=mine.patient)  # same patient, another doctor
    issued(mine)
    issued(theirs)
    listed = api_for(mine.doctor.user).get(API).json()
    assert [p["doctor_name"] for p in listed] == [
        mine.doctor.user.get_full_name() or mine.doctor.user.get_username()
    ]


def test_every_list_read_is_audited_once_per_patient_listed():
    account = PatientAccountFactory()
    first = ConsultationFactory(patient=PatientFactory(account=account))
    second = ConsultationFactory(patient=PatientFactory(account=account))
    rx_first, rx_second = issued(first), issued(second)
    assert not AuditEvent.objects.filter(action="prescription.list").exists()
    assert api_for(account).get(API).status_code == 200
    events = AuditEvent.objects.filter(action="prescription.list")
    assert events.count() == 2
    assert {e.patient_id for e in events} == {first.patient_id, second.patient_id}
    assert all(e.actor == account for e in events)
    by_patient = {e.patient_id: e.detail["prescriptions"] for e in events}
    assert by_patient[first.patient_id] == [rx_first["id"]]
    assert by_patient[second.patient_id] == [rx_second["id"]]


def test_an_empty_list_read_is_audited_too():
    account = PatientAccountFactory()
    assert api_for(account).get(API).json() == []
    [event] = AuditEvent.objects.filter(action="prescription.list")
    assert event.patient_id is None
    assert event.actor == account
