"""Immutability, correction, signatures and the public verification page."""

from __future__ import annotations

import base64
import stat

import pytest
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from sanjeevani.audit.models import AuditEvent
from sanjeevani.prescriptions import signing
from sanjeevani.prescriptions.models import Prescription, PrescriptionIsImmutable
from sanjeevani.prescriptions.signing import canonical_json, verify
from tests.factories import PASSWORD
from tests.prescriptions.conftest import api_for, issue, line
from tests.prescriptions.factories import ConsultationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def prescription(audio_consultation) -> Prescription:
    response = issue(audio_consultation, [line("paracetamol")])
    assert response.status_code == 201, response.content
    return Prescription.objects.get(pk=response.json()["id"])


def tamper(prescription: Prescription, **patient_changes) -> None:
    """Change the stored content behind the application's back, as an attacker with the
    database would."""
    content = dict(prescription.content)
    content["patient"] = {**content["patient"], **patient_changes}
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Prescription._meta.db_table} SET content = %s WHERE id = %s",
            [
                canonical_json(content).decode(),
                prescription.pk.hex if connection.vendor == "sqlite" else prescription.pk,
            ],
        )


def test_issued_prescription_cannot_be_changed(prescription):
    prescription.content["medicines"][0]["dose"] = "10 tablets"
    with pytest.raises(PrescriptionIsImmutable):
        prescription.save()
    with pytest.raises(PrescriptionIsImmutable):
        Prescription.objects.filter(pk=prescription.pk).update(language="hi")
    with pytest.raises(PrescriptionIsImmutable):
        prescription.delete()
    item = prescription.items.get()
    item.dose = "10 tablets"
    with pytest.raises(PrescriptionIsImmutable):
        item.save()
    prescription.refresh_from_db()
    assert prescription.content["medicines"][0]["dose"] == "1 tablet"


def test_status_cannot_go_back_to_issued(prescription):
    Prescription.objects.filter(pk=prescription.pk).update(status="superseded")
    prescription.refresh_from_db()
    prescription.status = "issued"
    with pytest.raises(PrescriptionIsImmutable):
        prescription.save()


def test_correction_supersedes_and_the_old_verify_page_says_so(client, prescription):
    doctor = prescription.doctor.user
    response = api_for(doctor).post(
        f"/api/v1/prescriptions/{prescription.pk}/correct/",
        {"items": [line("paracetamol", dose="2 tablets")], "password": PASSWORD},
        format="json",
    )
    assert response.status_code == 201, response.content
    new = response.json()
    assert new["supersedes"] == str(prescription.pk)
    prescription.refresh_from_db()
    assert prescription.status == "superseded"
    assert prescription.content["medicines"][0]["dose"] == "1 tablet"

    old_page = client.get(f"/rx/v/{prescription.verification_code}/")
    assert old_page.status_code == 200
    assert "Superseded by a newer prescription" in old_page.content.decode()
    new_page = client.get(f"/rx/v/{new['verification_code']}/")
    assert "Genuine and unaltered" in new_page.content.decode()
    assert AuditEvent.objects.filter(action="prescription.supersede").count() == 1

    again = api_for(doctor).post(
        f"/api/v1/prescriptions/{prescription.pk}/correct/",
        {"items": [line("paracetamol")], "password": PASSWORD},
        format="json",
    )
    assert again.status_code == 400
    assert "already corrected" in again.json()["error"]["message"]


def test_signature_verifies_and_fails_after_tampering(client, prescription):
    assert verify(prescription)
    tamper(prescription, name="Somebody Else")
    prescription.refresh_from_db()
    assert prescription.content["patient"]["name"] == "Somebody Else"
    assert not verify(prescription)
    page = client.get(f"/rx/v/{prescription.verification_code}/").content.decode()
    assert "Altered" in page
    assert "Somebody" not in page
    api = client.get(f"/api/v1/prescriptions/verify/{prescription.verification_code}/")
    body = api.json()
    assert {key: body[key] for key in ("status", "summary")} == {
        "status": "altered",
        "summary": None,
    }
    assert body["signatures"]["platform"]["status"] == "invalid"


def test_published_public_key_verifies_the_signature(client, prescription):
    response = client.get("/rx/public-key.pem")
    assert response.status_code == 200
    key = load_pem_public_key(response.content)
    key.verify(base64.b64decode(prescription.signature), canonical_json(prescription.content))


def test_verification_page_shows_only_what_the_pharmacist_needs(client):
    consultation = ConsultationFactory(
        patient__name="Asha Devi Kumari", patient__sex="F", confirmed_age_years=42
    )
    rx = issue(consultation, [line("paracetamol")]).json()
    response = client.get(f"/rx/v/{rx['verification_code']}/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Genuine and unaltered" in page
    assert "A. D. K." in page
    assert "42" in page
    assert consultation.doctor.registration_number in page
    assert "paracetamol" in page
    for hidden in (
        "Asha",
        "Kumari",
        consultation.patient.account.mobile,
        "Fever, unspecified",
        consultation.patient.patient_number,
    ):
        assert hidden not in page, hidden
    audit = AuditEvent.objects.get(action="prescription.verify")
    assert audit.patient_id == consultation.patient_id


def test_public_verify_api_needs_no_sign_in(client, prescription):
    response = client.get(f"/api/v1/prescriptions/verify/{prescription.verification_code}/")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "genuine"
    assert set(body["summary"]["patient"]) == {"initials", "age_years", "sex"}
    assert "name" not in body["summary"]["patient"]


def test_unknown_code_is_not_found(client):
    response = client.get("/rx/v/nosuchcode/")
    assert response.status_code == 404
    assert "Not found" in response.content.decode()
    assert client.get("/api/v1/prescriptions/verify/nosuchcode/").json()["status"] == "not_found"


def test_verification_is_rate_limited_per_address(client, settings):
    from sanjeevani.prescriptions import views

    for _ in range(views.VERIFY_RATE_PER_MINUTE):
        assert client.get("/rx/v/nosuchcode/").status_code == 404
    response = client.get("/rx/v/nosuchcode/")
    assert response.status_code == 429
    assert "wait a minute" in response.content.decode()


def test_signing_key_is_created_private_in_development(signing_key, prescription):
    assert signing_key.exists()
    assert stat.S_IMODE(signing_key.stat().st_mode) == 0o600
    assert prescription.key_id == signing.key_id()


def test_production_refuses_to_generate_a_signing_key(settings, tmp_path):
    settings.PRODUCTION = True
    settings.SIGNING_KEY_FILE = tmp_path / "missing.pem"
    signing._load_private_key.cache_clear()
    with pytest.raises(ImproperlyConfigured, match="create_signing_key"):
        signing.private_key()
    assert not settings.SIGNING_KEY_FILE.exists()
