"""The consultation's state machine through its services, without HTTP: claim, join, hold,
resume, end; every kind of ending reaching ``close_consultation`` once (one
``consultation.closed`` row with its reason); one transaction per public service, so a
step that fails leaves nothing behind."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.utils import timezone

from sanjeevani.audit.models import AuditEvent
from sanjeevani.consultations import assignment, lifecycle
from sanjeevani.consultations import services as consultations
from sanjeevani.consultations.models import Consultation
from sanjeevani.queueing import services as queue
from sanjeevani.queueing.errors import ConsultationError, QueueError
from sanjeevani.queueing.models import DoctorPresence, Ticket
from tests.factories import DoctorFactory, OnlineOPDFactory, PatientFactory

pytestmark = pytest.mark.django_db

Status = Consultation.Status
Outcome = Consultation.Outcome
TStatus = Ticket.Status
Presence = DoctorPresence.Status


@pytest.fixture(name="opd")
def opd_fixture():
    return OnlineOPDFactory()


def _doctor(opd):
    doctor = DoctorFactory()
    doctor.opds.add(opd)
    return doctor


@pytest.fixture(name="doctor")
def doctor_fixture(opd):
    return _doctor(opd)


@pytest.fixture(name="patient")
def patient_fixture():
    return PatientFactory()


def _token(patient, opd) -> Ticket:
    return consultations.take_token(patient.account, patient, opd, "fever")


def _called(doctor, opd, patient) -> Consultation:
    queue.go_online(doctor.user, opd)
    _token(patient, opd)
    ticket = consultations.call_next_patient(doctor.user)
    assert ticket is not None
    return ticket.consultation


def _joined(doctor, opd, patient) -> Consultation:
    consultation = _called(doctor, opd, patient)
    return consultations.accept_call(patient.account, consultation.ticket)


def _identified(doctor, consultation: Consultation) -> None:
    consultations.confirm_identity(doctor.user, consultation, "Name and age asked", 34)


def _state(consultation: Consultation) -> tuple[str, str, str, str]:
    """The consultation's status and outcome, its ticket's status, its doctor's presence."""
    consultation.refresh_from_db()
    ticket = Ticket.objects.get(pk=consultation.ticket_id)
    presence = DoctorPresence.objects.get(doctor=consultation.doctor)
    return consultation.status, consultation.outcome, ticket.status, presence.status


def _closings(consultation: Consultation) -> list[dict]:
    return [
        e.detail
        for e in AuditEvent.objects.filter(
            action="consultation.closed", object_id=str(consultation.pk)
        )
    ]


def _actions(patient) -> list[str]:
    return sorted(AuditEvent.objects.filter(patient_id=patient.pk).values_list("action", flat=True))


# --- the way through ------------------------------------------------------------------------


def test_claim_join_hold_resume_end(doctor, opd, patient):
    consultation = _called(doctor, opd, patient)
    assert _state(consultation) == (Status.CALLING, "", TStatus.CALLED, Presence.BUSY)

    consultations.accept_call(patient.account, consultation.ticket)
    assert _state(consultation) == (Status.IN_PROGRESS, "", TStatus.IN_CONSULTATION, Presence.BUSY)

    consultations.put_on_hold(doctor.user, consultation)
    assert _state(consultation) == (Status.ON_HOLD, "", TStatus.IN_CONSULTATION, Presence.AVAILABLE)

    consultations.resume(doctor.user, consultation)
    assert _state(consultation) == (Status.IN_PROGRESS, "", TStatus.IN_CONSULTATION, Presence.BUSY)

    consultations.save_clinical_record(doctor.user, consultation, {"advice": "Rest, fluids."}, 0)
    _identified(doctor, consultation)
    consultations.end_consultation(doctor.user, consultation, Outcome.ADVICE_ONLY)
    assert _state(consultation) == (
        Status.ENDED,
        Outcome.ADVICE_ONLY,
        TStatus.COMPLETED,
        Presence.AVAILABLE,
    )
    assert _closings(consultation) == [{"outcome": "advice_only", "reason": "completed"}]
    actions = _actions(patient)
    for action in (
        "ticket.claim",
        "consultation.join",
        "consultation.hold",
        "consultation.resume",
        "consultation.record_saved",
        "consultation.closed",
        "consultation.end",
    ):
        assert action in actions


def test_joining_twice_returns_the_same_consultation(doctor, opd, patient):
    consultation = _joined(doctor, opd, patient)
    again = consultations.accept_call(patient.account, consultation.ticket)
    assert again.pk == consultation.pk
    assert _actions(patient).count("consultation.join") == 1


