"""Read queries of the queue: positions, wait estimates, the OPD board, the doctor's queue.

Positions, wait estimates and doctor figures are keyed on the ``Queue`` (an OPD's, a hub's
for one specialty, a state's overflow), like the claim and the live events; the OPD board
looks its OPD's queue up. Kept cheap: every query here uses the partial index on waiting
tickets or the presence index, and the recent mean consultation length is cached per queue
for a short while.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db.models import Count, DateTimeField, IntegerField, Min, Q, UUIDField
from django.utils import timezone
from django.utils.translation import gettext as _

from sanjeevani.audit.services import record_event
from sanjeevani.config.compiled_queries import CompiledCount, CompiledQuery, Slot
from sanjeevani.patients.models import Patient
from sanjeevani.registry.models import DoctorProfile, OnlineOPD

from .models import LIVE_STATUSES, DoctorPresence, Queue, Ticket

#: Presence states in which a doctor is seeing patients (counted for wait estimates).
SERVING_STATUSES = (DoctorPresence.Status.AVAILABLE, DoctorPresence.Status.BUSY)
#: Presence states in which a doctor still holds follow-ups that prefer them.
ONLINE_STATUSES = (*SERVING_STATUSES, DoctorPresence.Status.ON_BREAK)
#: How far back completed tokens count for the mean consultation length.
RECENT_WINDOW = dt.timedelta(hours=3)
MEAN_CACHE_SECONDS = 60
#: Each process also keeps the mean this long, so that a queue event (one per claim) does
#: not cost a shared-cache round trip; the figure moves over hours, not seconds.
MEAN_IN_PROCESS_SECONDS = 10
#: A queue with too few recent consultations and no OPD to say how long one takes (a hub's).
DEFAULT_CONSULTATION_MINUTES = 10
_mean_in_process: dict[object, tuple[float, int]] = {}


@dataclass(frozen=True)
class OPDBoard:
    """What a patient sees before taking a token."""

    opd: OnlineOPD
    doctors_online: int
    doctors_busy: int
    patients_waiting: int
    longest_wait_seconds: int
    mean_consultation_seconds: int
    expected_wait_minutes: int | None
    open_now: bool
    next_opening: dt.datetime | None


@dataclass(frozen=True)
class WaitingStatus:
    """What the waiting room shows for one token."""

    ticket: Ticket
    status: str
    position: int | None
    expected_wait_minutes: int | None
    call_seconds_left: int | None
    can_rejoin: bool
    doctors_online: int
    doctors_busy: int
    queue_key: dict = field(default_factory=dict)
    #: Taken just before the position was counted: every ``queue.advanced`` stamped
    #: (``at``) before it is already in ``position``, so the client skips those.
    as_of: dt.datetime | None = None


@dataclass(frozen=True)
class QueueEntry:
    """One waiting patient as the doctor's queue shows them (no name until called)."""

    ticket_id: object
    token_number: int
    priority: int
    age: int
    sex: str
    language: str
    complaint: str
    waited_seconds: int
    follow_up_for_me: bool


@dataclass(frozen=True)
class DoctorQueue:
    opd: OnlineOPD
    waiting: int
    longest_wait_seconds: int
    entries: list[QueueEntry]


def waiting_tickets(queue_id: object):
    return Ticket.objects.filter(queue_id=queue_id, status=Ticket.Status.WAITING)


def queue_key(ticket: Ticket) -> dict:
    """A ticket's place in the line; ``queue.advanced`` events carry the same shape."""
    return {"priority": ticket.priority, "queued_at": ticket.queued_at.isoformat()}


_TICKETS_AHEAD = CompiledCount(
    lambda: (
        waiting_tickets(Slot("queue", UUIDField()))
        .filter(
            Q(priority__lt=Slot("priority", IntegerField()))
            | Q(
                priority=Slot("priority", IntegerField()),
                queued_at__lt=Slot("queued_at", DateTimeField()),
            )
        )
        .exclude(pk=Slot("ticket", UUIDField()))
    )
)


