"""The queue's state machine through its services, without HTTP: join, cancel, call, miss,
rejoin, complete and return to the head of the line."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from sanjeevani.audit.models import AuditEvent
from sanjeevani.queueing import services
from sanjeevani.queueing.errors import QueueError
from sanjeevani.queueing.models import DoctorPresence, Ticket
from tests.factories import OnlineOPDFactory, PatientFactory
from tests.queueing.factories import member_doctor

pytestmark = pytest.mark.django_db

Status = Ticket.Status
Presence = DoctorPresence.Status


@pytest.fixture(name="opd")
def opd_fixture():
    return OnlineOPDFactory()


@pytest.fixture(name="doctor")
def doctor_fixture(opd):
    doctor = member_doctor(opd)
    services.go_online(doctor.user, opd)
    return doctor


def _join(opd, patient=None) -> Ticket:
    patient = patient or PatientFactory()
    return services.join_queue(patient.account, patient, opd)


def _call(doctor) -> Ticket | None:
    with transaction.atomic():
        claim = services.claim_next_ticket(doctor, None, doctor.user, timezone.now())
    return claim.ticket if claim else None


def _step(ticket: Ticket, step, *args) -> Ticket:
    """An in-transaction step of the consultation layer, on the locked row."""
    with transaction.atomic():
        locked = services.lock_ticket(ticket.pk)
        step(locked, *args)
    return Ticket.objects.get(pk=ticket.pk)


def _presence(doctor) -> str:
    return DoctorPresence.objects.get(doctor=doctor).status


def test_join_gives_the_next_token_of_the_day(opd):
    first, second = _join(opd), _join(opd)
    assert (first.status, second.status) == (Status.WAITING, Status.WAITING)
    assert (first.token_number, second.token_number) == (1, 2)
    assert first.priority == Ticket.Priority.NORMAL
    assert AuditEvent.objects.filter(action="ticket.create").count() == 2


def test_a_patient_holds_one_live_token(opd):
    ticket = _join(opd)
    with pytest.raises(QueueError) as refused:
        _join(OnlineOPDFactory(state=opd.state), ticket.patient)
    assert refused.value.code == "already_in_queue"


def test_cancel_a_waiting_token_once(opd):
    ticket = _join(opd)
    cancelled = services.cancel_ticket(ticket.patient.account, ticket)
    assert cancelled.status == Status.CANCELLED
    assert services.cancel_ticket(ticket.patient.account, ticket).status == Status.CANCELLED
    assert _join(opd, ticket.patient).token_number == 2


def test_call_takes_the_front_makes_the_doctor_busy_and_opens_the_window(opd, doctor):
    first = _join(opd)
    _join(opd)
    called = _call(doctor)
    assert called.pk == first.pk and called.status == Status.CALLED
    assert called.claimed_by_id == doctor.pk
    assert called.call_expires_at - called.called_at == services.CALL_WINDOW
    assert _presence(doctor) == Presence.BUSY
    assert _call(doctor) is None
    assert services.claim_refusal(doctor, None).code == "consultation_open"


def test_nobody_waiting_calls_nobody_and_says_nothing_against_the_doctor(opd, doctor):
    assert _call(doctor) is None
    assert services.claim_refusal(doctor, None) is None
    assert _presence(doctor) == Presence.AVAILABLE


def test_missed_then_rejoined_at_the_head_keeping_its_place_in_time(opd, doctor):
    ticket = _join(opd)
    later = _join(opd)
    called = _call(doctor)
    missed = _step(called, services.mark_missed, timezone.now())
    assert (missed.status, missed.missed_count) == (Status.MISSED, 1)
    services.mark_doctor_free(doctor, timezone.now())
    rejoined = services.rejoin_after_missed(ticket.patient.account, missed)
    assert rejoined.status == Status.WAITING and rejoined.priority == Ticket.Priority.HEAD
    assert rejoined.queued_at == ticket.queued_at and rejoined.claimed_by_id is None
    assert _call(doctor).pk == ticket.pk
    assert later.status == Status.WAITING


def test_a_second_miss_is_final(opd, doctor):
    ticket = _join(opd)
    for _ in range(2):
        called = _call(doctor)
        missed = _step(called, services.mark_missed, timezone.now())
        services.mark_doctor_free(doctor, timezone.now())
        if missed.missed_count == 1:
            services.rejoin_after_missed(ticket.patient.account, missed)
    assert missed.missed_count == 2
    with pytest.raises(QueueError) as refused:
        services.rejoin_after_missed(ticket.patient.account, missed)
    assert refused.value.code == "missed_twice"


def test_only_a_missed_token_rejoins(opd):
    ticket = _join(opd)
    with pytest.raises(QueueError) as refused:
        services.rejoin_after_missed(ticket.patient.account, ticket)
    assert refused.value.code == "not_missed"


def test_joined_call_then_complete(opd, doctor):
    _join(opd)
    called = _call(doctor)
    started = _step(called, services.start_service, timezone.now())
    assert started.status == Status.IN_CONSULTATION and started.service_started_at
    with pytest.raises(QueueError) as refused:
        services.cancel_ticket(started.patient.account, started)
    assert refused.value.code == "cannot_cancel"
    done = _step(started, services.complete_ticket, timezone.now() + dt.timedelta(minutes=5))
    assert done.status == Status.COMPLETED
    assert done.service_ended_at - done.service_started_at >= dt.timedelta(minutes=5)
    assert services.mark_doctor_free(doctor, timezone.now()).status == Presence.AVAILABLE
    assert services.mark_doctor_free(doctor, timezone.now()) is None


def test_a_dropped_call_returns_to_the_head(opd, doctor):
    first = _join(opd)
    _join(opd)
    called = _step(_call(doctor), services.start_service, timezone.now())
    back = _step(called, services.return_to_head, "dropped")
    assert back.status == Status.WAITING and back.priority == Ticket.Priority.HEAD
    assert back.claimed_by_id is None and back.service_started_at is None
    assert back.queued_at == first.queued_at
    services.mark_doctor_free(doctor, timezone.now())
    assert _call(doctor).pk == first.pk


def test_a_called_token_can_still_be_cancelled(opd, doctor):
    ticket = _join(opd)
    _call(doctor)
    cancelled = services.cancel_ticket(ticket.patient.account, Ticket.objects.get(pk=ticket.pk))
    assert cancelled.status == Status.CANCELLED


def test_someone_else_cannot_act_for_a_family(opd):
    ticket = _join(opd)
    with pytest.raises(PermissionDenied):
        services.cancel_ticket(PatientFactory().account, ticket)


def test_presence_online_break_offline(opd, doctor):
    assert _presence(doctor) == Presence.AVAILABLE
    assert services.take_break(doctor.user).status == Presence.ON_BREAK
    _join(opd)
    assert _call(doctor) is not None, "calling ends a break"
    with pytest.raises(QueueError) as refused:
        services.go_offline(doctor.user)
    assert refused.value.code == "consultation_open"


def test_old_tokens_expire_at_the_end_of_their_day(opd):
    ticket = _join(opd)
    Ticket.objects.filter(pk=ticket.pk).update(service_date=timezone.localdate() - dt.timedelta(1))
    assert services.expire_stale_tickets() == 1
    assert Ticket.objects.get(pk=ticket.pk).status == Status.EXPIRED
