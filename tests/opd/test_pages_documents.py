"""Patient documents: the upload service and the API a mobile app uses (same rules as the
pages: the family uploads and reads; the patient's doctor reads; everyone else gets 404)."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from rest_framework.test import APIClient

from sanjeevani.audit.models import AuditEvent
from sanjeevani.consultations import services as consultation_services
from sanjeevani.patients.documents import upload_document
from sanjeevani.patients.models import PatientDocument
from sanjeevani.queueing import services as queue
from tests.factories import DoctorFactory, PatientFactory

from .pages_support import make_clinic, pdf_bytes, png_upload, text_upload

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _private_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "private-media"
    settings.SMS_BACKEND = "file"
    settings.SMS_OUTBOX_DIR = tmp_path / "outbox"


@pytest.fixture
def clinic():
    return make_clinic()


def api_as(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_service_refuses_another_familys_profile_and_writes_nothing(clinic):
    stranger = PatientFactory()
    with pytest.raises(PermissionDenied):
        upload_document(stranger.account, clinic.patient, png_upload(), "x", "report")
    with pytest.raises(ValidationError):
        upload_document(clinic.patient.account, clinic.patient, text_upload(), "x", "report")
    assert not PatientDocument.objects.exists()


def test_upload_list_and_download_through_the_api(clinic):
    from django.core.files.uploadedfile import SimpleUploadedFile

    family = api_as(clinic.patient.account)
    url = f"/api/v1/patients/{clinic.patient.pk}/documents/"
    pdf = SimpleUploadedFile("old-rx.pdf", pdf_bytes(), content_type="application/pdf")
    created = family.post(url, {"file": pdf, "title": "Old prescription", "kind": "prescription"})
    assert created.status_code == 201
    assert created.json()["content_type"] == "application/pdf"
    assert created.json()["kind"] == "prescription"
    listed = family.get(url).json()
    assert [d["title"] for d in listed] == ["Old prescription"]

    file_url = f"/api/v1/patients/documents/{created.json()['id']}/file/"
    download = family.get(file_url)
    assert download.status_code == 200
    assert b"".join(download.streaming_content).startswith(b"%PDF")
    assert AuditEvent.objects.filter(
        action="patient_document.download", patient_id=clinic.patient.pk
    ).exists()


def test_api_refuses_a_disguised_file_with_a_plain_message(clinic):
    response = api_as(clinic.patient.account).post(
        f"/api/v1/patients/{clinic.patient.pk}/documents/",
        {"file": text_upload(), "kind": "report"},
    )
    assert response.status_code == 400
    assert "Only PDF, JPEG or PNG" in response.json()["error"]["message"]


def test_strangers_get_404_and_the_patients_doctor_may_read(clinic):
    document = upload_document(
        clinic.patient.account, clinic.patient, png_upload(), "Scan", "report"
    )
    list_url = f"/api/v1/patients/{clinic.patient.pk}/documents/"
    file_url = f"/api/v1/patients/documents/{document.pk}/file/"
    stranger = api_as(PatientFactory().account)
    assert stranger.get(list_url).status_code == 404
    assert stranger.get(file_url).status_code == 404
    assert stranger.post(list_url, {"file": png_upload()}).status_code == 404
    other_doctor = api_as(DoctorFactory().user)
    assert other_doctor.get(file_url).status_code == 404

    queue.join_queue(clinic.patient.account, clinic.patient, clinic.opd)
    queue.go_online(clinic.doctor.user, clinic.opd)
    consultation_services.call_next_patient(clinic.doctor.user)
    doctor = api_as(clinic.doctor.user)
    assert doctor.get(list_url).json()[0]["title"] == "Scan"
    assert doctor.get(file_url).status_code == 200