def tickets_ahead(ticket: Ticket) -> int:
    """Waiting tickets of the same queue served before this one, by (priority, queued_at).
    Compiled: every status read of a waiting token counts them."""
    return _TICKETS_AHEAD(
        queue=ticket.queue_id,
        priority=ticket.priority,
        queued_at=ticket.queued_at,
        ticket=ticket.pk,
    )


def presence_counts(queue_ids: Iterable[object]) -> dict[object, dict[str, int]]:
    """Per queue: doctors online (available or busy) and busy."""
    counts: dict[object, dict[str, int]] = {}
    rows = (
        DoctorPresence.objects.filter(queue_id__in=list(queue_ids), status__in=SERVING_STATUSES)
        .values("queue_id", "status")
        .annotate(n=Count("id"))
    )
    for row in rows:
        entry = counts.setdefault(row["queue_id"], {"online": 0, "busy": 0})
        entry["online"] += row["n"]
        if row["status"] == DoctorPresence.Status.BUSY:
            entry["busy"] += row["n"]
    return counts


PRESENCE_CACHE_SECONDS = 5


def recent_presence_counts(
    queue_id: object, fresh: bool = False, busy_delta: int = 0
) -> dict[str, int]:
    """Doctors online and busy on one queue, counted at most every few seconds: every queue
    event carries them, and a claim should not pay a query for figures a person reads.
    ``busy_delta`` shifts the cached figures for a change the caller just made (a claim
    makes one doctor busy) without extending their age."""
    key = f"queueing:presence:{queue_id}"
    now = time.time()
    cached = None if fresh else cache.get(key)
    if cached is None or now - cached["at"] > PRESENCE_CACHE_SECONDS:
        counts = presence_counts([queue_id]).get(queue_id, {"online": 0, "busy": 0})
        cache.set(key, {**counts, "at": now}, PRESENCE_CACHE_SECONDS * 2)
        return counts
    counts = {"online": cached["online"], "busy": cached["busy"]}
    if busy_delta:
        counts["busy"] = max(0, min(counts["online"], counts["busy"] + busy_delta))
        cache.set(key, {**counts, "at": cached["at"]}, PRESENCE_CACHE_SECONDS * 2)
    return counts


def mean_consultation_seconds(queue: Queue | object) -> int:
    """The mean service time of this queue's tokens completed in the last hours (from the
    patient joining the call to the end), or the OPD's configured length when there are
    too few to tell. ``queue`` may be the Queue or its id (loaded only on a cache miss)."""
    queue_id = getattr(queue, "pk", queue)
    remembered = _mean_in_process.get(queue_id)
    if remembered is not None and remembered[0] > time.monotonic():
        return remembered[1]
    key = f"queueing:mean-consultation:{queue_id}"
    cached = cache.get(key)
    if cached is None:
        cached = _mean_consultation_seconds(queue_id)
        cache.set(key, cached, MEAN_CACHE_SECONDS)
    _mean_in_process[queue_id] = (time.monotonic() + MEAN_IN_PROCESS_SECONDS, cached)
    return cached


def _mean_consultation_seconds(queue_id: object) -> int:
    since = timezone.now() - RECENT_WINDOW
    spans = (
        Ticket.objects.filter(
            queue_id=queue_id,
            status=Ticket.Status.COMPLETED,
            service_ended_at__gte=since,
            service_started_at__isnull=False,
        )
        .order_by("-service_ended_at")
        .values_list("service_started_at", "service_ended_at")[:50]
    )
    seconds = [(end - start).total_seconds() for start, end in spans if end > start]
    if len(seconds) >= 3:
        mean = int(sum(seconds) / len(seconds))
    else:
        minutes = (
            Queue.objects.filter(pk=queue_id)
            .values_list("opd__consultation_minutes", flat=True)
            .first()
        )
        mean = int(minutes or DEFAULT_CONSULTATION_MINUTES) * 60
    return max(mean, 60)


