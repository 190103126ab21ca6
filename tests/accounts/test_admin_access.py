"""The Django admin's door: staff sign-in, role, and a verified second factor."""

from __future__ import annotations

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice

from sanjeevani.accounts.models import Role
from tests.accounts.conftest import fresh_totp
from tests.factories import PASSWORD, PatientAccountFactory, StaffUserFactory

pytestmark = pytest.mark.django_db


def test_admin_login_goes_to_the_staff_sign_in(client):
    response = client.get("/admin/login/?next=/admin/accounts/user/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/staff/?next=/admin/accounts/user/")


def test_anonymous_admin_request_ends_at_staff_sign_in(client):
    response = client.get("/admin/", follow=True)
    assert response.redirect_chain[-1][0].startswith("/accounts/staff/")


def test_unverified_admin_is_refused_when_2fa_is_required(client, require_2fa):
    admin = StaffUserFactory(role=Role.NATIONAL_ADMIN)
    client.force_login(admin)
    response = client.get("/admin/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
    page = client.get("/accounts/staff/?next=/admin/")
    assert b"authenticator code" in page.content


def test_verified_admin_gets_in(client, require_2fa):
    admin = StaffUserFactory(role=Role.NATIONAL_ADMIN)
    device = TOTPDevice.objects.create(user=admin, name="phone", confirmed=True)
    client.post(
        "/accounts/staff/",
        {"username": admin.username, "password": PASSWORD, "totp": fresh_totp(device)},
    )
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/accounts/user/").status_code == 200


def test_unverified_admin_gets_in_when_2fa_is_off(client, settings):
    settings.REQUIRE_STAFF_2FA = False
    client.force_login(StaffUserFactory(role=Role.STATE_ADMIN))
    assert client.get("/admin/").status_code == 200


@pytest.mark.parametrize("role", [Role.DOCTOR, Role.CHO, Role.OPERATOR])
def test_roles_outside_the_admin_are_refused_even_with_is_staff(client, settings, role):
    settings.REQUIRE_STAFF_2FA = False
    client.force_login(StaffUserFactory(role=role, is_staff=True))
    response = client.get("/admin/", follow=True)
    assert response.redirect_chain[-1][0].startswith("/accounts/staff/")
    assert b"Your account cannot open administration." in response.content


def test_patient_is_refused(client, settings):
    settings.REQUIRE_STAFF_2FA = False
    client.force_login(PatientAccountFactory())
    assert client.get("/admin/").status_code == 302


def test_user_admin_is_for_national_admins_only(client, settings):
    settings.REQUIRE_STAFF_2FA = False
    state_admin = StaffUserFactory(role=Role.STATE_ADMIN)
    client.force_login(state_admin)
    assert client.get("/admin/accounts/user/").status_code == 403
    assert client.get(f"/admin/accounts/user/{state_admin.pk}/change/").status_code == 403

    client.force_login(StaffUserFactory(role=Role.NATIONAL_ADMIN))
    assert client.get("/admin/accounts/user/").status_code == 200
    assert client.get(f"/admin/accounts/user/{state_admin.pk}/change/").status_code == 200
    assert client.get("/admin/accounts/user/add/").status_code == 200