def test_hold_and_resume_are_idempotent_and_refused_out_of_order(doctor, opd, patient):
    consultation = _called(doctor, opd, patient)
    with pytest.raises(ConsultationError) as refused:
        consultations.put_on_hold(doctor.user, consultation)
    assert refused.value.code == "wrong_state"
    consultations.accept_call(patient.account, consultation.ticket)
    consultations.put_on_hold(doctor.user, consultation)
    consultations.put_on_hold(doctor.user, consultation)
    assert _actions(patient).count("consultation.hold") == 1


def test_only_the_consultations_doctor_moves_it(doctor, opd, patient):
    consultation = _joined(doctor, opd, patient)
    other = _doctor(opd)
    with pytest.raises(PermissionDenied):
        consultations.put_on_hold(other.user, consultation)
    with pytest.raises(PermissionDenied):
        consultations.end_consultation(other.user, consultation, Outcome.NO_SHOW)
    assert _state(consultation)[0] == Status.IN_PROGRESS


# --- every ending passes through close_consultation once ------------------------------------


def test_completed_by_the_doctor(doctor, opd, patient):
    consultation = _joined(doctor, opd, patient)
    consultations.save_clinical_record(
        doctor.user, consultation, {"referral": "District hospital, cardiology."}, 0
    )
    _identified(doctor, consultation)
    consultations.end_consultation(doctor.user, consultation, Outcome.REFERRED)
    assert _state(consultation) == (
        Status.ENDED,
        Outcome.REFERRED,
        TStatus.COMPLETED,
        Presence.AVAILABLE,
    )
    assert _closings(consultation) == [{"outcome": "referred", "reason": "completed"}]


def test_no_show_marked_by_the_doctor(doctor, opd, patient):
    consultation = _called(doctor, opd, patient)
    consultations.end_consultation(doctor.user, consultation, Outcome.NO_SHOW)
    assert _state(consultation) == (
        Status.ENDED,
        Outcome.NO_SHOW,
        TStatus.MISSED,
        Presence.AVAILABLE,
    )
    assert Ticket.objects.get(pk=consultation.ticket_id).missed_count == 1
    assert _closings(consultation) == [{"outcome": "no_show", "reason": "no_show"}]
    with pytest.raises(QueueError) as late:
        consultations.accept_call(patient.account, consultation.ticket)
    assert late.value.code == "call_marked_missed"


