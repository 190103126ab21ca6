"""The room adapts to the link by itself: two headless Chromium pages (fake camera and
microphone) in a call. The patient's page on a slow mobile link (300 ms, 250 kbit/s) lowers
its video and tells the doctor; with the doctor's page slowed too (a round trip over a
second) it goes audio only; a step the doctor chose with a button is kept while the link is
poor; the links restored, both step back up to full video.

How the link is slowed: DevTools network emulation (``Network.emulateNetworkConditions``)
on each page. Chromium 156 applies it to WebRTC sockets too, but only to those opened after
the conditions are set (tried: a connected call keeps its speed; after an ICE restart its
round trip is over a second and the encoder is bandwidth-limited). Chromium also reports
the emulated link through ``navigator.connection`` (effectiveType 3g, rtt 300, downlink
0.25), as a phone reports a new network; room.js restarts ICE on such a change, so the call
moves onto the slow sockets just as it would move onto a real new network. Nothing outside
the two pages is slowed (no ``tc`` on loopback, which other processes share).
"""

from __future__ import annotations

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.e2e.accessibility import assert_accessible
from tests.e2e.diagnostics import page_log
from tests.e2e.test_room_browser import wait_for_call
from tests.realtime.factories import ConsultationFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SLOW_LINK = {
    "offline": False,
    "latency": 300,  # ms, added each way
    "downloadThroughput": 250_000 / 8,  # bytes/s
    "uploadThroughput": 250_000 / 8,
}
GOOD_LINK = {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}
#: Three poor samples (2 s apart) per step down, five good ones per step up, ICE restarts
#: under a 300 ms link and a loaded machine: generous, since a pass returns at once.
STEP_TIMEOUT_MS = 60_000


#: Records each quality step the room panel takes from now on, in ``window.qualitySteps``.
RECORD_STEPS = """() => {
  const panel = document.querySelector("[data-room]");
  window.qualitySteps = [];
  new MutationObserver(() => {
    const step = panel.dataset.qualityStep;
    if (window.qualitySteps.at(-1) !== step) window.qualitySteps.push(step);
  }).observe(panel, { attributes: true, attributeFilter: ["data-quality-step"] });
}"""


def emulate(page, conditions: dict) -> None:
    session = getattr(page, "cdp", None)
    if session is None:
        session = page.cdp = page.context.new_cdp_session(page)
        session.send("Network.enable")
    session.send("Network.emulateNetworkConditions", conditions)


def wait_for_panel(page, selector: str, *others) -> None:
    """Wait for the room panel to match ``[data-room]<selector>``; on a timeout, fail with
    what this page and the others logged."""
    try:
        page.wait_for_selector(f"[data-room]{selector}", timeout=STEP_TIMEOUT_MS)
    except PlaywrightTimeout:
        logs = "\n--- the other page:\n".join(page_log(p) for p in (page, *others))
        pytest.fail(f"the panel never matched {selector}:\n{logs}")


def test_room_steps_down_on_a_slow_link_tells_both_sides_and_steps_back_up(
    live_server_url, signed_in_page
):
    consultation = ConsultationFactory()
    room_url = f"{live_server_url}/room/{consultation.pk}/"
    doctor = signed_in_page(consultation.doctor.user)
    patient = signed_in_page(consultation.patient.account)
    doctor.goto(room_url)
    patient.goto(room_url)
    wait_for_call(doctor, patient)
    wait_for_call(patient, doctor)
    for page in (doctor, patient):
        assert page.get_attribute("[data-room]", "data-quality-step") == "normal"
    assert_accessible(doctor, "room: in a call (doctor)")

    # The doctor chooses low-bandwidth mode by hand before the link gets worse.
    doctor.click('[data-action="low-bandwidth"]')
    wait_for_panel(doctor, '[data-quality-step="low-video"][data-quality-auto="0"]')
    wait_for_panel(patient, '[data-peer-quality-step="low-video"]', doctor)
    assert "chose low-bandwidth mode" in patient.inner_text('[data-el="peer-note"]')

    # The patient's link slows: the patient's page lowers its video by itself and says so.
    emulate(patient, SLOW_LINK)
    wait_for_panel(patient, '[data-quality-step="low-video"][data-quality-auto="1"]', doctor)
    assert "video lowered" in patient.inner_text('[data-el="adapt"]')
    assert patient.get_attribute("[data-room]", "data-link-step") == "low-video"

    # Both ends slow (a round trip over a second): audio only.
    emulate(doctor, SLOW_LINK)
    wait_for_panel(patient, '[data-quality-step="audio-only"]', doctor)
    assert "audio only to keep the call going" in patient.inner_text('[data-el="adapt"]')
    # The doctor's page hears it through the room and says it under the patient's picture.
    wait_for_panel(doctor, '[data-peer-quality-step="audio-only"]', patient)
    note = doctor.inner_text('[data-el="peer-note"]')
    assert "connection is weak" in note and "audio only" in note
    doctor.wait_for_selector('.remote[data-video="off"]')  # no video comes from the patient
    assert_accessible(patient, "room: stepped down to audio only (patient)")

    # The doctor's link calls for audio only too, but the doctor's choice is kept ...
    wait_for_panel(doctor, '[data-link-step="audio-only"]', patient)
    assert doctor.get_attribute("[data-room]", "data-quality-step") == "low-video"
    assert_accessible(doctor, "room: weak link with a chosen step (doctor)")
    # ... until the doctor gives the choice back to the link.
    doctor.click('[data-action="auto-quality"]')
    wait_for_panel(doctor, '[data-quality-step="audio-only"][data-quality-auto="1"]', patient)
    wait_for_panel(patient, '[data-peer-quality-step="audio-only"]', doctor)

    for page in (doctor, patient):
        page.evaluate(RECORD_STEPS)
        emulate(page, GOOD_LINK)

    # The link holds: both step back up, audio only -> lower video -> full video. Each step
    # lasts only until the next one, so the pages record them: a loaded machine may finish
    # one page's climb while the test still waits on the other's.
    for page, other in ((doctor, patient), (patient, doctor)):
        wait_for_panel(page, '[data-quality-step="normal"]', other)
        assert page.evaluate("window.qualitySteps") == ["low-video", "normal"]
        wait_for_panel(page, '[data-peer-quality-step="normal"]', other)
        assert "full video is back" in page.inner_text('[data-el="peer-note"]')
    assert "full video is back" in patient.inner_text('[data-el="adapt"]')
    doctor.wait_for_selector('.remote[data-video="on"]')
    doctor.wait_for_function("() => document.querySelector('.remote video').videoWidth > 0")
    assert_accessible(doctor, "room: back to full video (doctor)")
