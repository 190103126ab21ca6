"""Every page state the browser tests visit, loaded in headless Chromium with the strict
Content-Security-Policy on, failing on any violation the browser reports, and on any
WCAG 2.1 A/AA violation axe-core finds in that state (``tests/e2e/accessibility.py``).

Violations are caught twice: a ``securitypolicyviolation`` listener installed before any
page script runs (reported to the test through an exposed function, so nothing is lost on
navigation) and console messages that mention the Content Security Policy. A control step
injects an inline script and expects exactly that violation, so a silent watcher fails.
"""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from sanjeevani.patients.documents import upload_document
from sanjeevani.prescriptions import signing
from tests.access.world import build_world
from tests.e2e.accessibility import accessibility_violations
from tests.opd.pages_support import PNG_BYTES, make_clinic
from tests.realtime.factories import ConsultationFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WATCH = """
document.addEventListener('securitypolicyviolation', (e) => {
  window.__cspViolation({
    page: location.pathname, directive: e.effectiveDirective, blocked: e.blockedURI,
    source: e.sourceFile, line: e.lineNumber, sample: e.sample,
  });
});
"""
REMOTE_VIDEO_PLAYS = """() => {
  const v = document.querySelector('.remote video');
  return !!v && v.videoWidth > 0 && v.readyState >= 2;
}"""


class Watcher:
    """Collects what every watched page reports."""

    def __init__(self) -> None:
        self.violations: list[dict] = []
        self.console: list[str] = []

    def watch(self, page):
        page.context.expose_function("__cspViolation", self._violation)
        page.context.add_init_script(WATCH)
        page.on("console", self._console)
        return page

    def _violation(self, report: dict) -> None:
        self.violations.append(report)

    def _console(self, message) -> None:
        text = message.text
        if "Content Security Policy" in text or "Content-Security-Policy" in text:
            self.console.append(text)
        if "Permissions-Policy" in text or "Permissions policy" in text:
            self.console.append(text)

    def visit(self, page, url: str, ready: str | None = None) -> None:
        page.goto(url)
        if ready:
            page.wait_for_selector(ready)
        page.wait_for_load_state("load")

    def take(self) -> tuple[list[dict], list[str]]:
        found = (self.violations[:], self.console[:])
        self.violations.clear()
        self.console.clear()
        return found


@pytest.fixture
def watcher():
    return Watcher()


def settle(page, ms: int = 400) -> None:
    """Let late scripts (sockets, timers, the room) run before violations are read."""
    page.wait_for_timeout(ms)


def test_control_an_injected_inline_script_is_blocked_and_seen(live_server_url, browser, watcher):
    page = watcher.watch(browser.new_context().new_page())
    watcher.visit(page, live_server_url + "/")
    page.evaluate(
        "() => { const s = document.createElement('script');"
        " s.textContent = 'window.__ran = 1'; document.body.appendChild(s); }"
    )
    page.evaluate("() => { document.body.setAttribute('onclick', 'window.__ran = 2'); }")
    page.click("body")
    settle(page)
    assert page.evaluate("window.__ran === undefined")
    violations, console = watcher.take()
    assert {v["directive"] for v in violations} >= {"script-src-elem", "script-src-attr"}
    assert console, "Chromium logs a refused inline script to the console"
    page.context.close()


