"""A read never writes: a call whose window passed reads as missed, and housekeeping (which
``make run`` starts beside the server) records the miss."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from sanjeevani.consultations import services as consultation_services
from sanjeevani.consultations.models import Consultation
from sanjeevani.queueing import selectors, services
from sanjeevani.queueing.models import DoctorPresence, Ticket
from tests.factories import OnlineOPDFactory, PatientFactory
from tests.queueing.factories import API, api_for, member_doctor

pytestmark = pytest.mark.django_db

WRITES = ("INSERT", "UPDATE", "DELETE")


@pytest.fixture(name="unanswered")
def unanswered_fixture():
    """A called ticket whose two minutes have just passed, nobody having marked it."""
    opd = OnlineOPDFactory()
    doctor = member_doctor(opd)
    patient = PatientFactory()
    services.go_online(doctor.user, opd)
    ticket = services.join_queue(patient.account, patient, opd)
    consultation_services.call_next_patient(doctor.user)
    Ticket.objects.filter(pk=ticket.pk).update(
        call_expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    return Ticket.objects.select_related("opd").get(pk=ticket.pk)


def _writes(queries) -> list[str]:
    return [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith(WRITES)]


def test_reading_a_passed_call_shows_it_missed_without_writing(unanswered):
    with CaptureQueriesContext(connection) as queries:
        status = selectors.waiting_status(unanswered)
    assert _writes(queries.captured_queries) == []
    assert (status.status, status.can_rejoin, status.call_seconds_left) == ("missed", True, None)
    assert Ticket.objects.get(pk=unanswered.pk).status == Ticket.Status.CALLED


def test_a_second_passed_call_reads_as_final(unanswered):
    Ticket.objects.filter(pk=unanswered.pk).update(missed_count=1)
    unanswered.refresh_from_db()
    status = selectors.waiting_status(unanswered)
    assert (status.status, status.can_rejoin) == ("missed", False)


def test_a_call_within_its_window_still_counts_down(unanswered):
    Ticket.objects.filter(pk=unanswered.pk).update(
        call_expires_at=timezone.now() + dt.timedelta(seconds=60)
    )
    unanswered.refresh_from_db()
    status = selectors.waiting_status(unanswered)
    assert status.status == "called" and 55 <= status.call_seconds_left <= 60


def test_housekeeping_records_the_miss_and_frees_the_doctor(unanswered):
    call_command("queue_housekeeping", verbosity=0)
    ticket = Ticket.objects.get(pk=unanswered.pk)
    assert (ticket.status, ticket.missed_count) == (Ticket.Status.MISSED, 1)
    consultation = Consultation.objects.get(ticket=ticket)
    assert (consultation.status, consultation.outcome) == ("ended", "no_show")
    assert DoctorPresence.objects.get(doctor=ticket.claimed_by).status == "available"
    assert consultation_services.expire_unanswered_calls() == 0


def test_the_status_api_does_not_write(unanswered):
    response = api_for(unanswered.patient.account).get(f"{API}/tickets/{unanswered.pk}/")
    assert response.status_code == 200 and response.json()["status"] == "missed"
    assert Ticket.objects.get(pk=unanswered.pk).status == Ticket.Status.CALLED
