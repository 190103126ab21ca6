"""The doctor's way through the workspace pages (the OPD's mount), and the end of the patient's
way after it."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from sanjeevani.consultations import services as consultation_services
from sanjeevani.consultations.models import Consultation, Feedback
from sanjeevani.prescriptions.models import Medicine, Prescription
from sanjeevani.queueing import services as queue
from sanjeevani.queueing.models import DoctorPresence, Ticket
from tests.factories import PASSWORD, DoctorFactory, OnlineOPDFactory, PatientFactory
from tests.opd.pages_support import make_clinic

pytestmark = pytest.mark.django_db


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


def waiting_ticket(clinic, complaint="Cough and fever") -> Ticket:
    return queue.join_queue(clinic.patient.account, clinic.patient, clinic.opd, complaint)


def called_consultation(doctor_client, clinic) -> Consultation:
    waiting_ticket(clinic)
    doctor_client.post(reverse("workspace:presence"), {"action": "online", "opd": clinic.opd.pk})
    response = doctor_client.post(reverse("workspace:call_next"))
    consultation = Consultation.objects.get(doctor=clinic.doctor)
    assert response["Location"] == reverse("workspace:consultation", args=[consultation.pk])
    return consultation


def joined_consultation(doctor_client, clinic) -> Consultation:
    consultation = called_consultation(doctor_client, clinic)
    consultation_services.accept_call(clinic.patient.account, consultation.ticket)
    consultation.refresh_from_db()
    return consultation


def save(client, consultation, **fields):
    return client.post(
        reverse("workspace:save_record", args=[consultation.pk]),
        data=json.dumps(fields),
        content_type="application/json",
    )


def test_anonymous_doctor_pages_lead_to_staff_sign_in(client):
    response = client.get(reverse("workspace:console"))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/staff/")
    assert "next=%2Fconsultations%2F" in response["Location"]


def test_patient_cannot_open_doctor_pages(client, clinic):
    client.force_login(clinic.patient.account)
    refused = client.get(reverse("workspace:console"))
    assert refused.status_code == 403  # the styled page saying whose page it is
    assert "This page is for doctors" in refused.content.decode()
    assert client.get(reverse("workspace:icd10"), {"q": "fever"}).status_code == 404


def test_console_goes_online_and_shows_the_queue(doctor_client, clinic):
    waiting_ticket(clinic)
    page = doctor_client.get(reverse("workspace:console")).content.decode()
    assert "Go online for an OPD to see its queue." in page
    response = doctor_client.post(
        reverse("workspace:presence"),
        {"action": "online", "opd": clinic.opd.pk, "auto_assign": ""},
    )
    page = doctor_client.get(response["Location"]).content.decode()
    assert "You are online for Karnataka General OPD." in page
    assert "Cough and fever" in page
    assert f"<td>{clinic.patient.age}</td><td>F</td>" in page
    assert 'id="queue-count">1<' in page
    data = doctor_client.get(reverse("workspace:queue")).json()
    assert data["online"] is True and data["waiting"] == 1
    assert data["entries"][0]["complaint"] == "Cough and fever"


def test_break_and_offline(doctor_client, clinic):
    doctor_client.post(reverse("workspace:presence"), {"action": "online", "opd": clinic.opd.pk})
    doctor_client.post(reverse("workspace:presence"), {"action": "break"})
    presence = DoctorPresence.objects.get(doctor=clinic.doctor)
    assert presence.status == DoctorPresence.Status.ON_BREAK
    doctor_client.post(reverse("workspace:presence"), {"action": "offline"})
    presence.refresh_from_db()
    assert presence.status == DoctorPresence.Status.OFFLINE


def test_doctor_cannot_go_online_for_an_opd_they_are_not_on(doctor_client, clinic):
    other = OnlineOPDFactory(state=clinic.state)
    response = doctor_client.post(
        reverse("workspace:presence"), {"action": "online", "opd": other.pk}
    )
    assert response.status_code == 404
    assert not DoctorPresence.objects.filter(opd=other).exists()


def test_call_next_with_nobody_waiting_says_so(doctor_client, clinic):
    doctor_client.post(reverse("workspace:presence"), {"action": "online", "opd": clinic.opd.pk})
    response = doctor_client.post(reverse("workspace:call_next"))
    page = doctor_client.get(response["Location"]).content.decode()
    assert "Nobody is waiting" in page


def test_call_next_offline_is_refused_with_a_reason(doctor_client, clinic):
    waiting_ticket(clinic)
    response = doctor_client.post(reverse("workspace:call_next"))
    page = doctor_client.get(response["Location"]).content.decode()
    assert "Go online for an OPD before calling a patient." in page


def test_consultation_page_shows_patient_documents_and_earlier_consultations(doctor_client, clinic):
    consultation = called_consultation(doctor_client, clinic)
    page = doctor_client.get(
        reverse("workspace:consultation", args=[consultation.pk])
    ).content.decode()
    assert "Asha Devi" in page and clinic.patient.patient_number in page
    assert "Documents the patient shared" in page
    assert "Earlier consultations on Sanjeevani" in page
    assert 'id="record-editor"' in page and 'id="rx-form"' in page


def test_confirm_identity_form(doctor_client, clinic):
    consultation = joined_consultation(doctor_client, clinic)
    url = reverse("workspace:confirm_identity", args=[consultation.pk])
    bad = doctor_client.post(url, {"method": "Asked name", "age_years": "-3"})
    assert (
        "Enter how the identity was confirmed"
        in doctor_client.get(bad["Location"]).content.decode()
    )
    doctor_client.post(url, {"method": "Asked name and age on video", "age_years": "36"})
    consultation.refresh_from_db()
    assert consultation.confirmed_age_years == 36
    assert consultation.identity_method == "Asked name and age on video"


def test_record_autosave_and_stale_revision(doctor_client, clinic):
    consultation = joined_consultation(doctor_client, clinic)
    first = save(
        doctor_client,
        consultation,
        base_revision=0,
        complaints="Fever 3 days",
        diagnoses=[{"code": "J06.9", "label": "Acute upper respiratory infection, unspecified"}],
        vitals={"pulse": "88"},
    )
    assert first.status_code == 200 and first.json()["revision"] == 1
    consultation.refresh_from_db()
    assert consultation.complaints == "Fever 3 days"
    assert consultation.diagnoses[0]["code"] == "J06.9"
    stale = save(doctor_client, consultation, base_revision=0, complaints="Old window text")
    assert stale.status_code == 409
    assert stale.json()["record"]["complaints"] == "Fever 3 days"
    assert "another window" in stale.json()["error"]
    consultation.refresh_from_db()
    assert consultation.complaints == "Fever 3 days"


def test_icd10_search(doctor_client):
    results = doctor_client.get(reverse("workspace:icd10"), {"q": "cholera"}).json()["results"]
    assert {"code": "A00", "label": "Cholera"} in results
    by_code = doctor_client.get(reverse("workspace:icd10"), {"q": "J06.9"}).json()["results"]
    assert by_code[0]["code"] == "J06.9"
    assert doctor_client.get(reverse("workspace:icd10"), {"q": ""}).json()["results"] == []


def confirm_mode(doctor_client, consultation) -> None:
    """The doctor confirms the mode the room observed (nothing here: chat) before signing."""
    response = doctor_client.post(
        reverse("opd-api:consultation-mode", args=[consultation.pk]),
        {"mode": "chat"},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content


def test_prescribe_end_and_patient_sees_prescription_feedback_and_follow_up(
    client, doctor_client, clinic
):
    consultation = joined_consultation(doctor_client, clinic)
    doctor_client.post(
        reverse("workspace:confirm_identity", args=[consultation.pk]),
        {"method": "Asked name and age on video", "age_years": str(clinic.patient.age)},
    )
    confirm_mode(doctor_client, consultation)
    save(
        doctor_client,
        consultation,
        base_revision=0,
        complaints="Fever",
        advice="Rest, fluids",
        diagnoses=[{"code": "R50.9", "label": "Fever, unspecified"}],
    )
    medicine = Medicine.objects.filter(generic_name="paracetamol", tpg_list="O").first()
    cetirizine = Medicine.objects.filter(generic_name="cetirizine", strength="10 mg").first()
    response = doctor_client.post(
        reverse("workspace:prescribe", args=[consultation.pk]),
        {
            "item-0-medicine_id": str(medicine.pk),
            "item-0-name": "paracetamol tablet 500 mg",
            "item-0-dose": "500 mg",
            "item-0-frequency": "1-0-1",
            "item-0-route": "oral",
            "item-0-duration": "3 days",
            "item-0-quantity": "6 tablets",
            "item-0-instructions": "after food",
            "item-1-medicine_id": str(cetirizine.pk),
            "item-1-name": "cetirizine tablet 10 mg",
            "item-1-dose": "10 mg",
            "item-1-frequency": "0-0-1",
            "item-1-route": "oral",
            "item-1-duration": "5 days",
            "item-1-quantity": "5 tablets",
            "password": PASSWORD,
        },
    )
    page = doctor_client.get(response["Location"]).content.decode()
    assert "Prescription issued and signed." in page
    prescription = Prescription.objects.get(consultation=consultation)
    assert prescription.items.count() == 2
    response = doctor_client.post(
        reverse("workspace:end", args=[consultation.pk]), {"outcome": "prescription"}
    )
    assert response["Location"] == reverse("workspace:console")
    consultation.refresh_from_db()
    assert consultation.status == Consultation.Status.ENDED

    client.force_login(clinic.patient.account)
    page = client.get(reverse("opd:consultation", args=[consultation.pk])).content.decode()
    assert f'href="/rx/{prescription.pk}/pdf/"' in page
    assert "Rest, fluids" in page
    assert "Send feedback" in page
    assert "Book a follow-up with Dr" in page
    client.post(reverse("opd:feedback", args=[consultation.pk]), {"rating": "5", "comment": "Kind"})
    assert Feedback.objects.get(consultation=consultation).rating == 5
    page = client.get(reverse("opd:consultation", args=[consultation.pk])).content.decode()
    assert "Send feedback" not in page
    history = client.get(reverse("opd:history")).content.decode()
    assert f'href="/rx/{prescription.pk}/"' in history
    response = client.post(reverse("opd:follow_up", args=[consultation.pk]))
    follow_up = Ticket.objects.get(patient=clinic.patient, status=Ticket.Status.WAITING)
    assert follow_up.preferred_doctor == clinic.doctor
    assert response["Location"] == reverse("opd:waiting_room", args=[follow_up.pk])


def ready_to_sign(doctor_client, clinic) -> Consultation:
    """A joined consultation with identity, mode and a diagnosis: what signing needs."""
    consultation = joined_consultation(doctor_client, clinic)
    doctor_client.post(
        reverse("workspace:confirm_identity", args=[consultation.pk]),
        {"method": "Asked name and age", "age_years": str(clinic.patient.age)},
    )
    confirm_mode(doctor_client, consultation)
    save(
        doctor_client,
        consultation,
        base_revision=0,
        diagnoses=[{"code": "R50.9", "label": "Fever, unspecified"}],
    )
    return consultation


def test_free_entry_medicine_without_video_is_refused_with_the_rule(doctor_client, clinic):
    consultation = ready_to_sign(doctor_client, clinic)
    response = doctor_client.post(
        reverse("workspace:prescribe", args=[consultation.pk]),
        {
            "item-0-name": "Unlisted tonic",
            "item-0-form": "syrup",
            "item-0-strength": "100 mL",
            "item-0-dose": "10 mL",
            "item-0-frequency": "1-0-1",
            "item-0-duration": "5 days",
            "item-0-quantity": "1 bottle of 100 mL",
            "password": PASSWORD,
        },
    )
    page = doctor_client.get(response["Location"]).content.decode()
    # A name the platform cannot resolve to a generic is refused in every mode (issue 9).
    assert "the platform does not recognise" in page
    assert "Unlisted tonic" in page
    assert not Prescription.objects.exists()
    empty = doctor_client.post(reverse("workspace:prescribe", args=[consultation.pk]), {})
    assert "Add at least one medicine" in doctor_client.get(empty["Location"]).content.decode()


def test_feedback_without_rating_is_refused_plainly(client, doctor_client, clinic):
    consultation = joined_consultation(doctor_client, clinic)
    consultation_services.confirm_identity(clinic.doctor.user, consultation, "Name asked", 30)
    doctor_client.post(reverse("workspace:end", args=[consultation.pk]), {"outcome": "advice_only"})
    client.force_login(clinic.patient.account)
    response = client.post(reverse("opd:feedback", args=[consultation.pk]), {"rating": "9"})
    assert "Choose a rating from 1 to 5." in client.get(response["Location"]).content.decode()
    assert not Feedback.objects.exists()


def test_end_without_outcome_is_refused(doctor_client, clinic):
    consultation = joined_consultation(doctor_client, clinic)
    response = doctor_client.post(reverse("workspace:end", args=[consultation.pk]), {"outcome": ""})
    assert (
        "Choose how the consultation ended."
        in doctor_client.get(response["Location"]).content.decode()
    )
    consultation.refresh_from_db()
    assert consultation.is_open


def test_dropped_connection_returns_patient_to_the_head(doctor_client, clinic):
    consultation = joined_consultation(doctor_client, clinic)
    later = PatientFactory(state=clinic.state)
    queue.join_queue(later.account, later, clinic.opd)
    doctor_client.post(reverse("workspace:dropped", args=[consultation.pk]))
    ticket = Ticket.objects.get(pk=consultation.ticket_id)
    assert ticket.status == Ticket.Status.WAITING
    assert ticket.priority == Ticket.Priority.HEAD


def test_doctor_sees_only_own_consultations(client, doctor_client, clinic):
    consultation = called_consultation(doctor_client, clinic)
    stranger = DoctorFactory()
    stranger.opds.add(clinic.opd)
    client.force_login(stranger.user)
    for name in ("workspace:consultation", "opd:doctor_consultation"):
        assert client.get(reverse(name, args=[consultation.pk])).status_code == 404
    assert save(client, consultation, base_revision=0, complaints="x").status_code == 404
    assert (
        client.post(reverse("workspace:end", args=[consultation.pk]), {"outcome": "advice_only"})
    ).status_code == 404
    consultation.refresh_from_db()
    assert consultation.is_open and consultation.complaints == "Cough and fever"


def test_patient_of_another_family_cannot_open_the_consultation(client, doctor_client, clinic):
    consultation = joined_consultation(doctor_client, clinic)
    client.force_login(PatientFactory().account)
    assert client.get(reverse("opd:consultation", args=[consultation.pk])).status_code == 404
    assert (
        client.post(reverse("opd:feedback", args=[consultation.pk]), {"rating": "1"}).status_code
        == 404
    )


def test_hold_and_resume(doctor_client, clinic):
    consultation = joined_consultation(doctor_client, clinic)
    url = reverse("workspace:hold", args=[consultation.pk])
    doctor_client.post(url, {"action": "hold"})
    consultation.refresh_from_db()
    assert consultation.status == Consultation.Status.ON_HOLD
    doctor_client.post(url, {"action": "resume"})
    consultation.refresh_from_db()
    assert consultation.status == Consultation.Status.IN_PROGRESS


def test_queue_json_says_offline_when_not_serving(doctor_client):
    data = doctor_client.get(reverse("workspace:queue")).json()
    assert data["online"] is False and "entries" not in data


def test_the_prescription_form_sent_twice_signs_once(doctor_client, clinic):
    """The page's script resends the same form (same ``client_key``) after a lost answer:
    one prescription; the answer hands the script a fresh key for the next prescription."""
    consultation = ready_to_sign(doctor_client, clinic)
    page = doctor_client.get(reverse("workspace:consultation", args=[consultation.pk]))
    key = page.context["rx_client_key"]
    assert f'name="client_key" value="{key}"' in page.content.decode()
    medicine = Medicine.objects.filter(generic_name="paracetamol", tpg_list="O").first()
    form = {
        "client_key": str(key),
        "item-0-medicine_id": str(medicine.pk),
        "item-0-name": "paracetamol tablet 500 mg",
        "item-0-dose": "500 mg",
        "item-0-frequency": "1-0-1",
        "item-0-route": "oral",
        "item-0-duration": "3 days",
        "item-0-quantity": "6 tablets",
        "password": PASSWORD,
    }
    url = reverse("workspace:prescribe", args=[consultation.pk])
    answers = [
        doctor_client.post(url, form, headers={"accept": "application/json"}) for _ in range(2)
    ]
    assert [a.status_code for a in answers] == [200, 200], answers[1].content
    assert Prescription.objects.filter(consultation=consultation).count() == 1
    fresh = {a.json()["next_client_key"] for a in answers}
    assert len(fresh) == 2 and str(key) not in fresh
    stale = doctor_client.post(url, {**form, "client_key": "yesterday"})
    assert "This form is out of date" in doctor_client.get(stale["Location"]).content.decode()
