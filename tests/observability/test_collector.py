"""The queue gauges equal the waiting tickets and serving doctors in the database, and a
scrape costs the same few queries however many queues there are."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.db.models import Count, Min
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from sanjeevani.consultations import services as consultations
from sanjeevani.observability.collector import QueueCollector
from sanjeevani.queueing import services as queue
from sanjeevani.queueing.models import Queue, Ticket
from sanjeevani.registry.models import OpeningWindow
from tests.factories import DoctorFactory, OnlineOPDFactory, PatientFactory

pytestmark = pytest.mark.django_db

#: Waiting tickets, serving doctors, OPDs open now.
SCRAPE_QUERIES = 3


def _scrape(now: dt.datetime) -> dict[str, dict[tuple, float]]:
    """Each family's samples by their label values."""
    samples: dict[str, dict[tuple, float]] = {}
    for family in QueueCollector(now).collect():
        for sample in family.samples:
            key = tuple(sorted(sample.labels.items()))
            samples.setdefault(sample.name, {})[key] = sample.value
    return samples


def _labels(queue_id, kind: str, code: str) -> tuple:
    return tuple(sorted({"queue_id": str(queue_id), "kind": kind, "code": code}.items()))


def _tokens(opd, n: int) -> None:
    for _ in range(n):
        patient = PatientFactory()
        consultations.take_token(patient.account, patient, opd, "fever")


def test_the_figures_are_the_waiting_tickets_and_the_serving_doctors():
    busy, quiet, empty = OnlineOPDFactory(), OnlineOPDFactory(), OnlineOPDFactory()
    _tokens(busy, 3)
    _tokens(quiet, 1)
    doctor = DoctorFactory()
    doctor.opds.add(empty)
    queue.go_online(doctor.user, empty)
    now = timezone.now() + dt.timedelta(minutes=10)

    samples = _scrape(now)

    expected = {
        row["queue_id"]: row
        for row in Ticket.objects.filter(status=Ticket.Status.WAITING)
        .values("queue_id")
        .annotate(n=Count("id"), oldest=Min("queued_at"))
    }
    assert len(samples["sanjeevani_queue_waiting"]) == len(expected) == 2
    for opd in (busy, quiet):
        queue_id = Queue.objects.get(opd=opd).pk
        labels = _labels(queue_id, "opd", opd.code)
        assert samples["sanjeevani_queue_waiting"][labels] == expected[queue_id]["n"]
        oldest = (now - expected[queue_id]["oldest"]).total_seconds()
        assert samples["sanjeevani_queue_oldest_wait_seconds"][labels] == pytest.approx(oldest)
    assert (
        samples["sanjeevani_queue_waiting"][
            _labels(Queue.objects.get(opd=busy).pk, "opd", busy.code)
        ]
        == 3
    )
    # The empty OPD's queue has a doctor and nobody waiting: a doctor series, no wait series.
    empty_labels = _labels(Queue.objects.get(opd=empty).pk, "opd", empty.code)
    assert samples["sanjeevani_queue_doctors_online"] == {empty_labels: 1}
    assert empty_labels not in samples["sanjeevani_queue_waiting"]
    assert samples["sanjeevani_queue_collector_up"] == {(): 1}


def test_opd_open_follows_the_opening_hours():
    open_opd = OnlineOPDFactory()
    closed_opd = OnlineOPDFactory(always_open=False)
    now = timezone.now()
    local = timezone.localtime(now)
    minute = local.hour * 60 + local.minute
    # Open on today's weekday, but the window ended a minute ago (or is tomorrow's).
    if minute > 0:
        OpeningWindow.objects.create(
            opd=closed_opd, weekday=local.weekday(), start_minute=0, end_minute=minute
        )
    samples = _scrape(now)["sanjeevani_opd_open"]
    assert samples[tuple(sorted({"opd_id": str(open_opd.pk), "code": open_opd.code}.items()))] == 1
    assert (
        samples[tuple(sorted({"opd_id": str(closed_opd.pk), "code": closed_opd.code}.items()))] == 0
    )


def test_a_scrape_costs_the_same_queries_for_more_queues():
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            _scrape(timezone.now())
        return len(captured.captured_queries)

    _tokens(OnlineOPDFactory(), 1)
    few = queries()
    for _ in range(4):
        opd = OnlineOPDFactory()
        _tokens(opd, 2)
        doctor = DoctorFactory()
        doctor.opds.add(opd)
        queue.go_online(doctor.user, opd)
    assert queries() == few <= SCRAPE_QUERIES
