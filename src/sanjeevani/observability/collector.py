"""Queue figures read at scrape time: who waits, for how long, and who serves, per queue.

Top layer (beside ``dashboard``): reads the queue's and the registry's tables; nothing
below imports it. A scrape costs three queries whatever the size of the country: one grouped
query over the waiting tickets, one over the serving doctors, one over the active OPDs
and today's opening windows. Only queues with someone waiting or serving get a series
(there are 15,000+ hub queues; most are empty at any moment).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from typing import Any

from django.db.models import Count, Exists, Min, OuterRef
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from sanjeevani.queueing.models import DoctorPresence, Ticket
from sanjeevani.queueing.selectors import SERVING_STATUSES
from sanjeevani.registry.models import OnlineOPD, OpeningWindow

log = logging.getLogger(__name__)

QUEUE_LABELS = ["queue_id", "kind", "code"]
#: The queue's references read with each grouped row, for its ``code`` label.
_QUEUE_FIELDS = (
    "queue_id",
    "queue__kind",
    "queue__opd__code",
    "queue__hub__code",
    "queue__state__code",
    "queue__specialty__code",
)


def queue_code(row: dict[str, Any]) -> str:
    """A queue's readable code: the OPD's code; ``<hub code>/<specialty>`` for a hub's
    queue; ``<state code>/<specialty>`` for a state's overflow."""
    if row["queue__opd__code"]:
        return row["queue__opd__code"]
    place = row["queue__hub__code"] or row["queue__state__code"] or ""
    return f"{place}/{row['queue__specialty__code'] or ''}"


def _labels(row: dict[str, Any]) -> list[str]:
    return [str(row["queue_id"]), row["queue__kind"], queue_code(row)]


def waiting_rows() -> list[dict[str, Any]]:
    """Per queue with someone waiting: how many and since when (one grouped query)."""
    return list(
        Ticket.objects.filter(status=Ticket.Status.WAITING)
        .values(*_QUEUE_FIELDS)
        .annotate(n=Count("id"), oldest=Min("queued_at"))
        .order_by()
    )


def presence_rows() -> list[dict[str, Any]]:
    """Per queue with a doctor serving it (available or busy): how many (one query)."""
    return list(
        DoctorPresence.objects.filter(status__in=SERVING_STATUSES, queue__isnull=False)
        .values(*_QUEUE_FIELDS)
        .annotate(n=Count("id"))
        .order_by()
    )


def opd_open_rows(now: dt.datetime) -> list[tuple[Any, str, bool]]:
    """Every active OPD and whether its opening hours include ``now`` (the rule of
    ``OnlineOPD.is_open_at``, as one query)."""
    local = timezone.localtime(now)
    minute = local.hour * 60 + local.minute
    window_now = OpeningWindow.objects.filter(
        opd=OuterRef("pk"),
        weekday=local.weekday(),
        start_minute__lte=minute,
        end_minute__gt=minute,
    )
    return list(
        OnlineOPD.objects.filter(active=True)
        .annotate(open_now=Exists(window_now))
        .values_list("pk", "code", "open_now")
        .order_by()
    )


class QueueCollector(Collector):
    """The queue gauges, computed when Prometheus scrapes. A database failure gives
    ``sanjeevani_queue_collector_up 0`` instead of a failed scrape."""

    def __init__(self, now: dt.datetime | None = None) -> None:
        self.now = now

    def collect(self) -> Iterator[GaugeMetricFamily]:
        now = self.now or timezone.now()
        up = GaugeMetricFamily(
            "sanjeevani_queue_collector_up",
            "1 when the queue figures below could be read from the database.",
        )
        try:
            families = self._families(now)
        except Exception:
            log.exception("Could not read the queue figures for /metrics")
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    def _families(self, now: dt.datetime) -> list[GaugeMetricFamily]:
        waiting = GaugeMetricFamily(
            "sanjeevani_queue_waiting",
            "Tickets waiting in a queue (queues with someone waiting).",
            labels=QUEUE_LABELS,
        )
        oldest = GaugeMetricFamily(
            "sanjeevani_queue_oldest_wait_seconds",
            "Seconds the longest-waiting ticket of a queue has waited.",
            labels=QUEUE_LABELS,
        )
        for row in waiting_rows():
            labels = _labels(row)
            waiting.add_metric(labels, row["n"])
            oldest.add_metric(labels, max((now - row["oldest"]).total_seconds(), 0.0))
        online = GaugeMetricFamily(
            "sanjeevani_queue_doctors_online",
            "Doctors serving a queue now, available or busy (queues with one or more).",
            labels=QUEUE_LABELS,
        )
        for row in presence_rows():
            online.add_metric(_labels(row), row["n"])
        opd_open = GaugeMetricFamily(
            "sanjeevani_opd_open",
            "1 when an active OPD's opening hours include now, else 0 (its queue's code).",
            labels=["opd_id", "code"],
        )
        for opd_id, code, open_now in opd_open_rows(now):
            opd_open.add_metric([str(opd_id), code], 1 if open_now else 0)
        return [waiting, oldest, online, opd_open]
