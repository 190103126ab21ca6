"""The doctor's own signature: made only after re-confirming with the password or a TOTP
code, shown beside the platform's on verification, and still valid after key rotation."""

from __future__ import annotations

import base64

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_otp.oath import totp as make_totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from sanjeevani.audit.models import AuditEvent
from sanjeevani.prescriptions import signing
from sanjeevani.prescriptions.doctor_keys import doctor_signature_status, rotate_doctor_key
from sanjeevani.prescriptions.models import DoctorSigningKey, Prescription
from tests.factories import PASSWORD
from tests.prescriptions.conftest import api_for, issue, line
from tests.prescriptions.factories import ConsultationFactory

pytestmark = pytest.mark.django_db
VERIFY_API = "/api/v1/prescriptions/verify/{}/"


def verification(client, rx) -> dict:
    return client.get(VERIFY_API.format(rx.verification_code)).json()


def issued(consultation=None, **body) -> Prescription:
    consultation = consultation or ConsultationFactory()
    response = issue(consultation, [line("paracetamol")], **body)
    assert response.status_code == 201, response.content
    return Prescription.objects.get(pk=response.json()["id"])


def test_prescription_carries_both_signatures_and_both_verify(client):
    rx = issued()
    key = DoctorSigningKey.objects.get(doctor=rx.doctor)
    assert rx.doctor_key_id == key.key_id == rx.content["doctor"]["key_id"]
    assert rx.doctor_key_id != rx.key_id
    assert signing.verify(rx)
    assert doctor_signature_status(rx) == "valid"
    body = verification(client, rx)
    assert body["status"] == "genuine"
    assert body["signatures"] == {
        "platform": {"key_id": rx.key_id, "status": "valid"},
        "doctor": {"key_id": rx.doctor_key_id, "status": "valid"},
    }
    page = client.get(f"/rx/v/{rx.verification_code}/").content.decode()
    assert "Doctor&#x27;s own signature" in page or "Doctor's own signature" in page
    assert rx.doctor_key_id in page


def test_private_key_is_sealed_not_stored_in_the_clear():
    rx = issued()
    key = DoctorSigningKey.objects.get(doctor=rx.doctor)
    assert key.sealed_private_key.startswith("v1:")
    private = signing.unseal_private_key(key.sealed_private_key, key.key_id)
    raw = private.private_bytes_raw()
    assert base64.b64encode(raw).decode() not in key.sealed_private_key
    with pytest.raises(signing.SigningKeyUnavailable):
        signing.unseal_private_key(key.sealed_private_key, "0" * 16)


@pytest.mark.parametrize("password", [None, "", "not the password"])
def test_wrong_or_missing_password_is_a_clear_400_and_nothing_is_written(password):
    consultation = ConsultationFactory()
    response = issue(consultation, [line("paracetamol")], password=password)
    assert response.status_code == 400, response.content
    [message] = response.json()["error"]["fields"]["password"]
    assert "password" in message
    assert not Prescription.objects.exists()
    assert not DoctorSigningKey.objects.exists()
    assert not AuditEvent.objects.filter(action="prescription.issue").exists()


def test_wrong_passwords_count_toward_the_staff_sign_in_ceilings(settings):
    """Re-confirmation is no side door for guessing: after the free failures of sign-in
    even the right password must wait, and nothing is issued."""
    settings.SIGN_IN_BACKOFF_BASE_SECONDS = 600  # the wait must outlast a slow test run
    consultation = ConsultationFactory()
    free = min(
        settings.STAFF_PASSWORD_FREE_FAILURES, settings.STAFF_PASSWORD_FREE_FAILURES_PER_ADDRESS
    )
    for _ in range(free):
        response = issue(consultation, [line("paracetamol")], password="wrong")
        assert "That password is not right" in response.json()["error"]["fields"]["password"][0]
    doctor = consultation.doctor.user
    failed = AuditEvent.objects.filter(actor=doctor, action="auth.staff_password_failed")
    assert failed.count() == free
    response = issue(consultation, [line("paracetamol")])  # now even the right one waits
    assert response.status_code == 400
    assert "Too many wrong passwords" in response.json()["error"]["fields"]["password"][0]
    assert not Prescription.objects.exists()


def test_totp_code_re_confirms_instead_of_the_password():
    consultation = ConsultationFactory()
    device = TOTPDevice.objects.create(user=consultation.doctor.user, name="phone", confirmed=True)
    code = f"{make_totp(device.bin_key, device.step, device.t0, device.digits):06d}"
    rx = issued(consultation, password=None, totp=code)
    assert doctor_signature_status(rx) == "valid"
    event = AuditEvent.objects.get(action="prescription.issue")
    assert event.detail["reconfirmed_by"] == "totp"


def test_wrong_totp_is_a_400_on_the_totp_field():
    consultation = ConsultationFactory()
    TOTPDevice.objects.create(user=consultation.doctor.user, name="phone", confirmed=True)
    response = issue(consultation, [line("paracetamol")], password=None, totp="000000")
    assert response.status_code == 400
    assert "authenticator code is not right" in response.json()["error"]["fields"]["totp"][0]


