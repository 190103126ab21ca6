"""The hub's pages in headless Chromium: the hub doctor goes online, sees the urgent
store-and-forward case first with its danger sign, calls it (no room), asks the centre for
a follow-up without a reload and refers the patient; the destination's coordinator
acknowledges the referral; the hub's coordinator sees the live load and reassigns a
waiting case. axe-core on every page."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from playwright.sync_api import expect

from sanjeevani.accounts.models import Role
from sanjeevani.consultations.models import Consultation
from sanjeevani.hwc import services as hwc
from sanjeevani.hwc.models import Case, Referral
from tests.e2e.accessibility import assert_accessible

# The browser fixtures live in tests/e2e/conftest.py; this test sits with the hub's tests.
from tests.e2e.conftest import _playwright, browser, live_server_url, signed_in_page  # noqa: F401
from tests.e2e.diagnostics import page_log
from tests.factories import PostingFactory, SpecialtyFactory
from tests.hwc.factories import build_network, send_case
from tests.opd.pages_support import PNG_BYTES

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MARK = "() => { window.__hubMark = 'not reloaded'; }"
SAME_PAGE = "() => window.__hubMark === 'not reloaded'"
DANGER = "SpO₂ below 90% (low oxygen)"


def coordinator_at(hub):
    return PostingFactory(user__role=Role.HUB_COORDINATOR, facility=hub, state=hub.state).user


def test_the_hub_doctor_and_the_coordinators_ways(
    live_server_url,  # noqa: F811 (the fixture imported above)
    signed_in_page,  # noqa: F811
    settings,
    tmp_path,
):
    settings.MEDIA_ROOT = tmp_path
    # a transactional test may follow another that flushed the migrations' specialties
    SpecialtyFactory(code="general-medicine", name="General medicine")
    SpecialtyFactory(code="dermatology", name="Dermatology")
    network = build_network()
    urgent = send_case(network, mode="store_forward", vitals={"spo2": 85, "pulse": 100})
    hwc.attach_to_case(
        network.cho,
        urgent,
        SimpleUploadedFile("a.png", PNG_BYTES, content_type="image/png"),
        "photo",
        "Chest photo",
    )
    waiting = send_case(network)

    page = signed_in_page(network.doctor_a.user)
    try:
        page.goto(f"{live_server_url}/hub/consultations/")
        page.select_option("#hub", label="PHC A")
        page.select_option("#specialty", value="general-medicine")
        page.locator("#go-online").click()
        rows = page.locator("#queue-rows tr")
        expect(rows).to_have_count(2)
        expect(rows.first).to_contain_text(DANGER)
        expect(rows.first).to_contain_text("Overflow")
        expect(rows.nth(1)).to_contain_text("HWC Spoke")
        assert_accessible(page, "the hub doctor's console")

        page.locator("#call-next").click()
        expect(page.locator("#hub-case")).to_contain_text("Chest photo")
        expect(page.locator("#hub-case")).to_contain_text(DANGER)
        assert page.locator("[data-room]").count() == 0
        assert_accessible(page, "a store-and-forward case on the consultation page")

        page.evaluate(MARK)
        page.fill("#follow-up-days", "10")
        page.locator("#follow-up").click()
        expect(page.locator("#hub-step-status")).to_contain_text("bring the patient back")
        assert page.evaluate(SAME_PAGE)
        consultation = Consultation.objects.get(ticket=urgent.ticket_id)
        assert consultation.follow_up_on is not None

        page.select_option("#refer-to", label="District Hospital (District hospital)")
        page.select_option("#refer-urgency", value="soon")
        page.fill("#refer-reason", "Low oxygen: needs oxygen and a chest X-ray")
        page.locator("#refer").click()
        expect(page.locator("#consultation-status")).to_have_attribute("data-status", "ended")
        expect(page.locator("#hub-referrals")).to_contain_text("not yet acknowledged")
    except Exception:
        print(page_log(page))
        raise
    referral = Referral.objects.get()

    desk_of_district = signed_in_page(coordinator_at(network.district))
    desk_of_district.goto(f"{live_server_url}/hub/referrals/")
    assert_accessible(desk_of_district, "the referral inbox")
    desk_of_district.get_by_role("link", name=referral.patient.name).click()
    expect(desk_of_district.locator("#referral-reason")).to_contain_text("chest X-ray")
    desk_of_district.fill("#ack-note", "Bed ready in casualty")
    desk_of_district.locator("#acknowledge").click()
    expect(desk_of_district.locator("#acknowledged")).to_contain_text("Bed ready in casualty")
    assert_accessible(desk_of_district, "an acknowledged referral")

    page.reload()
    expect(page.locator("#hub-referrals")).to_contain_text("Bed ready in casualty")

    desk = signed_in_page(coordinator_at(network.hub_a))
    desk.goto(f"{live_server_url}/hub/desk/")
    general = desk.locator('#load-rows tr[data-specialty="general-medicine"]')
    expect(general.locator("td").nth(0)).to_have_text("1")  # doctors online
    expect(general.locator("td").nth(1)).to_have_text("1")  # waiting
    assert_accessible(desk, "the hub desk")
    desk.select_option(f"#reassign-{waiting.pk}", value="dermatology")
    desk.get_by_role("button", name="Reassign").click()
    expect(desk.locator("body")).to_contain_text("The case now waits for Dermatology.")
    waiting.refresh_from_db()
    assert waiting.route == Case.Route.REASSIGNED
