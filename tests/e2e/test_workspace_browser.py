"""The doctor's live consultation workspace in headless Chromium (issue 12): identity and the
prescription are saved in the background while the video stays connected (no reload, no
second room connection); a missed call shows on the doctor's page within 5 s without a
reload; ending from the page or from the room panel leaves one ended state; the layout at
1366 x 768 puts the call beside the record (screenshot kept); axe-core on every state.

The test process and the server share a Redis channel layer (db 14 unless ``REDIS_URL`` is
set), so an event the test's own service call publishes (housekeeping's expiry) reaches the
page through the server's sockets as it would in production.
"""

from __future__ import annotations

import datetime as dt
import os

import pytest
from django.utils import timezone
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from sanjeevani.consultations import services as consultation_services
from sanjeevani.consultations.models import Consultation
from sanjeevani.live import publisher
from sanjeevani.prescriptions.models import Prescription
from sanjeevani.queueing.models import Ticket
from tests.e2e.accessibility import assert_accessible
from tests.e2e.diagnostics import page_log
from tests.e2e.live import REPO, running_server
from tests.factories import PASSWORD
from tests.opd.pages_support import make_clinic

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

REDIS = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/14"
SCREENSHOTS = REPO / "var" / "test-artifacts" / "screenshots"
REMOTE_VIDEO_PLAYS = """() => {
  const v = document.querySelector('.remote video');
  return !!v && v.videoWidth > 0 && v.readyState >= 2;
}"""
#: Set on the page once; a reload would lose it.
MARK = "() => { window.__workspaceMark = 'not reloaded'; }"
SAME_PAGE = """() => window.__workspaceMark === 'not reloaded'
  && performance.getEntriesByType('navigation').length === 1"""


def _redis_answers() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS, socket_connect_timeout=2).ping())
    except redis.RedisError:
        return False


@pytest.fixture
def live_server_url(transactional_db, settings):
    """A server sharing this process's channel layer (Redis), with the medicine catalogue
    loaded again (a transactional test before this one flushed its rows)."""
    from sanjeevani.prescriptions.catalogue import load_catalogue
    from sanjeevani.prescriptions.models import Medicine

    if not _redis_answers():
        pytest.skip(
            f"needs Redis at {REDIS}: the live server and this test process see each other's "
            "consultation events only through a shared channel layer (.ci/run starts Redis)"
        )
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "sanjeevani.realtime.layers.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS]},
        }
    }
    load_catalogue(Medicine)
    with running_server(REDIS_URL=REDIS) as base:
        yield base


def called(clinic) -> Consultation:
    """The doctor is online and has called the patient (the call window is open)."""
    consultation_services.start_serving(clinic.doctor.user, clinic.opd)
    consultation_services.take_token(
        clinic.patient.account, clinic.patient, clinic.opd, "Fever and cough for three days"
    )
    ticket = consultation_services.call_next_patient(clinic.doctor.user)
    return ticket.consultation


def joined(clinic) -> Consultation:
    consultation = called(clinic)
    consultation_services.accept_call(clinic.patient.account, consultation.ticket)
    consultation.refresh_from_db()
    return consultation


def open_workspace(signed_in_page, base: str, consultation: Consultation):
    page = signed_in_page(consultation.doctor.user)
    page.set_viewport_size({"width": 1366, "height": 768})
    page.room_sockets = []
    page.on(
        "websocket",
        lambda ws: page.room_sockets.append(ws.url) if "/ws/room/" in ws.url else None,
    )
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(f"{base}/consultations/{consultation.pk}/")
    page.evaluate(MARK)
    page.wait_for_selector("#workspace[data-live='1']")  # the doctor's socket is connected
    return page


def wait_for_call(page, other) -> None:
    try:
        page.wait_for_selector('[data-room][data-connected-peers="1"]', timeout=45_000)
        page.wait_for_function(REMOTE_VIDEO_PLAYS, timeout=30_000)
    except PlaywrightTimeout:
        pytest.fail(f"no call:\n{page_log(page)}\n--- the other page:\n{page_log(other)}")


def still_in_the_call(page) -> None:
    """No reload, one room connection, and the peer still connected."""
    assert page.evaluate(SAME_PAGE), page_log(page)
    assert len(page.room_sockets) == 1, page.room_sockets
    assert page.get_attribute("[data-room]", "data-connected-peers") == "1", page_log(page)


def choose_medicine(page, query: str, wanted: str) -> None:
    name = page.locator("[name=item-0-name]")
    name.fill(query)
    page.wait_for_function(
        "([w]) => Array.from(document.querySelectorAll('#medicine-options option'))"
        ".some(o => o.value === w)",
        arg=[wanted],
    )
    name.fill(wanted)
    page.wait_for_function("() => document.querySelector('[name=item-0-medicine_id]').value")


