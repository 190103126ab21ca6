"""Who reads a patient's shared documents is the care-team policy's answer: the family
always, the doctor of a consultation while it runs and for the aftercare after it ends,
no longer any doctor who ever consulted the patient, for ever (issue 11)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from sanjeevani.consultations.care_team import DOCTOR_AFTERCARE
from sanjeevani.consultations.models import Consultation
from sanjeevani.consultations.selectors import earlier_consultations_for_doctor
from sanjeevani.patients.documents import open_document_for, upload_document
from sanjeevani.patients.models import PatientDocument
from tests.factories import PatientFactory
from tests.realtime.factories import ConsultationFactory

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture(autouse=True)
def private_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def shared():
    patient = PatientFactory()
    document = upload_document(
        patient.account,
        patient,
        SimpleUploadedFile("r.pdf", PDF, content_type="application/pdf"),
        "Report",
        PatientDocument.Kind.REPORT,
    )
    return patient, document


def reads(user, patient, document) -> tuple[int, int]:
    client = APIClient()
    client.force_authenticate(user)
    listing = client.get(reverse("patient-documents-api:list", args=[patient.pk]))
    file = client.get(reverse("patient-documents-api:file", args=[document.pk]))
    return listing.status_code, file.status_code


def ended(patient, days_ago: float) -> Consultation:
    return ConsultationFactory(
        patient=patient,
        status=Consultation.Status.ENDED,
        ended_at=timezone.now() - dt.timedelta(days=days_ago),
    )


def test_the_doctor_reads_while_the_consultation_runs(shared):
    patient, document = shared
    doctor = ConsultationFactory(patient=patient).doctor.user
    assert reads(doctor, patient, document) == (200, 200)


def test_the_doctor_reads_during_the_aftercare_and_not_after(shared):
    patient, document = shared
    recent = ended(patient, DOCTOR_AFTERCARE.days - 1).doctor.user
    long_ago = ended(patient, DOCTOR_AFTERCARE.days + 1).doctor.user
    assert reads(recent, patient, document) == (200, 200)
    assert reads(long_ago, patient, document) == (404, 404)


def test_the_family_reads_without_any_consultation(shared):
    patient, document = shared
    assert reads(patient.account, patient, document) == (200, 200)


def test_another_family_cannot_upload(shared):
    patient, _document = shared
    client = APIClient()
    client.force_authenticate(PatientFactory().account)
    url = reverse("patient-documents-api:list", args=[patient.pk])
    file = SimpleUploadedFile("r.pdf", PDF, content_type="application/pdf")
    assert client.post(url, {"file": file}, format="multipart").status_code == 404
    assert PatientDocument.objects.filter(patient=patient).count() == 1


def test_a_refusal_passed_in_is_final(shared):
    patient, document = shared
    with pytest.raises(PermissionDenied):
        open_document_for(patient.account, document, permitted=False)


def test_earlier_consultations_empty_once_the_aftercare_is_over():
    patient = PatientFactory()
    first = ended(patient, 40)
    old = ended(patient, DOCTOR_AFTERCARE.days + 1)
    recent = ended(patient, 1)
    assert earlier_consultations_for_doctor(old, old.doctor.user) == []
    assert {c.pk for c in earlier_consultations_for_doctor(recent, recent.doctor.user)} == {
        first.pk,
        old.pk,
    }
    with pytest.raises(PermissionDenied):
        earlier_consultations_for_doctor(recent, old.doctor.user)