def test_missed_when_the_call_window_passes(doctor, opd, patient):
    consultation = _called(doctor, opd, patient)
    Ticket.objects.filter(pk=consultation.ticket_id).update(
        call_expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    assert consultations.expire_unanswered_calls() == 1
    assert _state(consultation) == (
        Status.ENDED,
        Outcome.NO_SHOW,
        TStatus.MISSED,
        Presence.AVAILABLE,
    )
    assert _closings(consultation) == [{"outcome": "no_show", "reason": "missed"}]
    assert consultations.expire_unanswered_calls() == 0
    assert len(_closings(consultation)) == 1


def test_cancelled_by_the_patient_during_the_call(doctor, opd, patient):
    consultation = _called(doctor, opd, patient)
    consultations.cancel_token(patient.account, consultation.ticket)
    assert _state(consultation) == (
        Status.ENDED,
        Outcome.NO_SHOW,
        TStatus.CANCELLED,
        Presence.AVAILABLE,
    )
    assert _closings(consultation) == [{"outcome": "no_show", "reason": "cancelled"}]


@pytest.mark.parametrize("reporter", ["doctor", "patient"])
def test_dropped_returns_the_patient_to_the_head(doctor, opd, patient, reporter):
    consultation = _joined(doctor, opd, patient)
    later = PatientFactory()
    _token(later, opd)
    actor = doctor.user if reporter == "doctor" else patient.account
    ticket = consultations.return_dropped_ticket(actor, consultation)
    assert ticket is not None and ticket.priority == Ticket.Priority.HEAD
    assert _state(consultation) == (
        Status.ENDED,
        Outcome.DROPPED,
        TStatus.WAITING,
        Presence.AVAILABLE,
    )
    assert _closings(consultation) == [{"outcome": "dropped", "reason": "dropped"}]
    again = consultations.call_next_patient(doctor.user)
    assert again.pk == ticket.pk


def test_an_ended_consultation_is_never_closed_again(doctor, opd, patient):
    consultation = _called(doctor, opd, patient)
    consultations.end_consultation(doctor.user, consultation, Outcome.NO_SHOW)
    ticket = Ticket.objects.get(pk=consultation.ticket_id)
    assert consultations.abandon_call(ticket, "missed", timezone.now()) == []
    with pytest.raises(ConsultationError) as refused:
        consultations.end_consultation(doctor.user, consultation, Outcome.NO_SHOW)
    assert refused.value.code == "consultation_ended"
    with pytest.raises(QueueError):
        consultations.return_dropped_ticket(doctor.user, consultation)
    consultation.refresh_from_db()
    with pytest.raises(ConsultationError):
        consultations.close_consultation(
            consultation, Outcome.NO_SHOW, "missed", None, timezone.now()
        )
    assert len(_closings(consultation)) == 1


def test_an_ending_hands_an_auto_assigning_doctor_the_next_patient(doctor, opd, patient):
    consultations.start_serving(doctor.user, opd, auto_assign=True)
    first = _token(patient, opd)
    first.refresh_from_db()
    assert first.status == TStatus.CALLED
    second = _token(PatientFactory(), opd)
    consultation = Consultation.objects.get(ticket=first)
    consultations.end_consultation(doctor.user, consultation, Outcome.NO_SHOW)
    second.refresh_from_db()
    assert second.status == TStatus.CALLED
    assert Consultation.objects.get(ticket=second).status == Status.CALLING
    assert DoctorPresence.objects.get(doctor=doctor).status == Presence.BUSY


# --- calling --------------------------------------------------------------------------------


def test_calling_with_nobody_waiting_returns_none(doctor, opd):
    queue.go_online(doctor.user, opd)
    assert consultations.call_next_patient(doctor.user) is None
    assert DoctorPresence.objects.get(doctor=doctor).status == Presence.AVAILABLE


def test_calling_offline_is_refused(doctor, opd, patient):
    _token(patient, opd)
    with pytest.raises(QueueError) as refused:
        consultations.call_next_patient(doctor.user)
    assert refused.value.code == "not_online"


def test_a_doctor_whose_own_call_expired_calls_the_next_patient(doctor, opd, patient):
    consultation = _called(doctor, opd, patient)
    waiting = _token(PatientFactory(), opd)
    with pytest.raises(QueueError) as busy:
        consultations.call_next_patient(doctor.user)
    assert busy.value.code == "consultation_open"
    Ticket.objects.filter(pk=consultation.ticket_id).update(
        call_expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    ticket = consultations.call_next_patient(doctor.user)
    assert ticket.pk == waiting.pk
    assert _state(consultation)[:3] == (Status.ENDED, Outcome.NO_SHOW, TStatus.MISSED)
    assert _closings(consultation) == [{"outcome": "no_show", "reason": "missed"}]


def test_the_expiry_stands_when_the_doctor_is_still_busy(doctor, opd, patient):
    """A held consultation resumed while another call rings: the ringing call expires and
    is closed, and the doctor, still in the resumed consultation, is refused."""
    held = _joined(doctor, opd, patient)
    consultations.put_on_hold(doctor.user, held)
    _token(PatientFactory(), opd)
    ringing = consultations.call_next_patient(doctor.user).consultation
    consultations.resume(doctor.user, held)
    _token(PatientFactory(), opd)
    Ticket.objects.filter(pk=ringing.ticket_id).update(
        call_expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    with pytest.raises(QueueError) as busy:
        consultations.call_next_patient(doctor.user)
    assert busy.value.code == "consultation_open"
    assert _state(ringing)[:3] == (Status.ENDED, Outcome.NO_SHOW, TStatus.MISSED)
    assert _state(held)[0] == Status.IN_PROGRESS


def test_joining_after_the_window_records_the_miss_and_refuses(doctor, opd, patient):
    consultation = _called(doctor, opd, patient)
    Ticket.objects.filter(pk=consultation.ticket_id).update(
        call_expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    with pytest.raises(QueueError) as late:
        consultations.accept_call(patient.account, consultation.ticket)
    assert late.value.code == "call_expired"
    assert _state(consultation) == (
        Status.ENDED,
        Outcome.NO_SHOW,
        TStatus.MISSED,
        Presence.AVAILABLE,
    )
    assert _closings(consultation) == [{"outcome": "no_show", "reason": "missed"}]


def test_joining_before_the_call_is_refused(opd, patient):
    ticket = _token(patient, opd)
    with pytest.raises(QueueError) as early:
        consultations.accept_call(patient.account, ticket)
    assert early.value.code == "not_called"


# --- a failing step leaves nothing ----------------------------------------------------------


def test_a_refused_ending_changes_nothing(doctor, opd, patient):
    consultation = _joined(doctor, opd, patient)
    before = _actions(patient)
    for outcome in (Outcome.ADVICE_ONLY, Outcome.REFERRED, Outcome.PRESCRIPTION):
        with pytest.raises(ConsultationError) as unidentified:
            consultations.end_consultation(doctor.user, consultation, outcome)
        assert unidentified.value.code == "identity_not_confirmed"
    assert _actions(patient) == before
    _identified(doctor, consultation)
    before = _actions(patient)
    for outcome, code in (
        (Outcome.ADVICE_ONLY, "no_advice"),
        (Outcome.REFERRED, "no_referral"),
        (Outcome.PRESCRIPTION, "no_prescription"),
    ):
        with pytest.raises(ConsultationError) as refused:
            consultations.end_consultation(doctor.user, consultation, outcome)
        assert refused.value.code == code
    assert _state(consultation) == (Status.IN_PROGRESS, "", TStatus.IN_CONSULTATION, Presence.BUSY)
    assert _actions(patient) == before


def test_an_ending_that_fails_after_closing_is_rolled_back_whole(doctor, opd, patient, monkeypatch):
    consultation = _joined(doctor, opd, patient)
    consultations.save_clinical_record(doctor.user, consultation, {"advice": "Rest."}, 0)
    _identified(doctor, consultation)
    before = _actions(patient)

    def broken(*args, **kwargs):
        raise RuntimeError("the rollup could not be written")

    monkeypatch.setattr(lifecycle, "_after_close", broken)
    with pytest.raises(RuntimeError):
        consultations.end_consultation(doctor.user, consultation, Outcome.ADVICE_ONLY)
    assert _state(consultation) == (Status.IN_PROGRESS, "", TStatus.IN_CONSULTATION, Presence.BUSY)
    assert _actions(patient) == before


def test_a_dropped_call_that_fails_leaves_the_ticket_where_it_was(
    doctor, opd, patient, monkeypatch
):
    consultation = _joined(doctor, opd, patient)
    before = _actions(patient)

    def broken(*args, **kwargs):
        raise RuntimeError("export failed")

    monkeypatch.setattr(lifecycle, "_after_close", broken)
    with pytest.raises(RuntimeError):
        consultations.return_dropped_ticket(doctor.user, consultation)
    assert _state(consultation) == (Status.IN_PROGRESS, "", TStatus.IN_CONSULTATION, Presence.BUSY)
    ticket = Ticket.objects.get(pk=consultation.ticket_id)
    assert ticket.priority == Ticket.Priority.NORMAL
    assert _actions(patient) == before


def test_a_claim_whose_consultation_cannot_open_leaves_the_ticket_waiting(
    doctor, opd, patient, monkeypatch
):
    queue.go_online(doctor.user, opd)
    ticket = _token(patient, opd)
    before = _actions(patient)

    def broken(*args, **kwargs):
        raise RuntimeError("the consultation could not be opened")

    monkeypatch.setattr(assignment, "_open_for_claimed", broken)
    with pytest.raises(RuntimeError):
        consultations.call_next_patient(doctor.user)
    ticket.refresh_from_db()
    assert ticket.status == TStatus.WAITING and ticket.claimed_by_id is None
    assert DoctorPresence.objects.get(doctor=doctor).status == Presence.AVAILABLE
    assert not Consultation.objects.filter(ticket=ticket).exists()
    assert _actions(patient) == before


# --- one transaction per public service -----------------------------------------------------


@pytest.fixture(name="commits")
def commits_fixture(monkeypatch):
    """How many transactions commit: every outermost ``atomic`` block commits once."""
    counted = []
    commit = connection.commit

    def counting() -> None:
        counted.append(1)
        commit()

    monkeypatch.setattr(connection, "commit", counting)
    return counted


@pytest.mark.django_db(transaction=True)
def test_each_step_is_one_transaction(opd, patient, commits):
    doctor = _doctor(opd)
    queue.go_online(doctor.user, opd)
    _token(patient, opd)
    _token(PatientFactory(), opd)

    def transactions(step) -> int:
        commits.clear()
        step()
        return len(commits)

    ticket = None

    def call() -> None:
        nonlocal ticket
        ticket = consultations.call_next_patient(doctor.user)

    assert transactions(call) == 1
    consultation = ticket.consultation
    Ticket.objects.filter(pk=ticket.pk).update(
        call_expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    assert transactions(call) == 1  # the expired call cleared, the next patient called
    consultation.refresh_from_db()
    assert consultation.status == Status.ENDED
    joined = ticket.consultation
    assert transactions(lambda: consultations.accept_call(ticket.patient.account, ticket)) == 1
    assert transactions(lambda: consultations.put_on_hold(doctor.user, joined)) == 1
    assert transactions(lambda: consultations.resume(doctor.user, joined)) == 1
    assert (
        transactions(lambda: consultations.end_consultation(doctor.user, joined, Outcome.NO_SHOW))
        == 1
    )
