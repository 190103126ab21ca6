"""Hub and spoke end to end in headless Chromium (fake camera and microphone): a CHO
registers a walk-in, sends a live case with vitals and a photo from the camera; a hub
doctor calls it; the CHO's workspace rings and "Join now" brings the CHO into the room
with video both ways; the doctor prescribes and ends; the CHO prints the prescription
(A4 PDF and 80 mm slip), receives stock and records what was dispensed.

The hub doctor's calling, mode and diagnosis are service calls from this process (the
doctor's console is walked by the hub tests); the doctor is in the room on their hub
consultation page and prescribes and ends there. The CHO hears the call on the next read
of the status feed (the live server's socket does not hear this process's events without a
shared Redis layer)."""

from __future__ import annotations

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from sanjeevani.consultations import services as consultation_services
from sanjeevani.consultations.models import Consultation
from sanjeevani.hwc import services as hwc
from sanjeevani.hwc.models import Case, StockEntry
from sanjeevani.patients.models import Patient
from sanjeevani.prescriptions.models import Prescription
from tests.e2e.accessibility import assert_accessible
from tests.e2e.diagnostics import page_log
from tests.e2e.live import call_next_case_through_server
from tests.factories import PASSWORD, DistrictFactory, SpecialtyFactory
from tests.hwc.factories import build_network
from tests.hwc.test_centre_pages import PNG
from tests.polling import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

REMOTE_VIDEO_PLAYS = """() => {
  const v = document.querySelector('.remote video');
  return !!v && v.videoWidth > 0 && v.readyState >= 2;
}"""


def wait_for_call(page, other) -> None:
    try:
        page.wait_for_selector('[data-room][data-connected-peers="1"]', timeout=45_000)
        page.wait_for_function(REMOTE_VIDEO_PLAYS, timeout=30_000)
    except PlaywrightTimeout:
        pytest.fail(f"no call:\n{page_log(page)}\n--- the other page:\n{page_log(other)}")


def register_walk_in(cho, base: str) -> Patient:
    cho.goto(f"{base}/centre/patients/new/")
    assert_accessible(cho, "the registration form")
    cho.get_by_label("Full name").fill("Kamala Bai")
    cho.get_by_label("Age in years").fill("46")
    cho.get_by_label("Female").check()
    cho.get_by_label("Mobile number").fill("9876512340")
    cho.get_by_label("Village / address").fill("Hosahalli")
    cho.locator("#id_relation").select_option("self")
    cho.locator("#id_preferred_language").select_option("en")
    cho.get_by_role("button", name="Register").click()
    cho.wait_for_url("**/cases/new/")
    return Patient.objects.get(name="Kamala Bai")


def send_live_case_with_photo(cho) -> Case:
    cho.get_by_label("Skin patch, wound or ulcer").check()
    cho.get_by_label("Complaints in the patient's words").fill("Itchy patch on the arm")
    cho.locator("#id_vital_temperature_c").fill("37.2")
    cho.locator("#id_vital_pulse").fill("84")
    cho.locator("#id_vital_spo2").fill("98")
    cho.locator("#id_attachment").set_input_files(
        {"name": "lesion.png", "mimeType": "image/png", "buffer": PNG}
    )
    cho.locator("#id_specialty").select_option("general-medicine")
    cho.get_by_label("Live: video consultation now").check()
    cho.get_by_label("How did you check who the patient is?").fill("Aadhaar card seen")
    cho.locator("#id_consent").check()
    cho.locator("#send-case").click()
    cho.wait_for_url("**/centre/cases/*/")
    case = Case.objects.get()
    expect(cho.locator("#attachments li")).to_have_count(1)
    return case


