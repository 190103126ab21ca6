"""The Online OPD end to end in headless Chromium: a patient signs in by OTP (the code read
from the SMS outbox), takes a token while a doctor is online, the doctor calls, both reach
the consultation page, the doctor confirms identity, writes the record and a prescription
and ends the consultation; the patient downloads the PDF, whose text holds the doctor's
registration number and the medicines."""

from __future__ import annotations

import io
import json
import re
import time
from pathlib import Path

import pytest

from tests.e2e.live import running_server
from tests.factories import PASSWORD
from tests.opd.pages_support import make_clinic

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def outbox(tmp_path) -> Path:
    return tmp_path / "sms-outbox"


@pytest.fixture
def live_server_url(transactional_db, outbox):
    """This flow's server sends SMS to a file outbox, so the test can read the OTP. The
    medicine catalogue is loaded again: a transactional test run before this one flushes
    the rows its data migration loaded."""
    from sanjeevani.prescriptions.catalogue import load_catalogue
    from sanjeevani.prescriptions.models import Medicine

    load_catalogue(Medicine)
    with running_server(SMS_BACKEND="file", SMS_OUTBOX_DIR=str(outbox)) as base:
        yield base


def otp_from(outbox: Path, mobile: str, timeout: float = 15) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in sorted(outbox.glob("*.json"), reverse=True):
            message = json.loads(path.read_text())
            found = re.search(r"\b(\d{6})\b", message["body"])
            if message["to"] == mobile and found:
                return found.group(1)
        time.sleep(0.2)
    raise AssertionError(f"no OTP SMS to {mobile} in {outbox}")


def choose_medicine(page, index: int, query: str, wanted: str) -> None:
    """Search the catalogue as the doctor types, then pick the suggestion."""
    name = page.locator(f"[name=item-{index}-name]")
    name.fill(query)
    page.wait_for_function(
        "([wanted]) => Array.from(document.querySelectorAll('#medicine-options option'))"
        ".some(o => o.value === wanted)",
        arg=[wanted],
    )
    name.fill(wanted)
    page.wait_for_function(
        "([i]) => document.querySelector(`[name=item-${i}-medicine_id]`).value !== ''",
        arg=[index],
    )


