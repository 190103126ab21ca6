"""The workspace page's steps answered as JSON for its script (no reload), the state it shows
(how a consultation ended and by whom), and the words it uses (issue 12)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from sanjeevani.consultations import services as consultation_services
from sanjeevani.consultations.models import Consultation
from sanjeevani.consultations.workspace.status import status_text
from sanjeevani.queueing import services as queue
from sanjeevani.queueing.models import Ticket
from tests.opd.pages_support import make_clinic

pytestmark = pytest.mark.django_db
JSON = {"HTTP_ACCEPT": "application/json"}


@pytest.fixture(autouse=True)
def _private_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "private-media"
    settings.SMS_BACKEND = "file"
    settings.SMS_OUTBOX_DIR = tmp_path / "outbox"


@pytest.fixture
def clinic():
    return make_clinic()


@pytest.fixture
def doctor_client(client, clinic):
    client.force_login(clinic.doctor.user)
    return client


def called(clinic) -> Consultation:
    consultation_services.start_serving(clinic.doctor.user, clinic.opd)
    queue.join_queue(clinic.patient.account, clinic.patient, clinic.opd, "Cough")
    return consultation_services.call_next_patient(clinic.doctor.user).consultation


def joined(clinic) -> Consultation:
    consultation = called(clinic)
    consultation_services.accept_call(clinic.patient.account, consultation.ticket)
    consultation.refresh_from_db()
    return consultation


def url(name, consultation):
    return reverse(f"workspace:{name}", args=[consultation.pk])


def test_identity_answers_json_with_the_confirmed_fragment(doctor_client, clinic):
    consultation = joined(clinic)
    bad = doctor_client.post(
        url("confirm_identity", consultation), {"method": "Asked", "age_years": "-3"}, **JSON
    )
    assert bad.status_code == 400
    assert "age_years" in bad.json()["fields"]
    assert bad.json()["error"].startswith("Enter how the identity was confirmed")
    good = doctor_client.post(
        url("confirm_identity", consultation), {"method": "Asked", "age_years": "36"}, **JSON
    )
    assert good.status_code == 200
    body = good.json()
    assert body["message"] == "Identity and age confirmed."
    assert 'id="identity-confirmed"' in body["html"]["identity"]
    assert body["state"]["identity_confirmed"] is True
    assert body["state"]["status"] == "in_progress"


def test_ending_with_advice_before_identity_is_refused_beside_the_control(doctor_client, clinic):
    consultation = joined(clinic)
    response = doctor_client.post(url("end", consultation), {"outcome": "advice_only"}, **JSON)
    assert response.status_code == 409
    assert response.json()["code"] == "identity_not_confirmed"
    consultation.refresh_from_db()
    assert consultation.is_open


def test_the_page_ends_in_the_background_and_says_how(doctor_client, clinic):
    consultation = called(clinic)
    response = doctor_client.post(url("end", consultation), {"outcome": "no_show"}, **JSON)
    assert response.status_code == 200
    body = response.json()
    assert body["state"] == {
        **body["state"],
        "status": "ended",
        "outcome": "no_show",
        "reason": "no_show",
        "by": "doctor",
    }
    assert body["status_line"] == "Ended by you: the patient did not join."
    # Shown the same way when the page is opened again.
    page = doctor_client.get(url("consultation", consultation)).content.decode()
    assert "Ended by you: the patient did not join." in page
    assert 'id="next-form" class="inline">' in page  # "Next patient" offered, not hidden


def test_a_step_after_the_end_says_the_consultation_ended(doctor_client, clinic):
    """Not the identity message the prescription service would give (issue 12)."""
    consultation = called(clinic)
    consultation_services.end_consultation(clinic.doctor.user, consultation, "no_show")
    for name, data in (
        ("prescribe", {"item-0-name": "paracetamol", "password": "x"}),
        ("confirm_identity", {"method": "Asked", "age_years": "30"}),
        ("end", {"outcome": "advice_only"}),
        ("hold", {"action": "hold"}),
    ):
        response = doctor_client.post(url(name, consultation), data, **JSON)
        assert response.status_code == 409, name
        assert response.json()["code"] == "consultation_ended", name
        assert "has ended" in response.json()["error"], name
        assert "identity" not in response.json()["error"], name


def test_a_missed_call_reads_as_missed(doctor_client, clinic):
    consultation = called(clinic)
    Ticket.objects.filter(pk=consultation.ticket_id).update(
        call_expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    assert consultation_services.expire_unanswered_calls() == 1
    state = doctor_client.get(url("consultation", consultation), **JSON).json()["state"]
    assert (state["status"], state["reason"], state["by"]) == ("ended", "missed", "system")
    assert status_text(state) == "The patient did not join in 2 minutes: the call ended."


def test_hold_and_resume_answer_the_new_state(doctor_client, clinic):
    consultation = joined(clinic)
    held = doctor_client.post(url("hold", consultation), {"action": "hold"}, **JSON).json()
    assert held["state"]["status"] == "on_hold"
    assert held["status_line"] == "On hold: the patient waits in the room."
    back = doctor_client.post(url("hold", consultation), {"action": "resume"}, **JSON).json()
    assert back["state"]["status"] == "in_progress"


def test_prescription_refusal_names_the_field(doctor_client, clinic):
    consultation = joined(clinic)
    consultation_services.confirm_identity(clinic.doctor.user, consultation, "Asked", 36)
    empty = doctor_client.post(url("prescribe", consultation), {}, **JSON)
    assert empty.status_code == 400
    assert "Add at least one medicine" in empty.json()["error"]
    wrong = doctor_client.post(
        url("prescribe", consultation),
        {"item-0-name": "paracetamol", "password": "not my password"},
        **JSON,
    )
    assert wrong.status_code == 400
    assert wrong.json()["fields"], wrong.json()


def test_one_default_outcome_follows_the_state(doctor_client, clinic):
    consultation = called(clinic)
    page = doctor_client.get(url("consultation", consultation)).content.decode()
    assert '<option value="no_show" selected>' in page
    consultation_services.accept_call(clinic.patient.account, consultation.ticket)
    page = doctor_client.get(url("consultation", consultation)).content.decode()
    assert '<option value="advice_only" selected>' in page
    assert page.count('id="end-consultation"') == 1


def test_language_and_vitals_in_words(doctor_client, clinic):
    clinic.patient.preferred_language = "kn"
    clinic.patient.save(update_fields=["preferred_language"])
    consultation = joined(clinic)
    page = doctor_client.get(url("consultation", consultation)).content.decode()
    assert "Language: Kannada" in page
    response = doctor_client.post(
        url("save_record", consultation),
        data={"base_revision": 0, "vitals": {"bp_systolic": "500", "spo2": "x"}},
        content_type="application/json",
    )
    rejected = response.json()["rejected"]
    assert rejected["vitals.bp_systolic"] == [
        "Blood pressure (systolic) must be between 50 and 280 mmHg."
    ]
    assert rejected["vitals.spo2"] == ["SpO₂ must be a number."]