def expected_wait_minutes(position: int, mean_seconds: int, doctors_online: int) -> int | None:
    """Position × mean consultation length ÷ doctors seeing patients; None when no doctor
    is online (the wait cannot be told, and the page says so)."""
    if doctors_online <= 0:
        return None
    return max(1, round(position * mean_seconds / doctors_online / 60))


def opd_boards(opds: Iterable[OnlineOPD], now: dt.datetime | None = None) -> list[OPDBoard]:
    """Boards for many OPDs in a fixed number of queries (a state's list page)."""
    now = now or timezone.now()
    opds = list(opds)
    queue_of = dict(Queue.objects.filter(opd__in=[o.pk for o in opds]).values_list("opd_id", "pk"))
    presence = presence_counts(queue_of.values())
    waiting = {
        row["queue_id"]: row
        for row in Ticket.objects.filter(
            queue_id__in=list(queue_of.values()), status=Ticket.Status.WAITING
        )
        .values("queue_id")
        .annotate(n=Count("id"), oldest=Min("queued_at"))
    }
    boards = []
    for opd in opds:
        queue_id = queue_of.get(opd.pk)
        counts = presence.get(queue_id, {"online": 0, "busy": 0})
        row = waiting.get(queue_id, {"n": 0, "oldest": None})
        mean = (
            mean_consultation_seconds(queue_id)
            if queue_id
            else max(int(opd.consultation_minutes) * 60, 60)
        )
        oldest = row["oldest"]
        open_now = opd.is_open_at(now)
        boards.append(
            OPDBoard(
                opd=opd,
                doctors_online=counts["online"],
                doctors_busy=counts["busy"],
                patients_waiting=row["n"],
                longest_wait_seconds=int((now - oldest).total_seconds()) if oldest else 0,
                mean_consultation_seconds=mean,
                expected_wait_minutes=expected_wait_minutes(row["n"] + 1, mean, counts["online"]),
                open_now=open_now,
                next_opening=None if open_now else opd.next_opening(now),
            )
        )
    return boards


def opd_board(opd: OnlineOPD, now: dt.datetime | None = None) -> OPDBoard:
    return opd_boards([opd], now)[0]


def opds_of_state(state_code: str | None):
    """Active OPDs a patient of this state may use: the state's own and the national ones."""
    qs = OnlineOPD.objects.filter(active=True).select_related("state", "specialty")
    qs = qs.prefetch_related("opening_windows")
    if state_code:
        qs = qs.filter(Q(state__code__iexact=state_code) | Q(scope=OnlineOPD.Scope.NATIONAL))
    return qs.order_by("scope", "name")


def call_window_passed(ticket: Ticket, now: dt.datetime | None = None) -> bool:
    """A call nobody answered in time, which housekeeping has yet to mark missed."""
    return (
        ticket.status == Ticket.Status.CALLED
        and ticket.call_expires_at is not None
        and ticket.call_expires_at < (now or timezone.now())
    )


def waiting_status(ticket: Ticket, now: dt.datetime | None = None) -> WaitingStatus:
    """Position, expected wait, status and the call window left for one token. Reading
    never writes: a call whose window passed reads as the miss that housekeeping
    (``expire_unanswered_calls``) records within seconds. The doctors online are the
    figures every queue event carries (a few seconds old at most, fresh after a presence
    change), not a count per poll."""
    now = now or timezone.now()
    as_of = timezone.now()
    counts = recent_presence_counts(ticket.queue_id)
    position = wait = seconds_left = None
    status, missed_count = ticket.status, ticket.missed_count
    if call_window_passed(ticket, now):
        status, missed_count = Ticket.Status.MISSED, missed_count + 1
    if status == Ticket.Status.WAITING:
        position = tickets_ahead(ticket) + 1
        wait = expected_wait_minutes(
            position, mean_consultation_seconds(ticket.queue_id), counts["online"]
        )
    elif status == Ticket.Status.CALLED and ticket.call_expires_at:
        seconds_left = max(0, int((ticket.call_expires_at - now).total_seconds()))
    return WaitingStatus(
        ticket=ticket,
        status=status,
        position=position,
        expected_wait_minutes=wait,
        call_seconds_left=seconds_left,
        can_rejoin=status == Ticket.Status.MISSED and missed_count == 1,
        doctors_online=counts["online"],
        doctors_busy=counts["busy"],
        queue_key=queue_key(ticket),
        as_of=as_of,
    )