def test_patient_and_doctor_through_the_online_opd(
    live_server_url, outbox, signed_in_page, browser
):
    from playwright.sync_api import expect
    from pypdf import PdfReader

    base = live_server_url
    clinic = make_clinic()
    mobile = clinic.patient.account.mobile

    # The doctor goes online for the OPD.
    doctor = signed_in_page(clinic.doctor.user)
    doctor.goto(base + "/consultations/")
    doctor.select_option("#opd", str(clinic.opd.pk))
    doctor.click("#go-online")
    expect(doctor.locator("#presence-status")).to_contain_text("Online")

    # The patient signs in by OTP through the page and takes a token.
    context = browser.new_context(accept_downloads=True)
    patient = context.new_page()
    patient.set_default_timeout(30_000)
    patient.goto(base + "/opd/")
    assert "/accounts/otp/" in patient.url
    patient.fill("#mobile", mobile.removeprefix("+91"))
    patient.click("button:has-text('Send code')")
    patient.fill("#code", otp_from(outbox, mobile))
    patient.click("button:has-text('Sign in')")
    patient.wait_for_url(re.compile(r"/opd/(\?.*)?$"))
    patient.click("button:has-text('Show OPDs')")
    patient.click(f"a.button[href*='/opd/{clinic.opd.pk}/']")
    patient.fill("#id_complaint", "Fever and cough for three days")
    patient.click("#take-token")
    patient.wait_for_url(re.compile(r"/opd/tickets/[0-9a-f-]{36}/$"))
    expect(patient.locator("#position")).to_have_text("1")

    # The doctor sees the patient in the queue and calls.
    doctor.reload()
    expect(doctor.locator("#queue-count")).to_have_text("1")
    expect(doctor.locator("#queue-rows")).to_contain_text("Fever and cough")
    doctor.click("#call-next")
    doctor.wait_for_url(re.compile(r"^https?://[^/]+/consultations/[0-9a-f-]{36}/$"))

    # The patient's page rings; they join within the window.
    expect(patient.locator("#join-now")).to_be_visible()
    patient.click("#join-now")
    patient.wait_for_url(re.compile(r"/opd/consultations/[0-9a-f-]{36}/$"))
    expect(patient.locator("#consultation-state")).to_contain_text("In progress")

    # The doctor confirms identity and age, writes the record (autosaved) and prescribes.
    doctor.reload()
    doctor.click("#confirm-identity")
    expect(doctor.locator("#identity-confirmed")).to_be_visible()
    # ... confirms the mode the room observed (the offered choice) before signing ...
    doctor.click("#confirm-mode")
    expect(doctor.locator('#consultation-mode [data-el="confirmation"]')).to_contain_text(
        "Confirmed"
    )
    doctor.fill("[name=complaints]", "Fever and cough for three days")
    doctor.fill("[name=advice]", "Rest and plenty of fluids")
    expect(doctor.locator("#save-state")).to_have_text("Saved")
    doctor.fill("#icd-search", "J06.9")
    doctor.locator(".icd-option").first.click()
    expect(doctor.locator("#diagnoses")).to_contain_text("J06.9")
    expect(doctor.locator("#save-state")).to_have_text("Saved")

    choose_medicine(doctor, 0, "paracetamol", "paracetamol tablet 500 mg")
    doctor.fill("[name=item-0-dose]", "500 mg")
    doctor.fill("[name=item-0-frequency]", "1-0-1")
    doctor.fill("[name=item-0-duration]", "3 days")
    doctor.fill("[name=item-0-quantity]", "6 tablets")
    doctor.fill("[name=item-0-instructions]", "after food")
    doctor.click("#add-medicine")
    choose_medicine(doctor, 1, "cetirizine", "cetirizine tablet 10 mg")
    doctor.fill("[name=item-1-dose]", "10 mg")
    doctor.fill("[name=item-1-frequency]", "0-0-1")
    doctor.fill("[name=item-1-duration]", "5 days")
    doctor.fill("[name=item-1-quantity]", "5 tablets")
    # The doctor signs with their own key after re-confirming with their password.
    doctor.fill("#rx-reconfirm [name=password]", PASSWORD)
    doctor.click("#issue-prescription")
    expect(doctor.locator(".messages")).to_contain_text("Prescription issued and signed.")

    # Ending stays on the page (the call is not torn down by a reload) and asks to confirm.
    doctor.on("dialog", lambda dialog: dialog.accept())
    doctor.select_option("#id_outcome", "prescription")
    doctor.click("#end-consultation")
    expect(doctor.locator("#consultation-status")).to_contain_text("Ended by you")

    # The patient's page turns to the prescription; they download the PDF.
    expect(patient.locator("#rx-pdf")).to_be_visible(timeout=30_000)
    with patient.expect_download() as download_info:
        patient.click("#rx-pdf")
    pdf = Path(download_info.value.path()).read_bytes()
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert clinic.doctor.registration_number in text
    assert "paracetamol" in text.lower()
    assert "cetirizine" in text.lower()
    context.close()


def test_back_and_forward_never_offer_a_stale_action(live_server_url, signed_in_page):
    """After taking a token, Back shows the OPD page with the token held (no live "Take a
    token" form); after cancelling, Back shows the waiting room as cancelled (no "Cancel"
    or "Join" left to press). Both pages are no-store and re-fetched."""
    from playwright.sync_api import expect

    clinic = make_clinic()
    page = signed_in_page(clinic.patient.account)
    page.on("dialog", lambda dialog: dialog.accept())
    opd_page = f"{live_server_url}/opd/{clinic.opd.pk}/?patient={clinic.patient.pk}"
    page.goto(opd_page)
    page.click("#take-token")
    page.wait_for_url(re.compile(r"/opd/tickets/[0-9a-f-]{36}/$"))
    waiting_room = page.url

    page.go_back()
    page.wait_for_url(opd_page)
    expect(page.locator("#live-token")).to_be_visible()
    expect(page.locator("#take-token")).to_have_count(0)

    page.go_forward()
    page.wait_for_url(waiting_room)
    expect(page.locator("#token-number")).to_be_visible()
    page.click("form.cancel button")
    page.wait_for_url(re.compile(r"/opd/(\?.*)?$"))

    page.go_back()
    page.wait_for_url(waiting_room)
    expect(page.locator("#ended-panel")).to_be_visible()
    expect(page.locator("form.cancel")).to_have_count(0)
    expect(page.locator("#join-now")).to_be_hidden()
    page.go_back()
    page.wait_for_url(opd_page)
    expect(page.locator("#take-token")).to_be_visible()  # the token is gone: take a new one
