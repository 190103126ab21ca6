"""The room over HTTP: join tokens, chat history, file sharing and participants."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from sanjeevani.accounts.models import Role
from sanjeevani.audit.models import AuditEvent
from sanjeevani.consultations.models import Consultation
from sanjeevani.realtime import services, tokens
from sanjeevani.realtime.models import ChatMessage
from tests.factories import DoctorFactory, PatientAccountFactory, StaffUserFactory
from tests.realtime.factories import HubSpokeConsultationFactory

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00"
    b"\x90wS\xde\x00\x00\x00\x0cIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00"
    b"\x00\x00IEND\xaeB`\x82"
)


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def token_url(consultation) -> str:
    return f"/api/v1/realtime/rooms/{consultation.pk}/join-token"


def test_participants_get_a_token_bound_to_them(consultation, doctor_user, patient_user):
    for user, role in ((doctor_user, "doctor"), (patient_user, "patient")):
        response = client_for(user).get(token_url(consultation))
        assert response.status_code == 200
        body = response.json()
        assert body["role"] == role
        assert body["websocket_path"] == f"/ws/room/{consultation.pk}/"
        claims = tokens.read_token(body["token"])
        assert (claims.consultation_id, claims.user_id) == (consultation.pk, user.pk)
        assert response["Cache-Control"] == "no-store"


def test_hub_and_spoke_health_worker_is_a_participant():
    consultation = HubSpokeConsultationFactory(patient__account=None)
    response = client_for(consultation.requested_by).get(token_url(consultation))
    assert response.status_code == 200
    assert response.json()["role"] == "health_worker"


def test_stranger_anonymous_and_finished_are_refused_a_token(consultation, patient_user):
    assert client_for(PatientAccountFactory()).get(token_url(consultation)).status_code == 404
    assert client_for(DoctorFactory().user).get(token_url(consultation)).status_code == 404
    assert APIClient().get(token_url(consultation)).status_code == 401
    consultation.status = Consultation.Status.ENDED
    consultation.save()
    response = client_for(patient_user).get(token_url(consultation))
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "This consultation has ended."


def test_shared_pdf_is_stored_announced_and_served_only_to_participants(
    consultation, doctor_user, patient_user
):
    upload = SimpleUploadedFile("report.pdf", PDF, content_type="application/pdf")
    response = client_for(patient_user).post(
        f"/api/v1/realtime/rooms/{consultation.pk}/files", {"file": upload}, format="multipart"
    )
    assert response.status_code == 201, response.json()
    message = response.json()["message"]
    assert (message["seq"], message["kind"]) == (1, "file")
    assert message["file"]["content_type"] == "application/pdf"
    stored = ChatMessage.objects.get()
    assert "room-files" in stored.file.path and stored.file_name == "report.pdf"

    url = message["file"]["url"]
    download = client_for(doctor_user).get(url)
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PDF
    assert AuditEvent.objects.filter(action="room.file_download", actor=doctor_user).count() == 1
    assert client_for(PatientAccountFactory()).get(url).status_code == 404

    history = client_for(doctor_user).get(f"/api/v1/realtime/rooms/{consultation.pk}/messages")
    assert [m["seq"] for m in history.json()["messages"]] == [1]


@pytest.mark.parametrize(
    "name,content,code",
    [
        ("photo.png", b"MZ\x90\x00 not really a png" * 10, "bad_type"),  # type from content
        ("notes.pdf", b"", "empty"),
    ],
)
def test_shared_file_type_is_checked_from_content(consultation, patient_user, name, content, code):
    upload = SimpleUploadedFile(name, content, content_type="image/png")
    response = client_for(patient_user).post(
        f"/api/v1/realtime/rooms/{consultation.pk}/files", {"file": upload}, format="multipart"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"
    assert ChatMessage.objects.count() == 0


def test_shared_file_size_is_limited(consultation, patient_user, settings):
    settings.UPLOAD_MAX_BYTES = 1024
    upload = SimpleUploadedFile("big.png", PNG + b"\x00" * 2048, content_type="image/png")
    response = client_for(patient_user).post(
        f"/api/v1/realtime/rooms/{consultation.pk}/files", {"file": upload}, format="multipart"
    )
    assert response.status_code == 400
    assert "limit" in response.json()["error"]["message"]
    ok = client_for(patient_user).post(
        f"/api/v1/realtime/rooms/{consultation.pk}/files",
        {"file": SimpleUploadedFile("x.png", PNG)},
        format="multipart",
    )
    assert ok.status_code == 201
    assert ok.json()["message"]["file"]["content_type"] == "image/png"


def test_only_the_doctor_adds_participants_and_at_most_four(
    consultation, doctor_user, patient_user
):
    url = f"/api/v1/realtime/rooms/{consultation.pk}/participants"
    specialist = DoctorFactory().user
    interpreter = StaffUserFactory(role=Role.OPERATOR)
    family = PatientAccountFactory()

    refused = client_for(patient_user).post(
        url, {"user_id": str(family.pk), "role": "family"}, format="json"
    )
    assert refused.status_code == 403
    not_a_doctor = client_for(doctor_user).post(
        url, {"user_id": str(family.pk), "role": "specialist"}, format="json"
    )
    assert not_a_doctor.status_code == 400

    for user, role in ((specialist, "specialist"), (interpreter, "interpreter")):
        response = client_for(doctor_user).post(
            url, {"user_id": str(user.pk), "role": role}, format="json"
        )
        assert response.status_code == 201, response.json()
    full = client_for(doctor_user).post(
        url, {"user_id": str(family.pk), "role": "family"}, format="json"
    )
    assert full.status_code == 400
    assert "at most 4" in full.json()["error"]["message"]

    members = client_for(specialist).get(url).json()["members"]
    assert [m["role"] for m in members] == ["doctor", "patient", "specialist", "interpreter"]
    assert client_for(interpreter).get(token_url(consultation)).status_code == 200
    assert AuditEvent.objects.filter(action="room.participant_added").count() == 2


def test_chat_service_refuses_empty_and_ended(consultation, patient_user):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        services.post_chat_message(patient_user, consultation.pk, "   ")
    services.post_chat_message(patient_user, consultation.pk, "hello")
    consultation.status = Consultation.Status.ENDED
    consultation.save()
    with pytest.raises(ValidationError):
        services.post_chat_message(patient_user, consultation.pk, "still there?")
    assert list(ChatMessage.objects.values_list("seq", "text")) == [(1, "hello")]


def test_room_page_for_participants_only(consultation, doctor_user, client):
    client.force_login(doctor_user)
    page = client.get(f"/room/{consultation.pk}/")
    assert page.status_code == 200
    assert b"data-room" in page.content and b"realtime/room.js" in page.content
    client.force_login(PatientAccountFactory())
    assert client.get(f"/room/{consultation.pk}/").status_code == 404


def test_probe_returns_the_asked_bytes_capped(doctor_user):
    response = client_for(doctor_user).get("/api/v1/realtime/probe?bytes=5000")
    assert len(response.content) == 5000
    big = client_for(doctor_user).get("/api/v1/realtime/probe?bytes=99999999")
    assert len(big.content) == 256 * 1024
    assert io.BytesIO(big.content).read(1) is not None
