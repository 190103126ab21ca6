"""A signing form sent twice (the answer lost after the commit: a dropped connection, a 503
from a restarting node) returns the prescription already signed, never a second one."""

from __future__ import annotations

import uuid

import pytest

from sanjeevani.audit.models import AuditEvent
from sanjeevani.prescriptions.models import Prescription
from sanjeevani.rollups.models import StateTotal
from tests.factories import PASSWORD
from tests.prescriptions.conftest import api_for, issue, line
from tests.prescriptions.factories import ConsultationFactory

pytestmark = pytest.mark.django_db


def issued_total() -> int:
    return sum(StateTotal.objects.values_list("prescriptions", flat=True))


def test_the_same_form_sent_again_returns_the_first_prescription(
    audio_consultation, outbox, django_capture_on_commit_callbacks
):
    key = str(uuid.uuid4())
    with django_capture_on_commit_callbacks(execute=True):
        first = issue(audio_consultation, [line("paracetamol")], client_key=key)
    assert first.status_code == 201, first.content
    with django_capture_on_commit_callbacks(execute=True):
        again = issue(audio_consultation, [line("paracetamol")], client_key=key)
    assert again.status_code == 201, again.content
    assert again.json()["id"] == first.json()["id"]
    assert Prescription.objects.filter(consultation=audio_consultation).count() == 1
    assert AuditEvent.objects.filter(action="prescription.issue").count() == 1
    assert issued_total() == 1
    assert len(outbox.messages()) == 1


def test_a_resend_needs_no_second_password(audio_consultation):
    key = str(uuid.uuid4())
    first = issue(audio_consultation, [line("paracetamol")], client_key=key)
    assert first.status_code == 201, first.content
    again = issue(audio_consultation, [line("paracetamol")], client_key=key, password=None)
    assert again.status_code == 201, again.content
    assert again.json()["id"] == first.json()["id"]


def test_a_new_form_signs_a_second_prescription(audio_consultation):
    first = issue(audio_consultation, [line("paracetamol")], client_key=str(uuid.uuid4()))
    second = issue(audio_consultation, [line("cetirizine")], client_key=str(uuid.uuid4()))
    assert first.status_code == second.status_code == 201, second.content
    assert first.json()["id"] != second.json()["id"]
    assert issued_total() == 2


def test_a_key_used_on_another_consultation_is_refused(audio_consultation):
    key = str(uuid.uuid4())
    assert issue(audio_consultation, [line("paracetamol")], client_key=key).status_code == 201
    other = ConsultationFactory(doctor=audio_consultation.doctor)
    refused = issue(other, [line("paracetamol")], client_key=key)
    assert refused.status_code == 400
    assert "already used for another prescription" in refused.json()["error"]["message"]
    assert not Prescription.objects.filter(consultation=other).exists()


def test_a_malformed_key_is_a_field_error(audio_consultation):
    refused = issue(audio_consultation, [line("paracetamol")], client_key="not-a-key")
    assert refused.status_code == 400
    assert "client_key" in refused.content.decode()
    assert not Prescription.objects.exists()


def test_a_resent_correction_returns_the_correction(audio_consultation):
    original = issue(audio_consultation, [line("paracetamol")])
    assert original.status_code == 201, original.content
    doctor = audio_consultation.doctor.user
    url = f"/api/v1/prescriptions/{original.json()['id']}/correct/"
    body = {
        "items": [line("paracetamol", dose="2 tablets")],
        "password": PASSWORD,
        "client_key": str(uuid.uuid4()),
    }
    first = api_for(doctor).post(url, body, format="json")
    again = api_for(doctor).post(url, body, format="json")
    assert first.status_code == again.status_code == 201, again.content
    assert again.json()["id"] == first.json()["id"]
    assert Prescription.objects.filter(consultation=audio_consultation).count() == 2
