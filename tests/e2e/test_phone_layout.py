"""Every patient page on a 320 px phone, in English and in Hindi: no horizontal overflow, no
axe-core (WCAG 2.1 A/AA) violation; screenshots at 360 x 740 saved as test artifacts under
``var/test-artifacts/screenshots/`` for a person to look at.

Overflow is measured two ways: the document scrolls sideways (``scrollWidth >
clientWidth``), or any visible element's right edge passes the viewport (an element that
sticks out of a box with ``overflow: hidden`` may not widen the document yet is cut off).
Elements inside a container that scrolls or clips sideways by design (a wide table in a
``.table-wrap``) are judged by that container instead.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from sanjeevani.consultations.models import Consultation
from sanjeevani.prescriptions import signing
from sanjeevani.queueing.models import Ticket
from tests.access.world import build_world
from tests.e2e.accessibility import accessibility_violations
from tests.factories import PatientFactory
from tests.prescriptions.factories import VideoConsultationFactory
from tests.queueing.factories import TicketFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "test-artifacts" / "screenshots"
PHONE = {"width": 320, "height": 640}
SCREENSHOT_PHONE = {"width": 360, "height": 740}

OVERFLOW = """() => {
  const doc = document.documentElement;
  const width = doc.clientWidth;
  const found = [];
  if (doc.scrollWidth > width) {
    found.push(`the page scrolls sideways: ${doc.scrollWidth} > ${width} px`);
  }
  const clipsSideways = (el) => {
    for (let up = el.parentElement; up && up !== document.body; up = up.parentElement) {
      const x = getComputedStyle(up).overflowX;
      if (x !== "visible") return up;
    }
    return null;
  };
  const name = (el) => {
    const classes = typeof el.className === "string" ? el.className.trim() : "";
    return el.tagName.toLowerCase() + (el.id ? "#" + el.id : "")
      + (classes ? "." + classes.split(/\\s+/).join(".") : "");
  };
  for (const el of document.body.querySelectorAll("*")) {
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) continue;
    const style = getComputedStyle(el);
    if (style.visibility === "hidden" || style.display === "none") continue;
    if (box.right <= width + 0.5) continue;
    const clip = clipsSideways(el);
    if (clip && clip.getBoundingClientRect().right <= width + 0.5) continue;
    const text = (el.innerText || "").trim().slice(0, 40);
    found.push(`${name(el)} reaches ${Math.round(box.right)} px: "${text}"`);
    if (found.length >= 8) break;
  }
  return found;
}"""


@dataclass(frozen=True)
class PatientPage:
    name: str
    path: str
    ready: str = "main"
    signed_in: bool = True


def patient_pages(world, ended: Consultation, called: Ticket, missed: Ticket) -> list[PatientPage]:
    """Every page a patient meets, in the states the flow shows them."""
    opd, patient = world.opd, world.patient
    query = f"?patient={patient.pk}"
    return [
        PatientPage("home", "/", signed_in=False),
        PatientPage("otp-sign-in", "/accounts/otp/", "#mobile", signed_in=False),
        PatientPage("home-signed-in", "/"),
        PatientPage("family", "/patients/"),
        PatientPage("profile-form", "/patients/add/", "#id_state"),
        PatientPage("profile-edit", f"/patients/{patient.pk}/edit/", "#id_state"),
        PatientPage("opd-start", f"/opd/{query}", "#state"),
        PatientPage("opd-list", f"/opd/list/{query}&state={patient.state.code}", ".opd"),
        PatientPage("opd-page", f"/opd/{opd.pk}/{query}", "#live-token"),
        PatientPage("waiting-room", f"/opd/tickets/{world.ticket.pk}/", "#wait-panel"),
        PatientPage("waiting-called", f"/opd/tickets/{called.pk}/", "#join-now"),
        PatientPage("waiting-missed", f"/opd/tickets/{missed.pk}/", "#missed-panel"),
        PatientPage(
            "consultation-live", f"/opd/consultations/{world.consultation.pk}/", "[data-room]"
        ),
        PatientPage("consultation-ended", f"/opd/consultations/{ended.pk}/", "#consultation"),
        PatientPage("history", "/opd/history/", ".history-entry"),
        PatientPage("prescription", f"/rx/{world.prescription.pk}/", ".rx-sheet"),
        PatientPage("device-check", "/room/device-check/", "[data-device-check]"),
        PatientPage("signed-in-devices", "/accounts/devices/", "#devices"),
        PatientPage(
            "verification",
            f"/rx/v/{world.prescription.verification_code}/",
            ".verdict",
            signed_in=False,
        ),
    ]


def patient_world():
    """The access world (a waiting token, a consultation in progress, a signed prescription)
    plus an ended consultation and two more family members: one being called, one who
    missed the call."""
    signing._load_private_key.cache_clear()
    world = build_world()
    now = timezone.now()
    ended = VideoConsultationFactory(
        patient=world.patient,
        doctor=world.consultation.doctor,
        opd=world.opd,
        ticket=TicketFactory(patient=world.patient, opd=world.opd, status=Ticket.Status.COMPLETED),
        status=Consultation.Status.ENDED,
        outcome=Consultation.Outcome.ADVICE_ONLY,
        complaints="Fever and a long-lasting cough since the rains began",
        advice="Drink warm water; rest; come back if the fever stays beyond three days",
    )
    family = world.patient.account
    called = TicketFactory(
        patient=PatientFactory(account=family, state=world.state, name="Lakshminarayanan"),
        opd=world.opd,
        status=Ticket.Status.CALLED,
        called_at=now,
        call_expires_at=now + dt.timedelta(minutes=10),
    )
    missed = TicketFactory(
        patient=PatientFactory(account=family, state=world.state, name="Subramaniam"),
        opd=world.opd,
        status=Ticket.Status.MISSED,
        missed_count=1,
    )
    return world, patient_pages(world, ended, called, missed)


@pytest.mark.parametrize("language", ["en", "hi"])
def test_every_patient_page_fits_a_320px_phone(language, live_server_url, browser, signed_in_page):
    world, pages = patient_world()
    host = live_server_url.split("//", 1)[1].split(":")[0]
    language_cookie = {
        "name": settings.LANGUAGE_COOKIE_NAME,
        "value": language,
        "domain": host,
        "path": "/",
    }
    patient = signed_in_page(world.users["patient"])
    anonymous_context = browser.new_context()
    anonymous = anonymous_context.new_page()
    for page in (patient, anonymous):
        page.context.add_cookies([language_cookie])
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    problems: list[str] = []
    try:
        for spec in pages:
            page = patient if spec.signed_in else anonymous
            page.set_viewport_size(PHONE)
            response = page.goto(live_server_url + spec.path)
            assert response is not None and response.status < 400, (spec.name, response.status)
            page.wait_for_selector(spec.ready, state="attached")
            page.wait_for_load_state("load")
            assert page.evaluate("document.documentElement.lang") == language, spec.name
            for line in page.evaluate(OVERFLOW):
                problems.append(f"{language} {spec.name} at 320 px: {line}")
            for v in accessibility_violations(page):
                nodes = "; ".join(v["nodes"][:3])
                problems.append(f"{language} {spec.name}: axe {v['id']} ({v['impact']}) {nodes}")
            page.set_viewport_size(SCREENSHOT_PHONE)
            page.screenshot(path=str(SCREENSHOTS / f"{language}-{spec.name}-360x740.png"))
    finally:
        anonymous_context.close()
    assert not problems, "\n".join(problems)
    assert len(list(SCREENSHOTS.glob(f"{language}-*-360x740.png"))) >= len(pages)


def test_control_the_overflow_check_sees_what_sticks_out(live_server_url, browser):
    """A silent check would pass every page: a wide element, and one cut off by a box that
    hides its overflow, must both be reported."""
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    page.goto(live_server_url + "/accounts/otp/")
    assert page.evaluate(OVERFLOW) == []
    page.evaluate(
        """() => {
          const wide = document.createElement("div");
          wide.id = "too-wide";
          wide.style.width = "400px";
          wide.textContent = "wide";
          document.querySelector("main").appendChild(wide);
        }"""
    )
    found = page.evaluate(OVERFLOW)
    assert any("scrolls sideways" in line for line in found), found
    assert any("div#too-wide" in line for line in found), found
    page.evaluate(
        """() => {
          const wide = document.getElementById("too-wide");
          const box = document.createElement("div");
          box.style.overflow = "hidden";
          box.style.width = "500px";
          wide.replaceWith(box);
          box.appendChild(wide);
        }"""
    )
    found = page.evaluate(OVERFLOW)
    assert any("div#too-wide" in line or "reaches" in line for line in found), found
    context.close()
