"""20 doctors call at once from a queue of 500 tickets: each ticket is claimed exactly once
and none is lost. Needs PostgreSQL (SKIP LOCKED); SQLite serialises writers anyway."""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter

import pytest
from django.db import connection
from django.utils import timezone

from sanjeevani.consultations import services as consultation_services
from sanjeevani.consultations.models import Consultation
from sanjeevani.consultations.services import end_consultation
from sanjeevani.patients.models import Patient
from sanjeevani.queueing import services
from sanjeevani.queueing.models import Queue, Ticket
from tests.factories import OnlineOPDFactory, StateFactory
from tests.queueing.factories import member_doctor

DOCTORS = 20
TICKETS = 500

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _needs_postgres():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: set DATABASE_URL")


def test_twenty_doctors_claim_five_hundred_tickets_each_exactly_once():
    state = StateFactory()
    opd = OnlineOPDFactory(state=state, daily_capacity=TICKETS)
    doctors = [member_doctor(opd) for _ in range(DOCTORS)]
    for doctor in doctors:
        services.go_online(doctor.user, opd)
    patients = Patient.objects.bulk_create(
        Patient(name=f"P {i}", date_of_birth=dt.date(1980, 1, 1), sex="F", state=state)
        for i in range(TICKETS)
    )
    start = timezone.now() - dt.timedelta(hours=1)
    queue = Queue.objects.for_opd(opd)
    Ticket.objects.bulk_create(
        Ticket(
            patient=p,
            queue=queue,
            opd=opd,
            service_date=timezone.localdate(),
            token_number=i + 1,
            queued_at=start + dt.timedelta(seconds=i),
        )
        for i, p in enumerate(patients)
    )
    claims: dict[int, list] = {i: [] for i in range(DOCTORS)}
    errors: list[BaseException] = []
    barrier = threading.Barrier(DOCTORS)

    def work(index: int) -> None:
        user = doctors[index].user
        try:
            barrier.wait()
            while True:
                ticket = consultation_services.call_next_patient(user)
                if ticket is None:
                    return
                claims[index].append(ticket.pk)
                end_consultation(user, ticket.consultation, Consultation.Outcome.NO_SHOW)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(DOCTORS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=240)

    assert not errors, errors
    claimed = [pk for per_doctor in claims.values() for pk in per_doctor]
    counts = Counter(claimed)
    assert len(claimed) == TICKETS
    assert max(counts.values()) == 1
    assert set(counts) == set(Ticket.objects.values_list("pk", flat=True))
    assert Ticket.objects.filter(status="missed", claimed_by__isnull=False).count() == TICKETS
    per_ticket = Counter(Consultation.objects.values_list("ticket_id", flat=True))
    assert len(per_ticket) == TICKETS and set(per_ticket.values()) == {1}
    assert sum(1 for c in claims.values() if c) > 1