# The walk visits about twenty page states, two of them with video both ways, and runs axe on
# each: longer than the suite's default per-test limit on two cores.
@pytest.mark.timeout(900)
def test_every_page_state_runs_without_a_csp_violation(
    live_server_url, browser, signed_in_page, watcher, settings
):
    from playwright.sync_api import expect

    base = live_server_url
    problems: list[str] = []
    steps: list[str] = []

    def check(step: str, page=None) -> None:
        steps.append(step)
        if page is not None:
            settle(page)
            problems.extend(
                f"{step}: axe {v['id']} ({v['impact']}): {'; '.join(v['nodes'][:3])}"
                for v in accessibility_violations(page)
            )
        violations, console = watcher.take()
        for v in violations:
            problems.append(f"{step}: {v}")
        for text in console:
            problems.append(f"{step}: console: {text}")

    # --- anonymous: the front door, both sign-in pages, the API reference
    anonymous = watcher.watch(browser.new_context().new_page())
    watcher.visit(anonymous, base + "/")
    check("home", anonymous)
    watcher.visit(anonymous, base + "/accounts/otp/", "#mobile")
    check("otp sign-in", anonymous)
    watcher.visit(anonymous, base + "/accounts/staff/")
    check("staff sign-in", anonymous)
    watcher.visit(anonymous, base + "/api/docs/")
    anonymous.wait_for_selector("redoc .api-content, .api-content", timeout=30_000)
    check("api reference", anonymous)

    # --- the OPD flow: doctor online, patient's family pages, OPD list, token, waiting room
    clinic = make_clinic()
    doctor = watcher.watch(signed_in_page(clinic.doctor.user))
    watcher.visit(doctor, base + "/consultations/", "#opd")
    doctor.select_option("#opd", str(clinic.opd.pk))
    doctor.click("#go-online")
    expect(doctor.locator("#presence-status")).to_contain_text("Online")
    check("doctor console", doctor)

    patient = watcher.watch(signed_in_page(clinic.patient.account))
    watcher.visit(patient, base + "/patients/")
    check("family", patient)
    watcher.visit(patient, base + "/patients/add/", "#id_state")
    patient.select_option("#id_state", index=1)  # form.js filters the districts
    check("family form", patient)
    watcher.visit(patient, base + f"/patients/{clinic.patient.pk}/edit/", "#id_state")
    check("family edit form", patient)
    watcher.visit(patient, base + "/opd/")
    patient.click("button:has-text('Show OPDs')")
    patient.wait_for_url(re.compile(r"/opd/list/"))
    check("opd list", patient)
    patient.click(f"a.button[href*='/opd/{clinic.opd.pk}/']")
    patient.fill("#id_complaint", "Fever and cough for three days")
    patient.click("#take-token")
    patient.wait_for_url(re.compile(r"/opd/tickets/[0-9a-f-]{36}/$"))
    expect(patient.locator("#position")).to_have_text("1")
    expect(patient.locator("#live-label")).to_have_text("Live")  # the WebSocket connected
    check("waiting room", patient)

    # --- the call: doctor's consultation and the patient's, with video both ways
    doctor.reload()
    expect(doctor.locator("#queue-count")).to_have_text("1")
    doctor.click("#call-next")
    doctor.wait_for_url(re.compile(r"^https?://[^/]+/consultations/[0-9a-f-]{36}/$"))
    check("doctor consultation", doctor)
    expect(patient.locator("#join-now")).to_be_visible()
    patient.click("#join-now")
    patient.wait_for_url(re.compile(r"/opd/consultations/[0-9a-f-]{36}/$"))
    doctor.reload()
    for page in (doctor, patient):
        page.wait_for_selector('[data-room][data-connected-peers="1"]', timeout=60_000)
        page.wait_for_function(REMOTE_VIDEO_PLAYS, timeout=60_000)
    doctor.click("#confirm-identity")
    expect(doctor.locator("#identity-confirmed")).to_be_visible()
    doctor.fill("[name=complaints]", "Fever and cough")
    expect(doctor.locator("#save-state")).to_have_text("Saved")
    doctor.fill("#icd-search", "J06.9")
    doctor.locator(".icd-option").first.click()
    check("consultation with video", doctor)
    check("patient consultation with video", patient)
    doctor.close()  # video pages cost CPU: close each once it has been checked

    # --- the device check, the history
    device = watcher.watch(signed_in_page(clinic.patient.account))
    watcher.visit(device, base + "/room/device-check/")
    device.wait_for_timeout(2500)  # camera preview and the bandwidth probe
    check("device check", device)
    device.close()
    watcher.visit(patient, base + "/opd/history/")
    check("history", patient)
    patient.close()

    # --- the room page itself, both sides with video (the room browser test's state)
    consultation = ConsultationFactory()
    room_doctor = watcher.watch(signed_in_page(consultation.doctor.user))
    room_patient = watcher.watch(signed_in_page(consultation.patient.account))
    watcher.visit(room_doctor, f"{base}/room/{consultation.pk}/")
    watcher.visit(room_patient, f"{base}/room/{consultation.pk}/")
    for page in (room_doctor, room_patient):
        page.wait_for_selector('[data-room][data-connected-peers="1"]', timeout=45_000)
        page.wait_for_function(REMOTE_VIDEO_PLAYS, timeout=30_000)
    room_doctor.fill("#room-chat-text", "Namaste")
    room_doctor.click('[data-el="chat-form"] button[type="submit"]')
    room_patient.wait_for_selector('li.theirs:has-text("Namaste")')
    check("room doctor", room_doctor)
    check("room patient", room_patient)
    room_doctor.close()
    room_patient.close()

    # --- a signed prescription (screen view and public verification), a shared photo, admin
    signing._load_private_key.cache_clear()
    world = build_world()
    family = watcher.watch(signed_in_page(world.users["patient"]))
    watcher.visit(family, f"{base}/rx/{world.prescription.pk}/", ".rx-sheet")
    assert (
        family.evaluate("getComputedStyle(document.querySelector('.rx-head')).display") == "flex"
    ), "the nonce'd sheet style applies on screen"
    check("prescription view", family)
    watcher.visit(anonymous, f"{base}/rx/v/{world.prescription.verification_code}/", ".verdict")
    check("prescription verification", anonymous)
    photo = upload_document(
        world.users["patient"],
        world.patient,
        SimpleUploadedFile("rash.png", PNG_BYTES, content_type="image/png"),
        "Rash",
        "report",
    )
    watcher.visit(family, f"{base}/opd/documents/{photo.pk}/")
    assert family.evaluate("document.images.length === 1 && document.images[0].naturalWidth > 0")
    check("shared photo", family)

    admin = watcher.watch(signed_in_page(world.users["national_admin"]))
    watcher.visit(admin, base + "/admin/", "#content")
    check("admin index", admin)
    watcher.visit(admin, base + "/admin/audit/auditevent/", "#changelist")
    check("admin audit log", admin)

    assert not problems, "\n".join(problems)
    assert len(steps) == 22, steps  # every page state above was reached and checked