def assert_ended(page, text: str) -> None:
    """The one ended state: said once, forms off, the end controls gone, Next patient on."""
    expect(page.locator("#consultation-status")).to_contain_text(text)
    expect(page.locator("#workspace")).to_have_attribute("data-status", "ended")
    for form in ("#record-editor", "#consultation-mode"):
        expect(page.locator(form)).to_have_attribute("inert", "")
    expect(page.locator("#end-form")).to_be_hidden()
    expect(page.locator("#next-patient")).to_be_visible()
    expect(page.locator("[data-room]")).to_have_attribute("data-state", "ended")


def test_identity_and_prescription_keep_the_call_and_the_page_ends_it(
    live_server_url, signed_in_page
):
    clinic = make_clinic()
    clinic.patient.preferred_language = "kn"
    clinic.patient.save(update_fields=["preferred_language"])
    consultation = joined(clinic)
    doctor_user = clinic.doctor.user
    consultation_services.confirm_consultation_mode(doctor_user, consultation, "chat")
    consultation_services.save_clinical_record(
        doctor_user,
        consultation,
        {"complaints": "Fever", "diagnoses": [{"code": "R50.9", "label": "Fever, unspecified"}]},
        base_revision=consultation.record_revision,
    )
    patient = signed_in_page(clinic.patient.account)
    patient.goto(f"{live_server_url}/room/{consultation.pk}/")
    doctor = open_workspace(signed_in_page, live_server_url, consultation)
    wait_for_call(doctor, patient)
    wait_for_call(patient, doctor)

    # The layout at 1366 x 768: the call on the left, the record beside it, both on screen.
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    doctor.screenshot(path=str(SCREENSHOTS / "workspace-1366x768.png"))
    room = doctor.locator("[data-room] .room-videos").bounding_box()
    record = doctor.locator("#identity").bounding_box()
    assert room["x"] + room["width"] <= record["x"], (room, record)
    assert room["y"] < 768 and record["y"] < 768, (room, record)
    # Each column scrolls on its own: the page itself is about one screen tall.
    assert doctor.evaluate("document.documentElement.scrollHeight") <= 768 + 40
    expect(doctor.locator("#patient-language")).to_have_text("Language: Kannada")
    assert_accessible(doctor, "workspace, in the call")

    # Identity: confirmed in the background, the call untouched.
    doctor.click("#confirm-identity")
    expect(doctor.locator("#identity-confirmed")).to_be_visible()
    still_in_the_call(doctor)

    # The prescription, signed with Alt+I: the whole medicine name shows (tablet, not syrup).
    choose_medicine(doctor, "paracetamol", "paracetamol tablet 500 mg")
    expect(doctor.locator(".rx-item .rx-resolved").first).to_contain_text(
        "paracetamol tablet 500 mg"
    )
    doctor.fill("[name=item-0-dose]", "500 mg")
    doctor.fill("[name=item-0-frequency]", "1-0-1")
    doctor.fill("[name=item-0-duration]", "3 days")
    doctor.fill("[name=item-0-quantity]", "6 tablets")
    doctor.fill("#rx-reconfirm [name=password]", PASSWORD)
    doctor.keyboard.press("Alt+KeyI")
    expect(doctor.locator("#rx-result")).to_contain_text(
        "Prescription issued and signed.", timeout=30_000
    )
    expect(doctor.locator("#rx-issued li")).to_have_count(1)
    assert Prescription.objects.filter(consultation=consultation).count() == 1
    still_in_the_call(doctor)
    assert_accessible(doctor, "workspace, prescription issued")

    # One ending, its default following what was done: completed with the prescription.
    expect(doctor.locator("#id_outcome")).to_have_value("prescription")
    doctor.keyboard.press("Alt+KeyE")
    assert_ended(doctor, "Ended by you: completed with prescription")
    assert doctor.evaluate(SAME_PAGE)
    patient.wait_for_selector('[data-room][data-state="ended"]')
    consultation.refresh_from_db()
    assert (consultation.status, consultation.outcome) == ("ended", "prescription")
    assert_accessible(doctor, "workspace, ended")


