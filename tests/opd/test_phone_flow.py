"""The patient's phone flow (issue 12, item 3), through the Django test client: the OPD list
in the order a patient looks for it, "Open now" only when a doctor is there, the main action
first, no stale action after Back, and texts with a link to the site, in the patient's
language, never "open the app"."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from sanjeevani.accounts.sms import FileOutboxBackend
from sanjeevani.queueing import services as queue
from sanjeevani.queueing.sms import (
    missed_call_text,
    near_turn_text,
    sms_after_commit,
    sms_near_turn_after_commit,
)
from sanjeevani.registry.models import OnlineOPD, OpeningWindow, RosterShift
from tests.factories import OnlineOPDFactory, SpecialtyFactory

from .pages_support import make_clinic

pytestmark = pytest.mark.django_db


@pytest.fixture
def clinic():
    return make_clinic()


@pytest.fixture
def patient_client(client, clinic):
    client.force_login(clinic.patient.account)
    return client


@pytest.fixture(autouse=True)
def _outbox(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "private-media"
    settings.SMS_BACKEND = "file"
    settings.SMS_OUTBOX_DIR = tmp_path / "outbox"


def opd_list(client, clinic) -> str:
    response = client.get(reverse("opd:opd_list"), {"patient": clinic.patient.pk, "state": "KA"})
    assert response.status_code == 200
    return response.content.decode()


def test_the_states_general_opd_comes_first_then_its_specialists_then_national(
    patient_client, clinic
):
    # Names chosen so that alphabetical or scope order would put them the other way round.
    OnlineOPDFactory(
        name="A National Psychiatry OPD",
        scope=OnlineOPD.Scope.NATIONAL,
        state=None,
        specialty=SpecialtyFactory(name="Test psychiatry"),
    )
    OnlineOPDFactory(name="A National General OPD", scope=OnlineOPD.Scope.NATIONAL, state=None)
    OnlineOPDFactory(
        name="Karnataka Dermatology OPD",
        state=clinic.state,
        specialty=SpecialtyFactory(name="Test dermatology"),
    )
    page = opd_list(patient_client, clinic)
    order = [
        page.index(name)
        for name in (
            "Karnataka General OPD",
            "Karnataka Dermatology OPD",
            "A National General OPD",
            "A National Psychiatry OPD",
        )
    ]
    assert order == sorted(order)


def test_open_hours_alone_do_not_say_open_now(patient_client, clinic):
    page = opd_list(patient_client, clinic)
    assert "Open now" not in page
    assert "No doctor online yet" in page


def test_open_now_when_a_doctor_is_online(patient_client, clinic):
    queue.go_online(clinic.doctor.user, clinic.opd)
    page = opd_list(patient_client, clinic)
    assert "Open now" in page and "1 doctor online" in page
    assert "No doctor online yet" not in page


def test_open_now_when_the_roster_expects_a_doctor_now(patient_client, clinic):
    now = timezone.localtime()
    RosterShift.objects.create(
        doctor=clinic.doctor, opd=clinic.opd, weekday=now.weekday(), start_minute=0, end_minute=1440
    )
    page = opd_list(patient_client, clinic)
    assert "Open now" in page and "on duty now but not online yet" in page


def test_outside_the_opening_hours_the_page_says_when_it_opens(patient_client, clinic):
    clinic.opd.opening_windows.all().delete()
    tomorrow = (timezone.localtime() + dt.timedelta(days=1)).weekday()
    OpeningWindow.objects.create(opd=clinic.opd, weekday=tomorrow, start_minute=540, end_minute=600)
    queue.go_online(clinic.doctor.user, clinic.opd)  # online, yet outside the hours
    page = opd_list(patient_client, clinic)
    assert "Open now" not in page
    assert "Closed. Opens" in page and "09:00" in page


def test_take_a_token_comes_before_the_optional_upload(patient_client, clinic):
    url = reverse("opd:opd_detail", args=[clinic.opd.pk])
    page = patient_client.get(url, {"patient": clinic.patient.pk}).content.decode()
    assert page.index('id="take-token"') < page.index('enctype="multipart/form-data"')


def test_pages_with_state_dependent_actions_are_not_cached(patient_client, clinic):
    url = reverse("opd:opd_detail", args=[clinic.opd.pk])
    response = patient_client.get(url, {"patient": clinic.patient.pk})
    assert "no-store" in response["Cache-Control"]
    assert b"data-fresh-on-return" in response.content
    family = patient_client.get(reverse("patients:family"))
    assert "no-store" in family["Cache-Control"]


def test_after_taking_a_token_the_opd_page_offers_the_waiting_room_not_a_token(
    patient_client, clinic
):
    url = reverse("opd:opd_detail", args=[clinic.opd.pk])
    patient_client.post(
        reverse("opd:take_token", args=[clinic.opd.pk]), {"patient": clinic.patient.pk}
    )
    page = patient_client.get(url, {"patient": clinic.patient.pk}).content.decode()
    assert 'id="take-token"' not in page
    assert "Go to the waiting room" in page


def test_the_flash_messages_keep_list_semantics(patient_client, clinic):
    patient_client.post(
        reverse("opd:take_token", args=[clinic.opd.pk]),
        {"patient": clinic.patient.pk, "complaint": "x" * 600},
    )
    page = patient_client.get(
        reverse("opd:opd_detail", args=[clinic.opd.pk]), {"patient": clinic.patient.pk}
    ).content.decode()
    assert '<div class="messages" role="status"><ul>' in page
    assert '<ul class="messages" role="status">' not in page


# --- texts --------------------------------------------------------------------------------


def test_texts_name_the_site_and_never_an_app(settings):
    settings.PUBLIC_BASE_URL = "https://sanjeevani.example.in/"
    texts = [near_turn_text("General OPD", 7), missed_call_text(7, can_rejoin=True)]
    for text in texts:
        assert "https://sanjeevani.example.in" in text
        assert "app" not in text.lower().split()
        assert "the app" not in text


def test_texts_are_rendered_in_the_patients_language_and_sent_after_commit(
    clinic, django_capture_on_commit_callbacks, tmp_path
):
    clinic.patient.preferred_language = "hi"
    clinic.patient.save()
    seen = []

    def render() -> str:
        seen.append(translation.get_language())
        return near_turn_text(clinic.opd.name, 7)

    with django_capture_on_commit_callbacks(execute=True):
        sms_after_commit(clinic.patient, render)
    assert seen == ["hi"]
    sent = FileOutboxBackend(tmp_path / "outbox").messages()
    assert [m.to for m in sent] == [clinic.patient.account.mobile]


def test_the_near_turn_text_links_the_site(settings, django_capture_on_commit_callbacks, tmp_path):
    settings.PUBLIC_BASE_URL = "https://sanjeevani.example.in"
    with django_capture_on_commit_callbacks(execute=True):
        sms_near_turn_after_commit([(7, "+919876543210", "en", "General OPD")])
    (sent,) = FileOutboxBackend(tmp_path / "outbox").messages()
    assert "https://sanjeevani.example.in" in sent.body and "the app" not in sent.body
