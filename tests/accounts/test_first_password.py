"""Demo passwords never reach production, and a new staff account's first password is
chosen by its owner through a one-time link (issue 10, item 1)."""

from __future__ import annotations

import re
import time

import pytest
from django.core.checks import run_checks
from django.core.management import call_command

from sanjeevani.accounts.checks import DEMO_PASSWORD, accounts_with_demo_password
from sanjeevani.accounts.models import Role, User
from tests.factories import PASSWORD, StaffUserFactory

pytestmark = pytest.mark.django_db


def demo_errors() -> list:
    return [m for m in run_checks(include_deployment_checks=True) if m.id == "sanjeevani.E010"]


def test_deploy_check_fails_while_a_demo_password_remains(settings):
    settings.SIGNING_KEY_FILE = settings.BASE_DIR / "pyproject.toml"  # any existing file
    assert demo_errors() == []
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    errors = demo_errors()
    assert len(errors) == 1
    assert "demo.national" in errors[0].msg and "dr.anita" in errors[0].msg
    assert "set-password link" in errors[0].hint

    for user in User.objects.filter(demo_password_set=True):
        user.set_password("a fresh pass phrase 8812")
        user.save()
    assert demo_errors() == []


def test_deploy_check_also_catches_an_unmarked_administrator_and_skips_inactive_ones():
    admin = StaffUserFactory(role=Role.STATE_ADMIN, username="old.admin")
    admin.set_password(DEMO_PASSWORD)
    admin.save()
    doctor = StaffUserFactory(role=Role.DOCTOR, username="marked.doctor")
    doctor.set_password(DEMO_PASSWORD)
    doctor.demo_password_set = True
    doctor.save()
    StaffUserFactory(role=Role.DOCTOR, is_active=False, demo_password_set=True)
    assert accounts_with_demo_password() == ["marked.doctor", "old.admin"]


def test_deploy_check_is_cheap_for_thousands_of_staff():
    User.objects.bulk_create(
        User(username=f"doctor{n}", role=Role.DOCTOR, password="argon2$unused") for n in range(3000)
    )
    started = time.perf_counter()
    assert accounts_with_demo_password() == []
    assert time.perf_counter() - started < 5


def test_an_account_made_in_the_admin_has_no_password_until_its_owner_sets_one(client, settings):
    settings.REQUIRE_STAFF_2FA = False
    client.force_login(StaffUserFactory(role=Role.NATIONAL_ADMIN))
    page = client.get("/admin/accounts/user/add/")
    assert b'name="password1"' not in page.content

    response = client.post(
        "/admin/accounts/user/add/",
        {"username": "dr.new", "role": Role.DOCTOR, "mobile": "98450 11111", "first_name": "N"},
        follow=True,
    )
    assert response.status_code == 200
    new = User.objects.get(username="dr.new")
    assert not new.has_usable_password()
    assert new.mobile == "+919845011111"
    link = re.search(
        r"http://testserver(/accounts/set-password/[^ <\"]+/)", response.content.decode()
    )
    assert link, response.content.decode()[:2000]

    client.logout()
    assert (
        client.post("/accounts/staff/", {"username": "dr.new", "password": ""}).status_code == 200
    )
    form = client.get(link.group(1), follow=True)
    assert form.status_code == 200
    done = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": PASSWORD, "new_password2": PASSWORD},
    )
    assert done.status_code == 302
    assert User.objects.get(username="dr.new").check_password(PASSWORD)
    # The link works once.
    again = client.get(link.group(1), follow=True)
    assert b'name="new_password1"' not in again.content


def test_createsuperuser_keeps_the_password_it_was_given():
    """The first administrator of a deployment is made at the console by whoever installs
    it; there is nobody to send a link to yet, so the typed password stays."""
    root = User.objects.create_superuser("root-admin", None, "a long pass phrase 9")
    assert root.check_password("a long pass phrase 9")