def test_a_cho_sends_a_live_case_joins_the_call_prints_and_dispenses(
    live_server_url, signed_in_page
):
    from sanjeevani.prescriptions.catalogue import load_catalogue
    from sanjeevani.prescriptions.models import Medicine

    load_catalogue(Medicine)  # a transactional test before this one flushed its rows
    SpecialtyFactory(code="general-medicine", name="General medicine")
    SpecialtyFactory(code="dermatology", name="Dermatology")
    network = build_network()
    network.spoke.district = DistrictFactory(state=network.state)
    network.spoke.save(update_fields=["district"])
    doctor_user = network.doctor_a.user

    # The CHO, on a phone: registers the walk-in and sends the case.
    cho = signed_in_page(network.cho)
    cho.set_viewport_size({"width": 360, "height": 740})
    patient = register_walk_in(cho, live_server_url)
    assert patient.registered_at_facility_id == network.spoke.pk
    case = send_live_case_with_photo(cho)
    assert case.mode == "live" and case.attachments.count() == 1
    assert_accessible(cho, "the case page, waiting")

    # The CHO works on; the hub doctor calls the case; the workspace rings.
    cho.goto(f"{live_server_url}/centre/")
    cho.wait_for_selector(f'[data-case="{case.pk}"] [data-status="waiting"]')
    hwc.go_online_at_hub(doctor_user, network.hub_a, network.general)
    # The call goes through the server, as the doctor's console sends it, so the workspace
    # hears it on its socket (the test's own process reaches no socket without Redis).
    consultation = Consultation.objects.get(
        pk=call_next_case_through_server(live_server_url, doctor_user)
    )
    cho.locator("#call-banner").wait_for(state="visible", timeout=40_000)
    cho.locator("#join-now").click()
    cho.wait_for_url(f"**/room/{consultation.pk}/")

    # The doctor's hub consultation page: the room with the centre, video both ways.
    doctor = signed_in_page(doctor_user)
    doctor.set_viewport_size({"width": 1366, "height": 768})
    doctor.on("dialog", lambda dialog: dialog.accept())
    doctor.goto(f"{live_server_url}/hub/consultations/{consultation.pk}/")
    wait_for_call(doctor, cho)
    wait_for_call(cho, doctor)

    def observed_video() -> bool:
        consultation.refresh_from_db()
        return consultation.observed_mode == "video"

    assert wait_until(observed_video, timeout=60, interval=0.5), page_log(doctor)
    assert_accessible(cho, "the room, CHO's side")

    # The doctor confirms the mode and the diagnosis (services), then prescribes on the
    # page and ends the consultation there.
    consultation_services.confirm_consultation_mode(doctor_user, consultation, "video")
    consultation.refresh_from_db()
    consultation_services.save_clinical_record(
        doctor_user,
        consultation,
        {"diagnoses": [{"code": "L30.9", "label": "Dermatitis, unspecified"}]},
        base_revision=consultation.record_revision,
    )
    name = doctor.locator("[name=item-0-name]")
    name.fill("paracetamol")
    doctor.wait_for_function(
        "() => Array.from(document.querySelectorAll('#medicine-options option'))"
        ".some(o => o.value === 'paracetamol tablet 500 mg')"
    )
    name.fill("paracetamol tablet 500 mg")
    doctor.wait_for_function("() => document.querySelector('[name=item-0-medicine_id]').value")
    doctor.fill("[name=item-0-dose]", "500 mg")
    doctor.fill("[name=item-0-frequency]", "1-0-1")
    doctor.fill("[name=item-0-duration]", "3 days")
    doctor.fill("[name=item-0-quantity]", "6 tablets")
    doctor.fill("#rx-reconfirm [name=password]", PASSWORD)
    doctor.keyboard.press("Alt+KeyI")
    expect(doctor.locator("#rx-result")).to_contain_text(
        "Prescription issued and signed.", timeout=30_000
    )
    doctor.keyboard.press("Alt+KeyE")
    expect(doctor.locator("#workspace")).to_have_attribute("data-status", "ended")
    prescription = Prescription.objects.get(consultation=consultation)

    # The CHO: the case says the prescription is ready; A4 and the 80 mm slip.
    cho.goto(f"{live_server_url}/centre/cases/{case.pk}/")
    expect(cho.locator("#case-status")).to_contain_text("Prescription ready")
    pdf = cho.request.get(f"{live_server_url}/rx/{prescription.pk}/pdf/")
    assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf"
    cho.locator("#rx-thermal").click()
    expect(cho.locator("#thermal-slip")).to_contain_text("paracetamol")
    expect(cho.locator("#thermal-slip")).to_contain_text("Not in stock at this centre")
    assert_accessible(cho, "the 80 mm slip")

    # Stock arrives; the CHO records what was given.
    cho.goto(f"{live_server_url}/centre/stock/")
    cho.get_by_label("Medicine (generic name)").fill("paracetamol")
    cho.get_by_label("Units received").fill("20")
    cho.get_by_role("button", name="Record received").click()
    expect(cho.locator("#on-hand")).to_contain_text("20")
    assert_accessible(cho, "the stock page")
    cho.goto(f"{live_server_url}/centre/cases/{case.pk}/")
    cho.locator("#rx-dispense").click()
    item = prescription.items.get()
    cho.locator(f"#qty_{item.pk}").fill("6")
    cho.get_by_role("button", name="Record what was given").click()
    expect(cho.locator(".messages")).to_contain_text("Dispensing recorded.")
    assert_accessible(cho, "the dispensing page")
    assert StockEntry.objects.get(kind="dispensed").quantity == 6
    assert hwc.on_hand(network.spoke, item.generic_name) == 14
