"""Each role lands on its own page after a real sign-in in headless Chromium (a doctor
through the staff form, a patient through OTP read from the local SMS outbox), and the
landing, 403 and 404 pages pass axe-core (WCAG 2.1 A/AA)."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from sanjeevani.accounts.models import Role
from tests.e2e.accessibility import assert_accessible
from tests.e2e.live import running_server
from tests.factories import (
    PASSWORD,
    DoctorFactory,
    FacilityFactory,
    OnlineOPDFactory,
    PostingFactory,
    StaffUserFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MOBILE = "+919812340001"


@pytest.fixture
def outbox(tmp_path) -> Path:
    return tmp_path / "sms-outbox"


@pytest.fixture
def live_server_url(transactional_db, outbox):
    """This server sends SMS to a file outbox, so the test can read the OTP."""
    with running_server(SMS_BACKEND="file", SMS_OUTBOX_DIR=str(outbox)) as base:
        yield base


def otp_from(outbox: Path, mobile: str, timeout: float = 15) -> str:
    """The code of the last SMS to ``mobile``, polled until it arrives or the deadline."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in sorted(outbox.glob("*.json"), reverse=True):
            message = json.loads(path.read_text())
            found = re.search(r"\b(\d{6})\b", message["body"])
            if message["to"] == mobile and found:
                return found.group(1)
        time.sleep(0.2)
    raise AssertionError(f"no OTP SMS to {mobile} in {outbox}")


def test_a_doctor_signs_in_through_the_staff_form_and_lands_on_the_console(
    live_server_url, browser
):
    doctor = DoctorFactory()
    page = browser.new_page()
    page.goto(live_server_url + "/accounts/staff/")
    page.fill("#username", doctor.user.username)
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Sign in')")
    page.wait_for_url(re.compile(r"/consultations/$"))
    assert page.locator("text=Staff sign-in").count() == 0
    page.close()


def test_a_patient_signs_in_by_otp_and_lands_on_their_page(live_server_url, outbox, browser):
    page = browser.new_page()
    page.goto(live_server_url + "/accounts/otp/")
    page.fill("#mobile", MOBILE.removeprefix("+91"))
    page.click("button:has-text('Send code')")
    page.fill("#code", otp_from(outbox, MOBILE))
    page.click("button:has-text('Sign in')")
    page.wait_for_url(re.compile(r"/patients/$"))
    assert_accessible(page, "patient landing page")
    page.close()


def test_a_signed_out_patient_opening_the_device_check_is_sent_to_the_otp_sign_in(
    live_server_url, browser
):
    page = browser.new_page()
    page.goto(live_server_url + "/room/device-check/")
    assert "/accounts/otp/?next=" in page.url
    page.close()


@pytest.mark.parametrize(
    ("role", "landing", "heading"),
    [
        (Role.CHO, "/centre/", "Health Centre"),  # the centre's name
        (Role.HUB_COORDINATOR, "/hub/desk/", "Hub desk: Health Centre"),
        (Role.OPERATOR, "/assisted/", "Assisted registration"),
        (Role.STATE_ADMIN, "/overview/", "Overview"),
        (Role.NATIONAL_ADMIN, "/overview/", "Overview: the whole country"),
    ],
)
def test_staff_land_on_their_page_and_the_error_pages_are_accessible(
    live_server_url, browser, role, landing, heading
):
    user = StaffUserFactory(role=role)
    if role == Role.STATE_ADMIN:
        PostingFactory(user=user, state=OnlineOPDFactory().state)
    elif role in {Role.CHO, Role.HUB_COORDINATOR}:
        PostingFactory(user=user, facility=FacilityFactory(is_hub=role == Role.HUB_COORDINATOR))
    page = browser.new_page()
    page.goto(live_server_url + "/accounts/staff/")
    page.fill("#username", user.username)
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Sign in')")
    page.wait_for_url(re.compile(re.escape(landing) + "$"))
    assert heading in page.locator("h1").inner_text()
    assert_accessible(page, f"{role} landing page")

    if role == Role.CHO:
        response = page.goto(live_server_url + "/opd/")
        assert response.status == 403
        assert page.locator(f"main a[href='{landing}']").count() == 1
        assert_accessible(page, "403: a CHO on the patients' OPD page")
        response = page.goto(live_server_url + "/no-such-page/")
        assert response.status == 404
        assert_accessible(page, "404")
    page.close()