def test_ending_from_the_room_panel_is_the_same_ending(live_server_url, signed_in_page):
    clinic = make_clinic()
    consultation = joined(clinic)
    doctor_user = clinic.doctor.user
    consultation_services.save_clinical_record(
        doctor_user, consultation, {"advice": "Rest and fluids"}, consultation.record_revision
    )
    doctor = open_workspace(signed_in_page, live_server_url, consultation)
    doctor.wait_for_selector('[data-room][data-state="joined"]')

    # Advice only needs the identity first: the page says so beside the ending, and sends
    # nothing.
    expect(doctor.locator("#id_outcome")).to_have_value("advice_only")
    doctor.click('[data-room] [data-action="end"]')
    expect(doctor.locator("#end-form [data-el=error]")).to_contain_text("identity")
    consultation.refresh_from_db()
    assert consultation.is_open
    assert_accessible(doctor, "workspace, identity needed first")

    doctor.click("#confirm-identity")
    expect(doctor.locator("#identity-confirmed")).to_be_visible()
    doctor.click('[data-room] [data-action="end"]')
    assert_ended(doctor, "Ended by you: completed with advice only")
    assert doctor.evaluate(SAME_PAGE)
    assert len(doctor.room_sockets) == 1
    consultation.refresh_from_db()
    assert (consultation.status, consultation.outcome) == ("ended", "advice_only")

    # A step sent after the end says the consultation is over, not what it would need.
    refused = doctor.evaluate(
        """async () => {
          const form = document.getElementById('end-form');
          const r = await fetch(form.action, {method: 'POST', body: new FormData(form),
            headers: {Accept: 'application/json',
                      'X-CSRFToken': form.elements.csrfmiddlewaretoken.value}});
          return [r.status, (await r.json()).error];
        }"""
    )
    assert refused[0] == 409 and "has ended" in refused[1], refused


def test_a_missed_call_shows_on_the_doctors_page_within_5_seconds(live_server_url, signed_in_page):
    clinic = make_clinic()
    consultation = called(clinic)
    doctor = open_workspace(signed_in_page, live_server_url, consultation)
    expect(doctor.locator("#consultation-status")).to_contain_text("Calling the patient")
    expect(doctor.locator("#id_outcome")).to_have_value("no_show")
    assert_accessible(doctor, "workspace, calling")

    # The call window passes; housekeeping expires it.
    Ticket.objects.filter(pk=consultation.ticket_id).update(
        call_expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    assert consultation_services.expire_unanswered_calls() == 1
    assert publisher.flush()
    expect(doctor.locator("#consultation-status")).to_contain_text(
        "The patient did not join in 2 minutes", timeout=5_000
    )
    assert_ended(doctor, "did not join")
    assert doctor.evaluate(SAME_PAGE)
    assert_accessible(doctor, "workspace, missed")


def test_the_console_calls_the_next_patient_with_alt_n(live_server_url, signed_in_page):
    clinic = make_clinic()
    consultation_services.start_serving(clinic.doctor.user, clinic.opd)
    consultation_services.take_token(clinic.patient.account, clinic.patient, clinic.opd, "Cough")
    doctor = signed_in_page(clinic.doctor.user)
    doctor.goto(f"{live_server_url}/consultations/")
    expect(doctor.locator("#queue-rows")).to_contain_text("Cough")
    doctor.keyboard.press("Alt+KeyN")
    doctor.wait_for_url(f"{live_server_url}/consultations/*/")
    expect(doctor.locator("#consultation-status")).to_contain_text("Calling the patient")


def test_call_next_is_not_overtaken_by_its_own_assignment_event(live_server_url, signed_in_page):
    """The claim publishes ``consultation.assigned`` to the doctor's feed at commit; when that
    event reaches the console before the form's answer (a slow network, a loaded node), the
    page must not start a second navigation that aborts the answer's (CI saw
    ``net::ERR_ABORTED``). The answer is held back here until the event has surely arrived."""
    clinic = make_clinic()
    consultation_services.start_serving(clinic.doctor.user, clinic.opd)
    consultation_services.take_token(clinic.patient.account, clinic.patient, clinic.opd, "Cough")
    doctor = signed_in_page(clinic.doctor.user)
    with doctor.expect_response(lambda r: r.url.endswith("/queue.json")):
        doctor.goto(f"{live_server_url}/consultations/")

    def answer_late(route):
        answer = route.fetch(max_redirects=0)
        doctor.wait_for_timeout(1_500)
        route.fulfill(response=answer)

    doctor.route("**/consultations/call-next", answer_late)
    aborted = []
    doctor.on(
        "requestfailed",
        lambda r: aborted.append((r.url, r.failure)) if r.resource_type == "document" else None,
    )
    doctor.keyboard.press("Alt+KeyN")
    doctor.wait_for_url(f"{live_server_url}/consultations/*/")
    expect(doctor.locator("#consultation-status")).to_contain_text("Calling the patient")
    assert aborted == []
