"""The patient's way through the queue and the doctor's calls, through the HTTP API."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from sanjeevani.audit.models import AuditEvent
from sanjeevani.consultations.models import Consultation
from sanjeevani.queueing import tickets as queue_tickets
from sanjeevani.queueing.models import Ticket
from sanjeevani.registry.models import OpeningWindow
from tests.factories import DoctorFactory, OnlineOPDFactory, PatientFactory
from tests.queueing.factories import (  # noqa: F401 - fixtures
    API,
    TicketFactory,
    api_for,
    call_next,
    confirm_identity,
    doctor_fixture,
    go_online,
    member_doctor,
    opd_fixture,
    outbox_fixture,
    patient_fixture,
    take_token,
)

pytestmark = pytest.mark.django_db


def error(response) -> dict:
    return response.json()["error"]


# --- taking a token ----------------------------------------------------------------------
def test_take_token_gives_number_position_and_sms(
    opd, doctor, patient, outbox, django_capture_on_commit_callbacks
):
    go_online(doctor, opd)
    with django_capture_on_commit_callbacks(execute=True):
        response = take_token(patient, opd, "fever for 3 days")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["token_number"] == 1
    assert body["status"] == "waiting"
    assert body["position"] == 1
    assert body["expected_wait_minutes"] == opd.consultation_minutes
    assert body["websocket"] == f"/ws/opd/{opd.pk}/waiting/"
    sms = outbox.messages(patient.account.mobile)
    assert "token 1" in sms[0].body and patient.patient_number in sms[0].body
    # first in line: the "your turn is near" SMS goes out at once, after the token's
    assert len(sms) == 2 and "turn" in sms[1].body and "near" in sms[1].body


def test_closed_opd_refused_with_next_opening(patient):
    closed = OnlineOPDFactory(always_open=False)
    now = timezone.localtime()
    tomorrow = (now + dt.timedelta(days=1)).weekday()
    OpeningWindow.objects.create(
        opd=closed, weekday=tomorrow, start_minute=9 * 60, end_minute=13 * 60
    )
    response = take_token(patient, closed)
    assert response.status_code == 409
    assert error(response)["code"] == "opd_closed"
    assert "closed now" in error(response)["message"]
    assert "09:00" in error(response)["message"]
    assert not Ticket.objects.exists()


def test_full_opd_refused(patient):
    small = OnlineOPDFactory(daily_capacity=2)
    for _ in range(2):
        assert take_token(PatientFactory(), small).status_code == 201
    response = take_token(patient, small)
    assert response.status_code == 409
    assert error(response)["code"] == "opd_full"
    assert "2 tokens" in error(response)["message"]


def test_second_live_token_refused_even_at_another_opd(opd, patient):
    assert take_token(patient, opd).status_code == 201
    response = take_token(patient, OnlineOPDFactory(state=opd.state))
    assert response.status_code == 409
    assert error(response)["code"] == "already_in_queue"
    assert "already holds token 1" in error(response)["message"]


def test_a_join_at_the_same_moment_is_refused_by_the_database_and_told_the_token(
    opd, patient, monkeypatch
):
    """Two joins of one patient at once both pass the look-up for a live token; the
    one-live-ticket constraint refuses the second, which is told the token held, and
    nothing of it is written."""
    first = take_token(patient, opd).json()
    # The second join's look-up ran before the first join committed: it saw no token.
    monkeypatch.setattr(queue_tickets, "refuse_second_live_ticket", lambda patient: None)
    response = take_token(patient, OnlineOPDFactory(state=opd.state))
    assert response.status_code == 409, response.content
    assert error(response)["code"] == "already_in_queue"
    assert "already holds token 1" in error(response)["message"]
    assert [str(t.pk) for t in Ticket.objects.filter(patient=patient)] == [first["id"]]
    assert AuditEvent.objects.filter(action="ticket.create", patient_id=patient.pk).count() == 1


def test_token_numbers_run_per_opd_per_day(opd):
    other = OnlineOPDFactory()
    TicketFactory(
        opd=opd,
        service_date=timezone.localdate() - dt.timedelta(days=1),
        token_number=57,
        status=Ticket.Status.COMPLETED,
    )
    numbers = [take_token(PatientFactory(), opd).json()["token_number"] for _ in range(3)]
    assert numbers == [1, 2, 3]
    assert take_token(PatientFactory(), other).json()["token_number"] == 1


def test_cannot_take_token_for_another_family(opd, patient):
    stranger = PatientFactory()
    response = api_for(stranger.account).post(
        f"{API}/opds/{opd.pk}/tickets/", {"patient": str(patient.pk)}, format="json"
    )
    # like the page: another family's profile is not found, not "invalid"
    assert response.status_code == 404
    assert not Ticket.objects.filter(patient=patient).exists()


def test_doctor_cannot_take_token(opd, doctor, patient):
    response = api_for(doctor.user).post(
        f"{API}/opds/{opd.pk}/tickets/", {"patient": str(patient.pk)}, format="json"
    )
    assert response.status_code == 403


def test_cancel_frees_the_patient(opd, patient):
    ticket_id = take_token(patient, opd).json()["id"]
    response = api_for(patient.account).post(f"{API}/tickets/{ticket_id}/cancel/")
    assert response.json()["status"] == "cancelled"
    assert take_token(patient, opd).status_code == 201


def test_another_familys_ticket_is_404(opd, patient):
    ticket_id = take_token(patient, opd).json()["id"]
    stranger = api_for(PatientFactory().account)
    assert stranger.get(f"{API}/tickets/{ticket_id}/").status_code == 404
    assert stranger.post(f"{API}/tickets/{ticket_id}/cancel/").status_code == 404
    assert stranger.post(f"{API}/tickets/{ticket_id}/join/").status_code == 404


# --- OPD list and board ------------------------------------------------------------------
def test_opd_list_of_a_state_shows_board(opd, doctor):
    go_online(doctor, opd)
    for _ in range(2):
        take_token(PatientFactory(), opd)
    elsewhere = OnlineOPDFactory()
    response = api_for(PatientFactory().account).get(f"{API}/opds/", {"state": opd.state.code})
    assert response.status_code == 200
    rows = {row["id"]: row for row in response.json()}
    assert str(opd.pk) in rows and str(elsewhere.pk) not in rows
    board = rows[str(opd.pk)]["board"]
    assert board["doctors_online"] == 1
    assert board["patients_waiting"] == 2
    assert board["open_now"] is True
    assert board["expected_wait_minutes"] == 3 * opd.consultation_minutes


# --- doctors: presence, queue, claiming --------------------------------------------------------
def test_doctor_not_rostered_cannot_go_online(opd):
    outsider = DoctorFactory()
    response = api_for(outsider.user).post(
        f"{API}/doctor/online/", {"opd": str(opd.pk)}, format="json"
    )
    assert response.status_code == 403
    assert error(response)["code"] == "not_rostered"


def test_doctor_not_online_cannot_see_queue(opd, doctor):
    api = api_for(doctor.user)
    assert api.get(f"{API}/opds/{opd.pk}/queue/").status_code == 403
    assert api.get(f"{API}/doctor/queue/").status_code == 403
    go_online(doctor, opd)
    other = OnlineOPDFactory()
    doctor.opds.add(other)
    assert api.get(f"{API}/opds/{other.pk}/queue/").status_code == 403
    assert api.get(f"{API}/opds/{opd.pk}/queue/").status_code == 200


def test_patient_cannot_see_doctor_queue(opd, patient):
    assert api_for(patient.account).get(f"{API}/opds/{opd.pk}/queue/").status_code == 403


def test_queue_shows_age_sex_language_complaint(opd, doctor):
    go_online(doctor, opd)
    child = PatientFactory(date_of_birth=None, age_years=7, sex="M", preferred_language="kn")
    take_token(child, opd, "cough")
    body = api_for(doctor.user).get(f"{API}/doctor/queue/").json()
    assert body["waiting"] == 1
    entry = body["entries"][0]
    assert (entry["age"], entry["sex"], entry["language"], entry["complaint"]) == (
        7,
        "M",
        "kn",
        "cough",
    )
    assert "name" not in entry


def test_claim_gives_the_oldest_ticket_and_opens_a_consultation(opd, doctor):
    go_online(doctor, opd)
    early = TicketFactory(opd=opd, queued_at=timezone.now() - dt.timedelta(minutes=30))
    TicketFactory(opd=opd, queued_at=timezone.now() - dt.timedelta(minutes=5))
    response = call_next(doctor)
    assert response.status_code == 201
    assert response.json()["ticket"] == str(early.pk)
    early.refresh_from_db()
    assert early.status == "called" and early.claimed_by == doctor
    assert (early.call_expires_at - early.called_at).total_seconds() == 120
    consultation = Consultation.objects.get(ticket=early)
    assert consultation.status == "calling" and consultation.consent == "implied"
    assert api_for(doctor.user).get(f"{API}/doctor/presence/").json()["status"] == "busy"


def test_offline_doctor_cannot_call(opd, doctor):
    TicketFactory(opd=opd)
    response = call_next(doctor)
    assert response.status_code == 409
    assert error(response)["code"] == "not_online"


def test_busy_doctor_cannot_call_a_second_patient(opd, doctor):
    go_online(doctor, opd)
    TicketFactory(opd=opd)
    TicketFactory(opd=opd)
    assert call_next(doctor).status_code == 201
    response = call_next(doctor)
    assert response.status_code == 409
    assert error(response)["code"] == "consultation_open"


def test_empty_queue_says_nobody_waits(opd, doctor):
    go_online(doctor, opd)
    response = call_next(doctor)
    assert response.status_code == 200
    assert response.json()["ticket"] is None


def test_auto_assign_calls_the_next_patient_on_join(opd, doctor, patient):
    go_online(doctor, opd, auto_assign=True)
    body = take_token(patient, opd).json()
    assert body["status"] == "called"
    assert body["consultation"]


def test_go_offline_refused_mid_consultation(opd, doctor):
    go_online(doctor, opd)
    TicketFactory(opd=opd)
    call_next(doctor)
    response = api_for(doctor.user).post(f"{API}/doctor/offline/")
    assert response.status_code == 409
    assert api_for(doctor.user).get(f"{API}/doctor/presence/").json()["status"] == "busy"


def test_break_and_offline(opd, doctor):
    go_online(doctor, opd)
    api = api_for(doctor.user)
    assert api.post(f"{API}/doctor/break/").json()["status"] == "on_break"
    assert api.post(f"{API}/doctor/offline/").json()["status"] == "offline"


# --- the call window -----------------------------------------------------------------------
def _called(opd, doctor, patient):
    go_online(doctor, opd)
    ticket_id = take_token(patient, opd).json()["id"]
    call_next(doctor)
    return Ticket.objects.get(pk=ticket_id)


def _expire(ticket):
    Ticket.objects.filter(pk=ticket.pk).update(
        call_expires_at=timezone.now() - dt.timedelta(seconds=1)
    )


def test_a_join_is_one_transaction_without_savepoints_inside(opd, doctor, patient):
    """Marking the passed calls missed shares the join's transaction (an error in it ends
    the whole join), so the join opens no savepoint of its own inside: the one counted
    here is the join's transaction itself, nested in the test's."""
    ticket = _called(opd, doctor, patient)
    with CaptureQueriesContext(connection) as queries:
        response = api_for(patient.account).post(f"{API}/tickets/{ticket.pk}/join/")
    assert response.status_code == 200
    savepoints = [q["sql"] for q in queries if q["sql"].startswith("SAVEPOINT")]
    assert len(savepoints) == 1, savepoints


def test_accept_within_window_starts_consultation(opd, doctor, patient):
    ticket = _called(opd, doctor, patient)
    status = api_for(patient.account).get(f"{API}/tickets/{ticket.pk}/").json()
    assert status["status"] == "called" and 110 <= status["call_seconds_left"] <= 120
    response = api_for(patient.account).post(f"{API}/tickets/{ticket.pk}/join/")
    assert response.status_code == 200
    assert response.json()["status"] == "in_progress"
    ticket.refresh_from_db()
    assert ticket.status == "in_consultation"


def test_call_window_expiry_reads_missed_and_housekeeping_ends_the_call(opd, doctor, patient):
    """The read shows the passed window as missed without writing; housekeeping records it."""
    ticket = _called(opd, doctor, patient)
    _expire(ticket)
    body = api_for(patient.account).get(f"{API}/tickets/{ticket.pk}/").json()
    assert body["status"] == "missed"
    assert body["can_rejoin"] is True
    call_command("queue_housekeeping")
    consultation = Consultation.objects.get(ticket=ticket)
    assert (consultation.status, consultation.outcome) == ("ended", "no_show")
    assert api_for(doctor.user).get(f"{API}/doctor/presence/").json()["status"] == "available"


def test_accept_after_expiry_refused(opd, doctor, patient):
    ticket = _called(opd, doctor, patient)
    _expire(ticket)
    response = api_for(patient.account).post(f"{API}/tickets/{ticket.pk}/join/")
    assert response.status_code == 409
    assert error(response)["code"] == "call_expired"
    assert "2 minutes" in error(response)["message"]


def test_rejoin_after_one_miss_goes_to_head_keeping_queued_at(opd, doctor, patient):
    ticket = _called(opd, doctor, patient)
    queued_at = ticket.queued_at
    for _ in range(3):
        TicketFactory(opd=opd)
    _expire(ticket)
    response = api_for(patient.account).post(f"{API}/tickets/{ticket.pk}/rejoin/")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "waiting" and body["position"] == 1
    ticket.refresh_from_db()
    assert ticket.priority == Ticket.Priority.HEAD and ticket.queued_at == queued_at
    assert call_next(doctor).json()["ticket"] == str(ticket.pk)


def test_second_miss_is_final(opd, doctor, patient):
    ticket = _called(opd, doctor, patient)
    _expire(ticket)
    api = api_for(patient.account)
    api.post(f"{API}/tickets/{ticket.pk}/rejoin/")
    assert call_next(doctor).json()["ticket"] == str(ticket.pk)
    _expire(ticket)
    assert api.get(f"{API}/tickets/{ticket.pk}/").json()["can_rejoin"] is False
    response = api.post(f"{API}/tickets/{ticket.pk}/rejoin/")
    assert response.status_code == 409
    assert error(response)["code"] == "missed_twice"
    assert take_token(patient, opd).status_code == 201


def test_housekeeping_command_expires_calls(opd, doctor, patient):
    from django.core.management import call_command

    ticket = _called(opd, doctor, patient)
    _expire(ticket)
    call_command("queue_housekeeping")
    ticket.refresh_from_db()
    assert ticket.status == "missed" and ticket.missed_count == 1


def test_dropped_consultation_returns_to_head(opd, doctor, patient):
    ticket = _called(opd, doctor, patient)
    api_for(patient.account).post(f"{API}/tickets/{ticket.pk}/join/")
    newer = TicketFactory(opd=opd, queued_at=timezone.now() - dt.timedelta(hours=1))
    consultation = Consultation.objects.get(ticket=ticket)
    response = api_for(doctor.user).post(f"{API}/consultations/{consultation.pk}/drop/")
    assert response.status_code == 200
    assert response.json()["outcome"] == "dropped"
    ticket.refresh_from_db()
    assert ticket.status == "waiting" and ticket.priority == Ticket.Priority.HEAD
    assert api_for(patient.account).get(f"{API}/tickets/{ticket.pk}/").json()["position"] == 1
    assert call_next(doctor).json()["ticket"] == str(ticket.pk)
    assert newer.pk != ticket.pk


# --- follow-up with the same doctor -----------------------------------------------------------
def _completed(opd, doctor, patient) -> Consultation:
    ticket = _called(opd, doctor, patient)
    api_for(patient.account).post(f"{API}/tickets/{ticket.pk}/join/")
    consultation = Consultation.objects.get(ticket=ticket)
    api = api_for(doctor.user)
    api.patch(
        f"{API}/consultations/{consultation.pk}/record/",
        {"base_revision": 0, "advice": "rest"},
        format="json",
    )
    confirm_identity(doctor, consultation)
    assert (
        api.post(
            f"{API}/consultations/{consultation.pk}/end/", {"outcome": "advice_only"}, format="json"
        ).status_code
        == 200
    )
    return consultation


def test_follow_up_waits_for_preferred_doctor_while_online(opd, doctor, patient):
    first = _completed(opd, doctor, patient)
    other = member_doctor(opd)
    go_online(other, opd)
    response = api_for(patient.account).post(
        f"{API}/consultations/{first.pk}/follow-up/", {}, format="json"
    )
    assert response.status_code == 201, response.content
    follow_up = Ticket.objects.get(pk=response.json()["id"])
    assert follow_up.preferred_doctor == doctor
    assert call_next(other).json()["ticket"] is None
    claimed = call_next(doctor).json()
    assert claimed["ticket"] == str(follow_up.pk)
    assert Consultation.objects.get(pk=claimed["consultation"]).follow_up_of == first


def test_follow_up_goes_to_anyone_when_preferred_doctor_offline(opd, doctor, patient):
    first = _completed(opd, doctor, patient)
    api_for(doctor.user).post(f"{API}/doctor/offline/")
    api_for(patient.account).post(f"{API}/consultations/{first.pk}/follow-up/", {}, format="json")
    other = member_doctor(opd)
    go_online(other, opd)
    assert call_next(other).json()["ticket"] is not None


def test_follow_up_refused_when_doctor_left_the_opd(opd, doctor, patient):
    first = _completed(opd, doctor, patient)
    doctor.opds.remove(opd)
    response = api_for(patient.account).post(
        f"{API}/consultations/{first.pk}/follow-up/", {}, format="json"
    )
    assert response.status_code == 409
    assert error(response)["code"] == "doctor_not_on_opd"


# --- SMS when the turn is near ------------------------------------------------------------------
def test_near_turn_sms_once_when_queue_advances(
    opd, doctor, outbox, settings, django_capture_on_commit_callbacks
):
    settings.QUEUE_NEAR_TURN_POSITION = 2
    settings.QUEUE_NEAR_TURN_SWEEP_SECONDS = 0  # every claim looks (pacing: next test)
    go_online(doctor, opd)
    patients = [PatientFactory() for _ in range(4)]

    def near(p):
        return [m for m in outbox.messages(p.account.mobile) if "your turn at" in m.body]

    for p in patients:
        with django_capture_on_commit_callbacks(execute=True):
            take_token(p, opd)
    # the first two took their tokens already near the front: told at once
    assert [len(near(p)) for p in patients] == [1, 1, 0, 0]
    assert "token 2" in near(patients[1])[0].body
    with django_capture_on_commit_callbacks(execute=True):
        call_next(doctor)
    assert [len(near(p)) for p in patients] == [1, 1, 1, 0]
    assert "token 3" in near(patients[2])[0].body
    consultation = Consultation.objects.get(ticket__patient=patients[0])
    api_for(doctor.user).post(
        f"{API}/consultations/{consultation.pk}/end/", {"outcome": "no_show"}, format="json"
    )
    with django_capture_on_commit_callbacks(execute=True):
        call_next(doctor)
    assert [len(near(p)) for p in patients] == [1, 1, 1, 1]


def test_near_turn_marking_paced_under_load_and_caught_up_by_housekeeping(
    opd, doctor, outbox, settings, django_capture_on_commit_callbacks
):
    """Claims in one process look for newly near tokens at most once per
    QUEUE_NEAR_TURN_SWEEP_SECONDS per OPD; a skipped one is told by the next due claim or
    by the housekeeping loop, and nobody is told twice."""
    from django.core.management import call_command

    settings.QUEUE_NEAR_TURN_POSITION = 1
    settings.QUEUE_NEAR_TURN_SWEEP_SECONDS = 3600
    go_online(doctor, opd)
    patients = [PatientFactory() for _ in range(4)]

    def near():
        return [
            len([m for m in outbox.messages(p.account.mobile) if "your turn at" in m.body])
            for p in patients
        ]

    def call_and_release():
        with django_capture_on_commit_callbacks(execute=True):
            call_next(doctor)
        consultation = Consultation.objects.filter(doctor=doctor).latest("created_at")
        api_for(doctor.user).post(
            f"{API}/consultations/{consultation.pk}/end/", {"outcome": "no_show"}, format="json"
        )

    for p in patients:
        with django_capture_on_commit_callbacks(execute=True):
            take_token(p, opd)
    assert near() == [1, 0, 0, 0]
    call_and_release()  # the first claim of this OPD in this process looks
    assert near() == [1, 1, 0, 0]
    call_and_release()  # within the interval: left for later
    assert near() == [1, 1, 0, 0]
    with django_capture_on_commit_callbacks(execute=True):
        call_command("queue_housekeeping")
    assert near() == [1, 1, 1, 0]
    settings.QUEUE_NEAR_TURN_SWEEP_SECONDS = 0
    call_and_release()
    assert near() == [1, 1, 1, 1]
    with django_capture_on_commit_callbacks(execute=True):
        call_command("queue_housekeeping")
    assert near() == [1, 1, 1, 1]


def test_status_as_of_orders_against_queue_events(opd, doctor, patient):
    """The waiting room skips ``queue.advanced`` events stamped before the status's
    ``as_of``: one built before the read is older, one built after it is newer."""
    from sanjeevani.queueing.services import queue_advanced_event

    go_online(doctor, opd)
    ticket = Ticket.objects.get(pk=take_token(patient, opd).json()["id"])
    earlier = queue_advanced_event(opd, "joined", ticket)
    before = timezone.now()
    status = api_for(patient.account).get(f"{API}/tickets/{ticket.pk}/").json()
    after = timezone.now()
    later = queue_advanced_event(opd, "left", ticket)
    as_of = dt.datetime.fromisoformat(status["as_of"])
    assert before <= as_of <= after
    assert dt.datetime.fromisoformat(earlier["at"]) < as_of < dt.datetime.fromisoformat(later["at"])
