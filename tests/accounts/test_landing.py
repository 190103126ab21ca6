"""Every sign-in path lands each role on its own page when no safe ``next`` is given."""

from __future__ import annotations

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice

from sanjeevani.accounts.models import Role
from tests.accounts.conftest import fresh_totp
from tests.factories import (
    PASSWORD,
    DoctorFactory,
    FacilityFactory,
    HubFactory,
    PostingFactory,
    StaffUserFactory,
    StateFactory,
)

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/staff/"
ENROL = "/accounts/staff/enrol-2fa/"
OTP = "/accounts/otp/"


def staff_member(role: str):
    """A staff member of ``role`` with whatever their page needs (a doctor's profile, a
    posting for those whose reach is a place)."""
    if role == Role.DOCTOR:
        return DoctorFactory().user
    user = StaffUserFactory(role=role)
    if role == Role.STATE_ADMIN:
        PostingFactory(user=user, state=StateFactory())
    elif role == Role.CHO:
        PostingFactory(user=user, facility=FacilityFactory())
    elif role == Role.HUB_COORDINATOR:
        PostingFactory(user=user, facility=HubFactory())
    return user


STAFF_LANDINGS = [
    (Role.DOCTOR, "/consultations/"),
    (Role.CHO, "/centre/"),
    (Role.HUB_COORDINATOR, "/hub/desk/"),
    (Role.OPERATOR, "/assisted/"),
    (Role.STATE_ADMIN, "/overview/"),
    (Role.NATIONAL_ADMIN, "/overview/"),
]


@pytest.mark.parametrize(("role", "landing"), STAFF_LANDINGS)
def test_staff_password_sign_in_lands_on_the_roles_own_page(client, role, landing):
    user = staff_member(role)
    response = client.post(LOGIN, {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == landing
    page = client.get(landing)
    assert page.status_code == 200
    assert b"Staff sign-in" not in page.content


def test_a_safe_next_still_wins_over_the_landing_page(client):
    user = staff_member(Role.CHO)
    response = client.post(
        LOGIN, {"username": user.username, "password": PASSWORD, "next": "/room/device-check/"}
    )
    assert response["Location"] == "/room/device-check/"


def test_an_unsafe_next_is_ignored_for_the_landing_page(client):
    user = staff_member(Role.OPERATOR)
    response = client.post(
        LOGIN, {"username": user.username, "password": PASSWORD, "next": "https://evil.test/"}
    )
    assert response["Location"] == "/assisted/"


def test_the_authenticator_step_lands_an_administrator_on_the_overview(client, require_2fa):
    admin = staff_member(Role.STATE_ADMIN)
    device = TOTPDevice.objects.create(user=admin, name="phone", confirmed=True)
    response = client.post(
        LOGIN, {"username": admin.username, "password": PASSWORD, "totp": fresh_totp(device)}
    )
    assert response["Location"] == "/overview/"
    assert client.get("/overview/").status_code == 200


def test_enrolling_an_authenticator_lands_the_administrator_on_the_overview(client, require_2fa):
    admin = staff_member(Role.NATIONAL_ADMIN)
    assert (
        client.post(LOGIN, {"username": admin.username, "password": PASSWORD})["Location"] == ENROL
    )
    client.get(ENROL)
    device = TOTPDevice.objects.get(user=admin, confirmed=False)
    response = client.post(ENROL, {"totp": fresh_totp(device)})
    assert response["Location"] == "/overview/"


def test_patient_otp_sign_in_lands_on_the_family_page(client, outbox):
    client.post(OTP, {"action": "send", "mobile": "98123 45678"})
    response = client.post(OTP, {"action": "verify", "code": outbox.last_code("+919812345678")})
    assert response["Location"] == "/patients/"
    assert client.get("/patients/").status_code == 200