def test_old_prescriptions_keep_verifying_after_rotation(client):
    consultation = ConsultationFactory()
    before = issued(consultation)
    old_key = DoctorSigningKey.objects.get(doctor=consultation.doctor)
    new_key = rotate_doctor_key(None, consultation.doctor, reason="test")
    old_key.refresh_from_db()
    assert old_key.retired_at is not None and new_key.retired_at is None
    after = issued(ConsultationFactory(doctor=consultation.doctor, patient=consultation.patient))
    assert after.doctor_key_id == new_key.key_id != before.doctor_key_id
    for rx in (before, after):
        body = verification(client, rx)
        assert body["status"] == "genuine"
        assert body["signatures"]["doctor"] == {"key_id": rx.doctor_key_id, "status": "valid"}
    assert AuditEvent.objects.filter(action="prescription.doctor_key_rotated").count() == 1


def test_rotation_command(capsys):
    consultation = ConsultationFactory()
    rx = issued(consultation)
    doctor = consultation.doctor
    call_command("rotate_doctor_key", doctor.registration_number, "--council", doctor.council)
    assert "new key" in capsys.readouterr().out
    assert DoctorSigningKey.objects.filter(doctor=doctor, retired_at__isnull=True).count() == 1
    assert DoctorSigningKey.objects.filter(doctor=doctor).count() == 2
    assert doctor_signature_status(rx) == "valid"


def test_keys_unseal_with_the_previous_secret_in_fallbacks(settings):
    rx = issued()
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-new-secret-" + "x" * 60
    second = issued(ConsultationFactory(doctor=rx.doctor))
    assert second.doctor_key_id == rx.doctor_key_id
    assert doctor_signature_status(second) == "valid"


def test_lost_secret_is_a_clear_message_and_rotation_fixes_it(settings):
    rx = issued()
    settings.SECRET_KEY = "a-new-secret-" + "y" * 60
    consultation = ConsultationFactory(doctor=rx.doctor)
    response = issue(consultation, [line("paracetamol")])
    assert response.status_code == 400
    assert "rotate your signing key" in response.json()["error"]["message"]
    rotate_doctor_key(None, rx.doctor)
    assert issue(consultation, [line("paracetamol")]).status_code == 201


def test_swapped_public_key_or_tampered_content_fails_the_doctor_signature(client):
    rx = issued()
    key = DoctorSigningKey.objects.get(doctor=rx.doctor)
    _kid, other_public, _sealed = signing.new_doctor_key()
    DoctorSigningKey.objects.filter(pk=key.pk).update(public_key=other_public)
    assert doctor_signature_status(rx) == "invalid"
    body = verification(client, rx)
    assert body["status"] == "altered"
    assert body["summary"] is None
    assert body["signatures"]["doctor"]["status"] == "invalid"
    assert body["signatures"]["platform"]["status"] == "valid"


def test_prescription_from_before_doctor_signatures_still_verifies(client):
    """Version 1 content (no doctor key) signed by the platform alone, stored as it was."""
    rx = issued()
    legacy = {**rx.content, "version": 1}
    legacy["doctor"] = {k: v for k, v in legacy["doctor"].items() if k != "key_id"}
    signature, key_id = signing.sign_content(legacy)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Prescription._meta.db_table} SET content = %s, signature = %s, "
            "key_id = %s, doctor_signature = '', doctor_key_id = '' WHERE id = %s",
            [
                signing.canonical_json(legacy).decode(),
                signature,
                key_id,
                rx.pk.hex if connection.vendor == "sqlite" else rx.pk,
            ],
        )
    rx.refresh_from_db()
    assert doctor_signature_status(rx) == "absent"
    body = verification(client, rx)
    assert body["status"] == "genuine"
    assert body["signatures"]["doctor"]["status"] == "absent"


def test_correction_is_signed_by_the_doctor_too():
    rx = issued()
    response = api_for(rx.doctor.user).post(
        f"/api/v1/prescriptions/{rx.pk}/correct/",
        {"items": [line("paracetamol", dose="2 tablets")], "password": PASSWORD},
        format="json",
    )
    assert response.status_code == 201, response.content
    new = Prescription.objects.get(pk=response.json()["id"])
    assert doctor_signature_status(new) == "valid"
    wrong = api_for(rx.doctor.user).post(
        f"/api/v1/prescriptions/{new.pk}/correct/",
        {"items": [line("paracetamol")], "password": "nope"},
        format="json",
    )
    assert wrong.status_code == 400
    new.refresh_from_db()
    assert new.status == "issued"


def test_signing_locks_the_doctors_row_alone_and_reads_the_newest_key():
    """The lock that keeps two prescriptions signed at once from making two keys takes the
    doctor's row only, not their user account's too (the default orderings joined it
    in), and signing uses the doctor's active key."""
    consultation = ConsultationFactory()
    first = issued(consultation)
    with CaptureQueriesContext(connection) as queries:
        second = issued(ConsultationFactory(doctor=consultation.doctor))
    locks = [q["sql"] for q in queries if "FOR UPDATE" in q["sql"]]
    doctor_locks = [sql for sql in locks if 'FROM "registry_doctorprofile"' in sql]
    if connection.features.has_select_for_update:  # SQLite locks the whole database instead
        assert doctor_locks and not [sql for sql in doctor_locks if "accounts_user" in sql], locks
    key_reads = [q["sql"] for q in queries if "prescriptions_doctorsigningkey" in q["sql"]]
    assert key_reads and not [sql for sql in key_reads if "accounts_user" in sql], key_reads
    assert second.doctor_key_id == first.doctor_key_id
