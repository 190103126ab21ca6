"""The housekeeping drill (issue 15, item 3): the scheduler stopped for an hour on a busy
day and started again. Everything it should have done in that hour is done at its first
run, once: calls that went unanswered become missed (their consultations end as no-shows
at the end of their window, not when housekeeping woke, so they count on the right day),
doctors are free, yesterday's tokens expire, hub cases that waited past their state's time
move to the overflow, tokens near the front are told; a second run finds nothing."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from sanjeevani.consultations import services as consultation_services
from sanjeevani.consultations.models import Consultation
from sanjeevani.hwc.models import Case
from sanjeevani.queueing import services as queueing
from sanjeevani.queueing.models import DoctorPresence, Queue, Ticket
from tests.factories import OnlineOPDFactory, PatientFactory
from tests.hwc.factories import build_network, send_case
from tests.queueing.factories import member_doctor

pytestmark = pytest.mark.django_db

HOUR = dt.timedelta(hours=1)


def housekeeping() -> str:
    out = io.StringIO()
    call_command("queue_housekeeping", stdout=out)
    return out.getvalue()


def test_an_hour_without_housekeeping_is_caught_up_once(settings, tmp_path):
    settings.SMS_BACKEND = "file"
    settings.SMS_OUTBOX_DIR = tmp_path / "sms"
    now = timezone.now()
    opds = [OnlineOPDFactory(), OnlineOPDFactory()]
    # Three doctors called a patient each; nobody answered, an hour ago and more.
    unanswered = []
    for index, opd in enumerate([opds[0], opds[0], opds[1]]):
        doctor = member_doctor(opd)
        queueing.go_online(doctor.user, opd)
        patient = PatientFactory()
        ticket = queueing.join_queue(patient.account, patient, opd)
        consultation_services.call_next_patient(doctor.user)
        expired = now - HOUR - dt.timedelta(minutes=7 * index)
        Ticket.objects.filter(pk=ticket.pk).update(call_expires_at=expired)
        unanswered.append((ticket.pk, doctor, expired))
    # Five patients still waiting today behind them; two tokens left over from yesterday.
    waiting = [PatientFactory() for _ in range(5)]
    for patient in waiting:
        queueing.join_queue(patient.account, patient, opds[1])
    yesterday = [PatientFactory() for _ in range(2)]
    for number, patient in enumerate(yesterday, start=900):
        stale = queueing.join_queue(patient.account, patient, opds[0])
        Ticket.objects.filter(pk=stale.pk).update(
            service_date=timezone.localdate() - dt.timedelta(days=1), token_number=number
        )
    # A hub case that has waited an hour against its state's 15 minutes.
    network = build_network()
    case = send_case(network)
    Ticket.objects.filter(pk=case.ticket_id).update(queued_at=now - HOUR)

    first = housekeeping()

    assert "3 call(s) marked missed, 2 old token(s) expired" in first, first
    assert "1 case(s) overflowed" in first, first
    lost = {}
    for ticket_pk, doctor, expired in unanswered:
        ticket = Ticket.objects.get(pk=ticket_pk)
        consultation = Consultation.objects.get(ticket=ticket)
        seen = (
            ticket.status,
            ticket.missed_count,
            consultation.outcome,
            consultation.ended_at,
            DoctorPresence.objects.get(doctor=doctor).status,
        )
        expected = (Ticket.Status.MISSED, 1, "no_show", expired, "available")
        if seen != expected:
            lost[f"ticket {ticket.token_number}"] = (expected, seen)
    expired_tokens = Ticket.objects.filter(
        patient__in=yesterday, status=Ticket.Status.EXPIRED
    ).count()
    if expired_tokens != 2:
        lost["yesterday's tokens expired"] = (2, expired_tokens)
    case.refresh_from_db()
    if (case.route, case.ticket.queue.kind) != (Case.Route.OVERFLOW, Queue.Kind.STATE_OVERFLOW):
        lost["the case's overflow"] = (Case.Route.OVERFLOW, case.route)
    near = Ticket.objects.filter(patient__in=waiting, near_turn_notified=True)
    if near.count() != settings.QUEUE_NEAR_TURN_POSITION:
        lost["tokens told their turn is near"] = (
            settings.QUEUE_NEAR_TURN_POSITION,
            near.count(),
        )
    print(f"housekeeping stopped for an hour, then: {first.strip()}; lost: {lost or 'nothing'}")
    assert lost == {}

    assert housekeeping() == "", "a second run found work the first left"
    assert Ticket.objects.filter(missed_count__gt=1).count() == 0
