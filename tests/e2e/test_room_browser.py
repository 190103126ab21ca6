"""Two headless Chromium pages (fake camera and microphone) as doctor and patient: video
decoded on both sides and observed as video by the server from both pages' reports, chat
with read marks, a reload that rejoins, and the end."""

from __future__ import annotations

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from sanjeevani.consultations import services as consultation_services
from sanjeevani.consultations.models import Consultation
from tests.e2e.accessibility import assert_accessible
from tests.e2e.diagnostics import page_log
from tests.realtime.factories import ConsultationFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

REMOTE_VIDEO_PLAYS = """() => {
  const v = document.querySelector('.remote video');
  return !!v && v.videoWidth > 0 && v.readyState >= 2;
}"""


def wait_for_call(page, other) -> None:
    try:
        page.wait_for_selector('[data-room][data-connected-peers="1"]', timeout=45_000)
        page.wait_for_function(REMOTE_VIDEO_PLAYS, timeout=30_000)
    except PlaywrightTimeout:
        pytest.fail(
            f"no call within the time:\n{page_log(page)}\n--- the other page:\n{page_log(other)}"
        )


def send_chat(page, text: str) -> None:
    page.fill("#room-chat-text", text)
    page.click('[data-el="chat-form"] button[type="submit"]')


def test_doctor_and_patient_call_chat_reload_and_end(live_server_url, signed_in_page):
    consultation = ConsultationFactory()
    room_url = f"{live_server_url}/room/{consultation.pk}/"
    doctor = signed_in_page(consultation.doctor.user)
    patient = signed_in_page(consultation.patient.account)
    doctor.goto(room_url)
    patient.goto(room_url)

    wait_for_call(doctor, patient)
    wait_for_call(patient, doctor)
    assert patient.evaluate("document.querySelector('.remote video').videoWidth") > 0
    assert doctor.evaluate("document.querySelector('.remote video').videoWidth") > 0
    # Both pages report what they decoded (media-stats); the server observes video from
    # both ends and tells the room.
    for page in (doctor, patient):
        page.wait_for_selector('[data-room][data-observed-mode="video"]', timeout=30_000)
    consultation.refresh_from_db()
    assert (consultation.observed_mode, consultation.mode) == ("video", "video")
    assert consultation.mode_confirmed_at is None  # observed, not yet confirmed

    send_chat(doctor, "Namaste, how are you feeling?")
    patient.wait_for_selector('li.theirs:has-text("Namaste, how are you feeling?")')
    send_chat(patient, "Fever since two days")
    doctor.wait_for_selector('li.theirs:has-text("Fever since two days")')
    doctor.wait_for_selector('li.mine[data-mark="read"]')  # the patient's page read it
    assert_accessible(doctor, "room: in a call with chat (doctor)")
    assert_accessible(patient, "room: in a call with chat (patient)")

    patient.reload()
    wait_for_call(patient, doctor)
    wait_for_call(doctor, patient)
    patient.wait_for_selector('li.theirs[data-seq="1"]:has-text("Namaste")')  # chat replayed
    patient.wait_for_selector('li.mine[data-seq="2"]:has-text("Fever since two days")')
    send_chat(patient, "After reload")
    doctor.wait_for_selector('li.theirs:has-text("After reload")')

    consultation_services.confirm_identity(
        consultation.doctor.user, consultation, "Name and age asked", 40
    )
    doctor.on("dialog", lambda dialog: dialog.accept())
    doctor.select_option('[data-el="outcome"]', "advice_only")
    doctor.click('[data-action="end"]')
    doctor.wait_for_selector('[data-room][data-state="ended"]')
    patient.wait_for_selector('[data-room][data-state="ended"]')
    assert "ended" in patient.inner_text('[data-el="status"]')
    assert_accessible(patient, "room: ended (patient)")

    consultation.refresh_from_db()
    assert consultation.status == Consultation.Status.ENDED
    assert consultation.had_video is True
    assert consultation.media_observations.filter(video_frames__gte=45).count() == 2


def test_a_lost_offer_is_negotiated_again(live_server_url, signed_in_page):
    """The patient's first offer never reaches the server (a socket that dropped at the
    wrong moment): the call still connects, because a call that has not connected is
    negotiated again (room.js ``watchCalls``)."""
    consultation = ConsultationFactory()
    room_url = f"{live_server_url}/room/{consultation.pk}/"
    doctor = signed_in_page(consultation.doctor.user)
    patient = signed_in_page(consultation.patient.account)
    dropped = []

    def drop_first_offer(ws) -> None:
        server = ws.connect_to_server()

        def from_page(message) -> None:
            if not dropped and '"type":"offer"' in str(message).replace(" ", ""):
                dropped.append(message)
                return
            server.send(message)

        ws.on_message(from_page)

    patient.route_web_socket("**/ws/**", drop_first_offer)
    doctor.goto(room_url)
    doctor.wait_for_selector('[data-room][data-state="joined"]')
    patient.goto(room_url)

    wait_for_call(patient, doctor)
    wait_for_call(doctor, patient)
    assert len(dropped) == 1
    logged = "\n".join(doctor.console_lines + patient.console_lines)
    assert "negotiating again" in logged or "- offering" in logged
