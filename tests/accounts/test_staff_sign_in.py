"""Staff sign-in: password + TOTP on the page and the API, enrolment, and who may use it."""

from __future__ import annotations

import re

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from sanjeevani.accounts.models import Role
from sanjeevani.audit.models import AuditEvent
from tests.accounts.conftest import fresh_totp, wrong_totp
from tests.factories import PASSWORD, PatientAccountFactory, StaffUserFactory

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/staff/"
ENROL = "/accounts/staff/enrol-2fa/"
TOKEN = "/api/v1/accounts/staff/token"


def with_device(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="phone", confirmed=True)


def sign_in(client, user, totp="", next_url=""):
    data = {"username": user.username, "password": PASSWORD, "totp": totp}
    if next_url:
        data["next"] = next_url
    return client.post(LOGIN, data)


def test_password_and_totp_sign_in_a_verified_session(client, require_2fa):
    admin = StaffUserFactory(role=Role.STATE_ADMIN)
    device = with_device(admin)
    response = sign_in(client, admin, fresh_totp(device))
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(admin.pk)
    assert client.session["otp_device_id"] == device.persistent_id
    assert AuditEvent.objects.filter(actor=admin, action="auth.staff_sign_in").exists()


def test_missing_totp_is_refused_when_2fa_is_required(client, require_2fa):
    admin = StaffUserFactory(role=Role.NATIONAL_ADMIN)
    with_device(admin)
    response = sign_in(client, admin, "")
    assert response.status_code == 200
    assert b"Enter the 6-digit code from your authenticator app." in response.content
    assert "_auth_user_id" not in client.session


def test_wrong_totp_is_refused(client, require_2fa):
    admin = StaffUserFactory(role=Role.NATIONAL_ADMIN)
    device = with_device(admin)
    response = sign_in(client, admin, wrong_totp(device))
    assert b"That authenticator code is not right." in response.content
    assert "_auth_user_id" not in client.session


def test_wrong_password_is_refused(client):
    doctor = StaffUserFactory(role=Role.DOCTOR)
    response = client.post(LOGIN, {"username": doctor.username, "password": "nope"})
    assert b"Wrong username or password." in response.content
    assert "_auth_user_id" not in client.session


def test_repeated_wrong_passwords_lock_the_account_for_a_while(client):
    doctor = StaffUserFactory(role=Role.DOCTOR)
    for _ in range(10):
        client.post(LOGIN, {"username": doctor.username, "password": "nope"})
    response = sign_in(client, doctor)
    assert response.status_code == 429
    assert b"Too many wrong passwords" in response.content
    assert "_auth_user_id" not in client.session


def test_doctor_without_device_signs_in_with_password_when_only_admins_need_2fa(
    client, require_2fa
):
    doctor = StaffUserFactory(role=Role.DOCTOR)
    response = sign_in(client, doctor)
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(doctor.pk)


def test_staff_with_a_device_always_needs_the_code(client, settings):
    settings.REQUIRE_STAFF_2FA = False
    doctor = StaffUserFactory(role=Role.DOCTOR)
    device = with_device(doctor)
    assert b"Enter the 6-digit code" in sign_in(client, doctor).content
    assert sign_in(client, doctor, fresh_totp(device)).status_code == 302


def test_patient_cannot_use_the_staff_page(client):
    patient = PatientAccountFactory()
    response = sign_in(client, patient)
    assert response.status_code == 200
    assert b"Patients sign in with their mobile number" in response.content
    assert "_auth_user_id" not in client.session


def test_admin_without_device_is_taken_through_enrolment(client, require_2fa):
    admin = StaffUserFactory(role=Role.STATE_ADMIN)
    response = sign_in(client, admin, next_url="/admin/")
    assert response.status_code == 302
    assert response["Location"] == ENROL
    assert "_auth_user_id" not in client.session

    page = client.get(ENROL)
    assert page.status_code == 200
    assert b"<svg" in page.content
    device = TOTPDevice.objects.get(user=admin, confirmed=False)
    secret = re.search(rb'id="totp-secret">([A-Z2-7 ]+)<', page.content).group(1).decode()
    from base64 import b32decode

    assert b32decode(secret.replace(" ", "") + "=" * (-len(secret.replace(" ", "")) % 8)) == (
        device.bin_key
    )
    # Reloading shows the same secret rather than a new device.
    client.get(ENROL)
    assert TOTPDevice.objects.filter(user=admin).count() == 1

    wrong = client.post(ENROL, {"totp": wrong_totp(device)})
    assert b"That code is not right." in wrong.content
    assert not TOTPDevice.objects.get(pk=device.pk).confirmed

    done = client.post(ENROL, {"totp": fresh_totp(device)})
    assert done.status_code == 302
    assert done["Location"] == "/admin/"
    assert TOTPDevice.objects.get(pk=device.pk).confirmed
    assert client.session["_auth_user_id"] == str(admin.pk)
    assert client.session["otp_device_id"] == device.persistent_id
    assert AuditEvent.objects.filter(actor=admin, action="auth.totp_enrolled").exists()
    assert client.get("/admin/").status_code == 200


def test_enrolment_page_needs_a_password_first(client):
    response = client.get(ENROL)
    assert response.status_code == 302
    assert response["Location"] == LOGIN


def test_patient_cannot_enrol(client, outbox):
    patient = PatientAccountFactory()
    client.force_login(patient)
    assert client.get(ENROL)["Location"] == LOGIN


# --- API ------------------------------------------------------------------------------


def test_staff_token_with_password_and_totp(require_2fa):
    api = APIClient()
    admin = StaffUserFactory(role=Role.NATIONAL_ADMIN)
    device = with_device(admin)
    response = api.post(
        TOKEN,
        {"username": admin.username, "password": PASSWORD, "totp": fresh_totp(device)},
        format="json",
    )
    assert response.status_code == 200, response.content
    token = response.json()["token"]
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.get("/api/v1/accounts/me").json()["role"] == "national_admin"


def test_staff_token_without_totp_is_400_when_required(require_2fa):
    admin = StaffUserFactory(role=Role.NATIONAL_ADMIN)
    with_device(admin)
    response = APIClient().post(
        TOKEN, {"username": admin.username, "password": PASSWORD}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["totp"] == [
        "Enter the 6-digit code from your authenticator app."
    ]


def test_staff_token_for_admin_without_device_asks_for_enrolment(require_2fa):
    admin = StaffUserFactory(role=Role.STATE_ADMIN)
    response = APIClient().post(
        TOKEN, {"username": admin.username, "password": PASSWORD}, format="json"
    )
    assert response.status_code == 403
    assert "authenticator app" in response.json()["error"]["message"]


def test_staff_token_refuses_patients():
    patient = PatientAccountFactory()
    response = APIClient().post(
        TOKEN, {"username": patient.username, "password": PASSWORD}, format="json"
    )
    assert response.status_code == 403


def test_staff_token_missing_fields_are_400():
    response = APIClient().post(TOKEN, {}, format="json")
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"username", "password"}
