"""The patient's way through the OPD pages, through the Django test client."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from sanjeevani.audit.models import AuditEvent
from sanjeevani.consultations import services as consultation_services
from sanjeevani.patients.models import PatientDocument
from sanjeevani.queueing import services as queue
from sanjeevani.queueing.models import Ticket
from sanjeevani.registry.models import OnlineOPD, OpeningWindow
from tests.factories import (
    DoctorFactory,
    OnlineOPDFactory,
    PatientFactory,
    StateFactory,
)

from .pages_support import make_clinic, png_upload, text_upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def clinic():
    return make_clinic()


@pytest.fixture
def patient_client(client, clinic):
    client.force_login(clinic.patient.account)
    return client


@pytest.fixture(autouse=True)
def _private_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "private-media"
    settings.SMS_BACKEND = "file"
    settings.SMS_OUTBOX_DIR = tmp_path / "outbox"


def take_token(client, clinic, complaint="Fever for three days"):
    return client.post(
        reverse("opd:take_token", args=[clinic.opd.pk]),
        {"patient": clinic.patient.pk, "complaint": complaint},
    )


# --- sign-in and choosing ------------------------------------------------------------------


def test_anonymous_patient_pages_lead_to_otp_sign_in_and_back(client, clinic):
    response = client.get(reverse("opd:start"))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/otp/")
    assert "next=%2Fopd%2F" in response["Location"]


def test_start_lists_family_profiles_and_links_to_adding_one(patient_client, clinic):
    PatientFactory(account=clinic.patient.account, name="Ravi Kumar", state=clinic.state)
    PatientFactory(name="Stranger Person")
    page = patient_client.get(reverse("opd:start")).content.decode()
    assert "Asha Devi" in page and "Ravi Kumar" in page
    assert "Stranger Person" not in page
    assert 'href="/patients/"' in page
    chosen = patient_client.get(reverse("opd:start"), {"patient": clinic.patient.pk})
    assert b'name="state"' in chosen.content
    assert b'value="KA" selected' in chosen.content


def test_opd_list_shows_state_and_national_opds_with_live_figures(patient_client, clinic):
    national = OnlineOPDFactory(
        name="National Psychiatry OPD", scope=OnlineOPD.Scope.NATIONAL, state=None
    )
    OnlineOPDFactory(name="Other State OPD", state=StateFactory(code="TN", name="Tamil Nadu"))
    queue.go_online(clinic.doctor.user, clinic.opd)
    response = patient_client.get(
        reverse("opd:opd_list"), {"patient": clinic.patient.pk, "state": "KA"}
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "Karnataka General OPD" in page and national.name in page
    assert "Other State OPD" not in page
    assert "Open now" in page and "1 doctor online" in page
    assert "Patients waiting" in page and "Expected wait" in page


def test_closed_opd_shows_its_next_opening(patient_client, clinic):
    closed = OnlineOPDFactory(state=clinic.state, name="Morning OPD", always_open=False)
    tomorrow = (timezone.localtime() + dt.timedelta(days=1)).weekday()
    OpeningWindow.objects.create(opd=closed, weekday=tomorrow, start_minute=0, end_minute=1)
    page = patient_client.get(
        reverse("opd:opd_list"), {"patient": clinic.patient.pk, "state": "KA"}
    ).content.decode()
    assert "Closed. Opens" in page


def test_another_familys_profile_is_not_found(patient_client, clinic):
    stranger = PatientFactory(state=clinic.state)
    assert (
        patient_client.get(
            reverse("opd:opd_detail", args=[clinic.opd.pk]), {"patient": stranger.pk}
        ).status_code
        == 404
    )
    assert take_token_for(patient_client, clinic, stranger).status_code == 404


def test_malformed_ids_are_not_found(patient_client, clinic):
    detail = reverse("opd:opd_detail", args=[clinic.opd.pk])
    assert patient_client.get(detail, {"patient": "not-a-uuid"}).status_code == 404
    assert (
        patient_client.get(reverse("opd:opd_list"), {"patient": "1", "state": "KA"}).status_code
        == 404
    )
    assert (
        patient_client.get(
            reverse("opd:opd_list"), {"patient": str(clinic.patient.pk), "state": "??"}
        ).status_code
        == 404
    )
    assert take_token_for(patient_client, clinic, type("P", (), {"pk": "x"})()).status_code == 404


def take_token_for(client, clinic, patient):
    return client.post(
        reverse("opd:take_token", args=[clinic.opd.pk]), {"patient": patient.pk, "complaint": ""}
    )


# --- taking a token -------------------------------------------------------------------------


def test_take_token_leads_to_the_waiting_room(patient_client, clinic):
    response = take_token(patient_client, clinic)
    ticket = Ticket.objects.get(patient=clinic.patient)
    assert response.status_code == 302
    assert response["Location"] == reverse("opd:waiting_room", args=[ticket.pk])
    page = patient_client.get(response["Location"]).content.decode()
    assert f'id="token-number">{ticket.token_number}<' in page
    assert 'id="position">1<' in page
    assert f'data-ws-path="/ws/opd/{clinic.opd.pk}/waiting/"' in page
    status = patient_client.get(reverse("opd:ticket_status", args=[ticket.pk])).json()
    assert status["status"] == "waiting" and status["position"] == 1
    assert status["queue_key"]["priority"] == ticket.priority
    assert dt.datetime.fromisoformat(status["as_of"]) <= timezone.now()


def test_take_token_refused_when_closed_says_when_it_opens(patient_client, clinic):
    clinic.opd.opening_windows.all().delete()
    tomorrow = (timezone.localtime() + dt.timedelta(days=1)).weekday()
    OpeningWindow.objects.create(opd=clinic.opd, weekday=tomorrow, start_minute=0, end_minute=1)
    response = take_token(patient_client, clinic)
    page = patient_client.get(response["Location"]).content.decode()
    assert "is closed now" in page and "next opens" in page
    assert not Ticket.objects.filter(patient=clinic.patient).exists()


def test_take_token_refused_when_full_for_the_day(patient_client, clinic):
    clinic.opd.daily_capacity = 1
    clinic.opd.save()
    other = PatientFactory(state=clinic.state)
    queue.join_queue(other.account, other, clinic.opd)
    response = take_token(patient_client, clinic)
    page = patient_client.get(response["Location"]).content.decode()
    assert "for today are taken" in page
    assert not Ticket.objects.filter(patient=clinic.patient).exists()


def test_take_token_refused_when_profile_already_holds_one(patient_client, clinic):
    take_token(patient_client, clinic)
    response = take_token(patient_client, clinic)
    page = patient_client.get(response["Location"]).content.decode()
    assert "already" in page
    assert Ticket.objects.filter(patient=clinic.patient).count() == 1
    assert "Go to the waiting room" in page


def test_cancel_gives_up_the_token(patient_client, clinic):
    take_token(patient_client, clinic)
    ticket = Ticket.objects.get(patient=clinic.patient)
    response = patient_client.post(reverse("opd:cancel", args=[ticket.pk]))
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.CANCELLED


def test_another_familys_ticket_is_not_found(client, clinic):
    stranger = PatientFactory(state=clinic.state)
    ticket = queue.join_queue(clinic.patient.account, clinic.patient, clinic.opd)
    client.force_login(stranger.account)
    for name in ("opd:waiting_room", "opd:ticket_status"):
        assert client.get(reverse(name, args=[ticket.pk])).status_code == 404
    assert client.post(reverse("opd:cancel", args=[ticket.pk])).status_code == 404
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.WAITING


# --- the call, missed and rejoin ---------------------------------------------------------------


def test_called_patient_sees_join_now_and_joining_opens_the_consultation(patient_client, clinic):
    take_token(patient_client, clinic)
    ticket = Ticket.objects.get(patient=clinic.patient)
    queue.go_online(clinic.doctor.user, clinic.opd)
    consultation_services.call_next_patient(clinic.doctor.user)
    page = patient_client.get(reverse("opd:waiting_room", args=[ticket.pk])).content.decode()
    assert 'id="call-panel" class="card call"' in page
    assert 'id="call-panel" class="card call" hidden' not in page
    status = patient_client.get(reverse("opd:ticket_status", args=[ticket.pk])).json()
    assert status["status"] == "called" and 0 < status["seconds_left"] <= 120
    response = patient_client.post(reverse("opd:join", args=[ticket.pk]))
    consultation = ticket.consultations.get()
    assert response["Location"] == reverse("opd:consultation", args=[consultation.pk])
    page = patient_client.get(response["Location"]).content.decode()
    assert "In progress" in page
    # Coming back to the waiting room goes straight to the running consultation.
    again = patient_client.get(reverse("opd:waiting_room", args=[ticket.pk]))
    assert again["Location"] == reverse("opd:consultation", args=[consultation.pk])


def test_missed_call_offers_rejoin_once_at_the_head(patient_client, clinic):
    take_token(patient_client, clinic)
    ticket = Ticket.objects.get(patient=clinic.patient)
    later = PatientFactory(state=clinic.state)
    queue.go_online(clinic.doctor.user, clinic.opd)
    consultation_services.call_next_patient(clinic.doctor.user)
    queue.join_queue(later.account, later, clinic.opd)
    Ticket.objects.filter(pk=ticket.pk).update(
        call_expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    page = patient_client.get(reverse("opd:waiting_room", args=[ticket.pk])).content.decode()
    assert "You missed the doctor" in page and "Rejoin (once)" in page
    late = patient_client.post(reverse("opd:join", args=[ticket.pk]))
    assert "2 minutes to join have passed" in patient_client.get(late["Location"]).content.decode()
    patient_client.post(reverse("opd:rejoin", args=[ticket.pk]))
    status = patient_client.get(reverse("opd:ticket_status", args=[ticket.pk])).json()
    assert status["status"] == "waiting" and status["position"] == 1


# --- documents ---------------------------------------------------------------------------------


def test_upload_stores_outside_web_root_and_serves_only_family_and_doctor(
    client, patient_client, clinic, settings
):
    back = reverse("opd:opd_detail", args=[clinic.opd.pk]) + f"?patient={clinic.patient.pk}"
    response = patient_client.post(
        reverse("opd:upload", args=[clinic.patient.pk]),
        {"file": png_upload(), "title": "Blood test", "kind": "report", "back": back},
    )
    assert response["Location"] == back
    document = PatientDocument.objects.get(patient=clinic.patient)
    assert document.content_type == "image/png"
    assert str(settings.MEDIA_ROOT) in document.file.path
    assert "report.png" not in document.file.name
    assert AuditEvent.objects.filter(action="patient_document.upload").exists()
    page = patient_client.get(back).content.decode()
    assert "Blood test" in page

    url = reverse("opd:document", args=[document.pk])
    own = patient_client.get(url)
    assert own.status_code == 200 and own["Content-Type"] == "image/png"
    assert b"".join(own.streaming_content).startswith(b"\x89PNG")

    other_doctor = DoctorFactory()
    client.force_login(other_doctor.user)
    assert client.get(url).status_code == 404
    client.force_login(PatientFactory().account)
    assert client.get(url).status_code == 404

    queue.join_queue(clinic.patient.account, clinic.patient, clinic.opd)
    queue.go_online(clinic.doctor.user, clinic.opd)
    consultation_services.call_next_patient(clinic.doctor.user)
    client.force_login(clinic.doctor.user)
    assert client.get(url).status_code == 200
    assert AuditEvent.objects.filter(
        action="patient_document.download", actor=clinic.doctor.user
    ).exists()


def test_upload_refuses_a_file_that_is_not_really_a_pdf(patient_client, clinic):
    response = patient_client.post(
        reverse("opd:upload", args=[clinic.patient.pk]),
        {"file": text_upload(), "title": "Fake", "kind": "report", "back": "/opd/history/"},
    )
    page = patient_client.get(response["Location"]).content.decode()
    assert "Only PDF, JPEG or PNG files" in page
    assert not PatientDocument.objects.exists()


def test_upload_refuses_a_file_too_big(patient_client, clinic, settings):
    settings.UPLOAD_MAX_BYTES = 20
    response = patient_client.post(
        reverse("opd:upload", args=[clinic.patient.pk]),
        {"file": png_upload(), "kind": "report", "back": "/opd/history/"},
    )
    page = patient_client.get(response["Location"]).content.decode()
    assert "the limit is" in page
    assert not PatientDocument.objects.exists()


# --- Hindi ---------------------------------------------------------------------------------


def test_waiting_room_speaks_hindi_when_the_profile_asks(patient_client, clinic):
    clinic.patient.preferred_language = "hi"
    clinic.patient.save()
    take_token(patient_client, clinic)
    ticket = Ticket.objects.get(patient=clinic.patient)
    page = patient_client.get(reverse("opd:waiting_room", args=[ticket.pk])).content.decode()
    assert "आपका टोकन" in page
    assert "कतार में आपका स्थान" in page
    assert "Your place in the queue" not in page


def test_waiting_room_speaks_hindi_when_the_person_picked_it(patient_client, clinic, settings):
    take_token(patient_client, clinic)
    ticket = Ticket.objects.get(patient=clinic.patient)
    patient_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "hi"
    page = patient_client.get(reverse("opd:waiting_room", args=[ticket.pk])).content.decode()
    assert "आपका टोकन" in page
    assert 'lang="hi"' in page


def test_opd_page_and_errors_speak_hindi_for_a_hindi_profile(patient_client, clinic):
    clinic.patient.preferred_language = "hi"
    clinic.patient.save()
    url = reverse("opd:opd_detail", args=[clinic.opd.pk])
    page = patient_client.get(url, {"patient": clinic.patient.pk}).content.decode()
    assert "टोकन लें" in page and "पुराने पर्चे और रिपोर्टें" in page
    response = patient_client.post(
        reverse("opd:upload", args=[clinic.patient.pk]), {"kind": "report", "back": url}
    )
    assert response.status_code == 302
    queue.go_online(clinic.doctor.user, clinic.opd)
    status_page = patient_client.get(
        reverse("opd:opd_list"), {"patient": clinic.patient.pk, "state": "KA"}
    ).content.decode()
    assert "अभी खुला है" in status_page
