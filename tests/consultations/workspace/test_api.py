"""The doctor's consultation and the patient's view of it, through the HTTP API (the workspace
API under /api/v1/consultations/, the patient's steps under /api/v1/opd/)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from sanjeevani.audit.models import AuditEvent
from sanjeevani.consultations.lifecycle import CLINICAL_OUTCOMES
from sanjeevani.consultations.models import Consultation, Feedback
from sanjeevani.queueing.models import Ticket
from tests.factories import DoctorFactory, PatientFactory
from tests.queueing.factories import (  # noqa: F401 - fixtures
    API,
    api_for,
    call_next,
    confirm_identity,
    doctor_fixture,
    go_online,
    member_doctor,
    opd_fixture,
    patient_fixture,
    take_token,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def consultation(opd, doctor, patient) -> Consultation:
    go_online(doctor, opd)
    ticket_id = take_token(patient, opd, "headache").json()["id"]
    call_next(doctor)
    api_for(patient.account).post(f"{API}/tickets/{ticket_id}/join/")
    return Consultation.objects.get(ticket_id=ticket_id)


WORKSPACE_API = "/api/v1/consultations"
#: The patient's steps on a consultation stay in the OPD's API.
PATIENT_STEPS = ("feedback", "follow-up")


def url(consultation, step: str = "") -> str:
    if step in PATIENT_STEPS:
        return f"{API}/consultations/{consultation.pk}/{step}/"
    return f"{WORKSPACE_API}/{consultation.pk}/{step + '/' if step else ''}"


def save(doctor, consultation, base_revision, **fields):
    return api_for(doctor.user).patch(
        url(consultation, "record"), {"base_revision": base_revision, **fields}, format="json"
    )


def error(response) -> dict:
    return response.json()["error"]


# --- identity ----------------------------------------------------------------------------
def test_confirm_identity_records_method_and_age(doctor, consultation):
    response = api_for(doctor.user).post(
        url(consultation, "identity"),
        {"method": "Aadhaar seen on video", "age_years": 36},
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["identity_confirmed"] is True
    assert body["confirmed_age_years"] == 36 and body["identity_method"] == "Aadhaar seen on video"
    assert body["consent"] == "implied"
    assert AuditEvent.objects.filter(
        action="consultation.identity_confirmed", patient_id=consultation.patient_id
    ).exists()


def test_identity_needs_method_and_sane_age(doctor, consultation):
    response = api_for(doctor.user).post(
        url(consultation, "identity"), {"method": "", "age_years": 200}, format="json"
    )
    assert response.status_code == 400
    assert set(error(response)["fields"]) == {"method", "age_years"}
    consultation.refresh_from_db()
    assert consultation.identity_confirmed_at is None


# --- the record, saved as the doctor types -----------------------------------------------------
def test_autosave_partial_updates_and_revision(doctor, consultation):
    first = save(doctor, consultation, 0, complaints="headache 2 days", findings="alert")
    assert first.status_code == 200, first.content
    assert first.json()["record_revision"] == 1
    second = save(doctor, consultation, 1, advice="fluids, rest")
    body = second.json()
    assert (body["complaints"], body["advice"], body["record_revision"]) == (
        "headache 2 days",
        "fluids, rest",
        2,
    )


def test_stale_revision_refused_and_nothing_lost(doctor, consultation):
    save(doctor, consultation, 0, history="window A text")
    response = save(doctor, consultation, 0, history="window B text")
    assert response.status_code == 409
    assert error(response)["code"] == "stale_record"
    assert "another window" in error(response)["message"]
    consultation.refresh_from_db()
    assert consultation.history == "window A text" and consultation.record_revision == 1


def test_diagnoses_validated_against_icd10(doctor, consultation):
    good = save(doctor, consultation, 0, diagnoses=[{"code": "j06.9", "label": ""}])
    assert good.status_code == 200
    assert good.json()["diagnoses"] == [
        {"code": "J06.9", "label": "Acute upper respiratory infection, unspecified"}
    ]
    bad = save(doctor, consultation, 1, diagnoses=[{"code": "Q99.99X", "label": "made up"}])
    assert bad.status_code == 400
    assert "Q99.99X" in error(bad)["fields"]["diagnoses"][0]


def test_vitals_ranges(doctor, consultation):
    ok = save(
        doctor,
        consultation,
        0,
        vitals={
            "pulse": 88,
            "bp_systolic": 130,
            "bp_diastolic": 85,
            "spo2": 97,
            "temperature_c": 37.8,
        },
    )
    assert ok.status_code == 200
    assert ok.json()["vitals"]["temperature_c"] == 37.8
    bad = save(doctor, consultation, 1, vitals={"pulse": 400, "spo2": 120})
    assert bad.status_code == 400
    assert len(error(bad)["fields"]["vitals"]) == 2
    upside_down = save(doctor, consultation, 1, vitals={"bp_systolic": 80, "bp_diastolic": 90})
    assert upside_down.status_code == 400


def test_follow_up_date_not_in_past(doctor, consultation):
    past = (timezone.localdate() - dt.timedelta(days=1)).isoformat()
    assert save(doctor, consultation, 0, follow_up_on=past).status_code == 400
    future = (timezone.localdate() + dt.timedelta(days=7)).isoformat()
    assert save(doctor, consultation, 0, follow_up_on=future).json()["follow_up_on"] == future


def test_another_doctor_cannot_read_or_write(opd, consultation):
    other = member_doctor(opd)
    api = api_for(other.user)
    assert api.get(url(consultation)).status_code == 404
    assert save(other, consultation, 0, advice="x").status_code == 404
    assert (
        api.post(url(consultation, "end"), {"outcome": "no_show"}, format="json").status_code == 404
    )


def test_another_family_cannot_read(consultation):
    assert api_for(PatientFactory().account).get(url(consultation)).status_code == 404


def test_patient_cannot_write_record(patient, consultation):
    response = api_for(patient.account).patch(
        url(consultation, "record"), {"base_revision": 0, "advice": "x"}, format="json"
    )
    assert response.status_code == 403


def test_reads_are_audited_with_patient(doctor, patient, consultation):
    api_for(doctor.user).get(url(consultation))
    api_for(patient.account).get(url(consultation))
    views = AuditEvent.objects.filter(action="consultation.view", object_id=str(consultation.pk))
    assert {e.actor_id for e in views} == {doctor.user.pk, patient.account.pk}
    assert all(e.patient_id == patient.pk for e in views)


def test_a_doctors_steps_are_audited_once_each_and_not_again_as_reads(doctor, consultation):
    """Each step's own row names the doctor, the patient and the moment; the record the
    step answers with is not written a second time as a read (issue 15, item 4)."""
    api = api_for(doctor.user)
    steps = [
        api.post(url(consultation, "identity"), {"method": "seen", "age_years": 30}, format="json"),
        save(doctor, consultation, 0, complaints="cough for a week"),
        save(doctor, consultation, 1, advice="steam inhalation"),
        api.post(url(consultation, "hold")),
        api.post(url(consultation, "resume")),
        api.post(url(consultation, "end"), {"outcome": "advice_only"}, format="json"),
    ]
    assert [step.status_code for step in steps] == [200] * 6, [s.content for s in steps]
    trail = list(
        AuditEvent.objects.filter(actor=doctor.user, object_id=str(consultation.pk))
        .order_by("pk")
        .values_list("action", "patient_id")
    )
    actions = [action for action, _patient in trail]
    assert "consultation.view" not in actions
    for action in (
        "consultation.identity_confirmed",
        "consultation.record_saved",
        "consultation.hold",
        "consultation.resume",
        "consultation.end",
    ):
        assert action in actions, (action, actions)
    assert actions.count("consultation.record_saved") == 2
    assert {patient for _action, patient in trail} == {consultation.patient_id}


def test_an_autosave_that_changed_nothing_is_audited_as_the_read_it_was(doctor, consultation):
    response = save(doctor, consultation, 0)
    assert response.status_code == 200, response.content
    assert response.json()["record_revision"] == 0
    views = AuditEvent.objects.filter(
        action="consultation.view", actor=doctor.user, object_id=str(consultation.pk)
    )
    assert [view.patient_id for view in views] == [consultation.patient_id]
    assert not AuditEvent.objects.filter(
        action="consultation.record_saved", object_id=str(consultation.pk)
    ).exists()


def test_a_hold_of_a_consultation_already_on_hold_is_audited_as_a_read(doctor, consultation):
    api = api_for(doctor.user)
    assert api.post(url(consultation, "hold")).json()["status"] == "on_hold"
    assert api.post(url(consultation, "hold")).json()["status"] == "on_hold"
    trail = AuditEvent.objects.filter(actor=doctor.user, object_id=str(consultation.pk))
    assert sorted(trail.values_list("action", flat=True)) == [
        "consultation.hold",
        "consultation.view",
    ]


def test_a_refused_step_answers_no_record_and_writes_no_read(doctor, consultation):
    save(doctor, consultation, 0, history="window A")
    stale = save(doctor, consultation, 0, history="window B")
    assert stale.status_code == 409 and "history" not in stale.json()
    assert not AuditEvent.objects.filter(
        action="consultation.view", actor=doctor.user, object_id=str(consultation.pk)
    ).exists()


# --- hold, resume, end -------------------------------------------------------------------------
def test_hold_and_resume(doctor, consultation):
    api = api_for(doctor.user)
    assert api.post(url(consultation, "hold")).json()["status"] == "on_hold"
    assert api.post(url(consultation, "hold")).json()["status"] == "on_hold"
    assert api.post(url(consultation, "resume")).json()["status"] == "in_progress"


def _end(doctor, consultation, outcome):
    if outcome in CLINICAL_OUTCOMES and consultation.status == "in_progress":
        confirm_identity(doctor, consultation)
    return api_for(doctor.user).post(url(consultation, "end"), {"outcome": outcome}, format="json")


def test_an_ending_with_clinical_advice_needs_the_identity_confirmed(doctor, consultation):
    save(doctor, consultation, 0, advice="steam inhalation", referral="ENT, district hospital")
    for outcome in CLINICAL_OUTCOMES:
        response = api_for(doctor.user).post(
            url(consultation, "end"), {"outcome": outcome}, format="json"
        )
        assert response.status_code == 409
        assert error(response)["code"] == "identity_not_confirmed"
        assert "identity" in error(response)["message"]
    consultation.refresh_from_db()
    assert consultation.status == "in_progress"
    confirm_identity(doctor, consultation)
    assert _end(doctor, consultation, "advice_only").json()["outcome"] == "advice_only"


def test_end_with_advice_only_needs_advice(doctor, consultation):
    response = _end(doctor, consultation, "advice_only")
    assert response.status_code == 409 and error(response)["code"] == "no_advice"
    save(doctor, consultation, 0, advice="steam inhalation")
    response = _end(doctor, consultation, "advice_only")
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["outcome"]) == ("ended", "advice_only")
    assert Ticket.objects.get(pk=consultation.ticket_id).status == "completed"
    assert (
        api_for(doctor.user).get(f"{WORKSPACE_API}/doctor/presence/").json()["status"]
        == "available"
    )


def test_end_referred_needs_referral(doctor, consultation):
    assert error(_end(doctor, consultation, "referred"))["code"] == "no_referral"
    save(doctor, consultation, 0, referral="District hospital, cardiology: chest pain")
    assert _end(doctor, consultation, "referred").json()["outcome"] == "referred"


def test_end_with_prescription_needs_an_issued_prescription(doctor, consultation):
    response = _end(doctor, consultation, "prescription")
    assert response.status_code == 409
    assert error(response)["code"] == "no_prescription"


def test_end_no_show_marks_missed(opd, doctor, patient):
    go_online(doctor, opd)
    ticket_id = take_token(patient, opd).json()["id"]
    consultation_id = call_next(doctor).json()["consultation"]
    consultation = Consultation.objects.get(pk=consultation_id)
    assert error(_end(doctor, consultation, "advice_only"))["code"] == "patient_not_joined"
    response = _end(doctor, consultation, "no_show")
    assert response.json()["outcome"] == "no_show"
    ticket = Ticket.objects.get(pk=ticket_id)
    assert ticket.status == "missed" and ticket.missed_count == 1


def test_end_unknown_outcome_is_400(doctor, consultation):
    assert _end(doctor, consultation, "dropped").status_code == 400


def test_end_with_auto_assign_calls_next(opd, doctor, consultation):
    go_online(doctor, opd, auto_assign=True)
    waiting = take_token(PatientFactory(), opd).json()
    assert waiting["status"] == "waiting"
    save(doctor, consultation, 0, advice="rest")
    _end(doctor, consultation, "advice_only")
    assert Ticket.objects.get(pk=waiting["id"]).status == "called"


# --- feedback and history ------------------------------------------------------------------------
def test_feedback_rating_1_to_5_once(doctor, patient, consultation):
    api = api_for(patient.account)
    assert api.post(url(consultation, "feedback"), {"rating": 5}, format="json").status_code == 409
    save(doctor, consultation, 0, advice="rest")
    _end(doctor, consultation, "advice_only")
    for bad in (0, 6, "x"):
        assert (
            api.post(url(consultation, "feedback"), {"rating": bad}, format="json").status_code
            == 400
        )
    ok = api.post(url(consultation, "feedback"), {"rating": 4, "comment": "kind"}, format="json")
    assert ok.status_code == 201
    assert Feedback.objects.get(consultation=consultation).rating == 4
    again = api.post(url(consultation, "feedback"), {"rating": 5}, format="json")
    assert again.status_code == 409 and error(again)["code"] == "feedback_given"


def test_doctor_cannot_give_feedback(doctor, consultation):
    assert (
        api_for(doctor.user)
        .post(url(consultation, "feedback"), {"rating": 5}, format="json")
        .status_code
        == 403
    )


def test_history_lists_ended_consultations_and_is_audited(doctor, patient, consultation):
    save(doctor, consultation, 0, advice="rest", diagnoses=[{"code": "R51", "label": ""}])
    _end(doctor, consultation, "advice_only")
    response = api_for(patient.account).get(f"{API}/patients/{patient.pk}/consultations/")
    assert response.status_code == 200
    rows = response.json()
    assert [r["id"] for r in rows] == [str(consultation.pk)]
    assert rows[0]["doctor"]["registration_number"] == doctor.registration_number
    assert AuditEvent.objects.filter(action="patient.history_view", patient_id=patient.pk).exists()
    stranger = api_for(PatientFactory().account)
    assert stranger.get(f"{API}/patients/{patient.pk}/consultations/").status_code == 404


def test_doctor_sees_earlier_consultations(opd, doctor, patient, consultation):
    save(doctor, consultation, 0, advice="rest")
    _end(doctor, consultation, "advice_only")
    second_doctor = member_doctor(opd)
    api_for(doctor.user).post(f"{WORKSPACE_API}/doctor/offline/")
    go_online(second_doctor, opd)
    ticket_id = take_token(patient, opd).json()["id"]
    new_id = call_next(second_doctor).json()["consultation"]
    assert Ticket.objects.get(pk=ticket_id).status == "called"
    response = api_for(second_doctor.user).get(f"{WORKSPACE_API}/{new_id}/earlier/")
    assert response.status_code == 200
    assert [r["id"] for r in response.json()] == [str(consultation.pk)]
    assert AuditEvent.objects.filter(action="patient.earlier_consultations_view").exists()
    assert (
        api_for(DoctorFactory().user).get(f"{WORKSPACE_API}/{new_id}/earlier/").status_code == 404
    )