def live_tickets_of_family(user) -> list[Ticket]:
    """The live tokens of every profile of this account (to come back to the same place)."""
    return list(
        Ticket.objects.filter(patient__account=user, status__in=LIVE_STATUSES, opd__isnull=False)
        .select_related("patient", "opd")
        .order_by("queued_at")
    )


#: Read on every status poll and step of a patient's token (``bench/compiled_queries.py``).
_family_ticket = CompiledQuery(
    lambda: Ticket.objects.select_related("patient", "opd", "claimed_by__user").filter(
        pk=Slot("ticket", UUIDField()),
        patient__account_id=Slot("account", Patient._meta.get_field("account").target_field),
        opd__isnull=False,
    )[:2]
)


def ticket_for_family(user, ticket_id) -> Ticket:
    """A token of this account's family; anyone else's is not found (``Ticket.DoesNotExist``,
    which pages and the API answer with 404). Not audited: for the steps that act on the
    token and the frequent status polls; a page or endpoint that shows the token uses
    ``ticket_viewed_by_family``."""
    if user.pk is None:
        raise Ticket.DoesNotExist("a token of nobody's family")
    return _family_ticket.one(ticket=ticket_id, account=user.pk)


def ticket_viewed_by_family(user, ticket_id, request=None) -> Ticket:
    """``ticket_for_family`` with the read audited (the token names the patient)."""
    ticket = ticket_for_family(user, ticket_id)
    record_event(user, "ticket.view", obj=ticket, patient_id=ticket.patient_id, request=request)
    return ticket


def presence_of(doctor: DoctorProfile) -> DoctorPresence | None:
    return DoctorPresence.objects.filter(doctor=doctor).select_related("opd").first()


def is_online_for(doctor: DoctorProfile, opd: OnlineOPD) -> bool:
    return DoctorPresence.objects.filter(
        doctor=doctor, opd=opd, status__in=ONLINE_STATUSES
    ).exists()


def doctor_queue(
    doctor: DoctorProfile, opd: OnlineOPD | None = None, now: dt.datetime | None = None
) -> DoctorQueue:
    """The waiting patients of the queue the doctor is online for (an OPD's). A doctor who
    is not online for that OPD is refused (PermissionDenied): a queue is seen only while
    serving it."""
    now = now or timezone.now()
    presence = presence_of(doctor)
    if presence is None or presence.status not in ONLINE_STATUSES or presence.opd_id is None:
        raise PermissionDenied(_("Go online for an OPD to see its queue."))
    if opd is not None and presence.opd_id != opd.pk:
        raise PermissionDenied(_("You are not online for this OPD; go online for it first."))
    opd = presence.opd
    waiting = waiting_tickets(presence.queue_id)
    tickets = list(waiting.select_related("patient").order_by("priority", "queued_at")[:200])
    stats = waiting.aggregate(n=Count("id"), oldest=Min("queued_at"))
    entries = [
        QueueEntry(
            ticket_id=t.pk,
            token_number=t.token_number,
            priority=t.priority,
            age=t.patient.age,
            sex=t.patient.sex,
            language=t.language or t.patient.preferred_language,
            complaint=t.complaint,
            waited_seconds=max(0, int((now - t.queued_at).total_seconds())),
            follow_up_for_me=t.preferred_doctor_id == doctor.pk,
        )
        for t in tickets
    ]
    oldest = stats["oldest"]
    return DoctorQueue(
        opd=opd,
        waiting=stats["n"],
        longest_wait_seconds=int((now - oldest).total_seconds()) if oldest else 0,
        entries=entries,
    )


def patient_of_family(user, patient_id) -> Patient:
    """A profile of this account's family, its account (the caller) attached: the SMS that
    follows a token reads the account's mobile number."""
    patient = Patient.objects.get(pk=patient_id, account=user)
    patient.account = user
    return patient
