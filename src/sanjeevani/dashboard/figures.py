"""The figures every dashboard page shows, read from the rollups (``sanjeevani.rollups``),
never from the raw consultations: each costs the same at 3 thousand or 300 million.

Which grain answers: "to date" for the country or a state from ``StateTotal``; a day or a
date range for the country or a state from ``StateDay``; a state's or a district's
operations from ``DistrictDay``, a hub's and the waits per OPD and hub from ``PlaceDay``, the
spokes (equity, quiet spokes) from ``SpokeDay``; only a specialty or a spoke chosen as the
facility reads ``DayDetail``. So a page reads O(districts, places or spokes × days), and
a page's period is bounded (``bounded``): its cost does not grow with the history. Live
figures (waiting now, doctors online) come straight from the queue: small by nature.
"""

# The one SQL text here is assembled from model metadata; values go as parameters.
# ruff: noqa: S608

from __future__ import annotations

import contextlib
import datetime as dt
import heapq
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field, replace

from django.db import connection, connections, router
from django.db.models import Count, Q, QuerySet, Sum, Window
from django.utils import timezone

from sanjeevani.queueing.models import DoctorPresence, Ticket
from sanjeevani.registry.models import (
    District,
    Facility,
    HubSpokeLink,
    OnlineOPD,
    RosterShift,
    Specialty,
    State,
)
from sanjeevani.rollups.models import (
    HOURS,
    NO_PLACE,
    WAIT_BUCKETS,
    WAIT_EDGES_MINUTES,
    DayDetail,
    DistrictDay,
    DoctorDay,
    ServiceLine,
    SpokeDay,
    StateDay,
    StateTotal,
)
from sanjeevani.rollups.models import PlaceDay as PlaceDayCounts

LINES = tuple(ServiceLine.values)  # "opd", "hub_spoke", "store_forward"


@dataclass(frozen=True)
class Scope:
    state_code: str | None = None  # None: the whole country
    hub_id: uuid.UUID | None = None  # a hub coordinator's hub (Facility id)
    district_id: int | None = None
    facility_id: uuid.UUID | None = None  # an OPD id or a spoke/hub Facility id
    specialty_code: str | None = None
    start: dt.date | None = None  # inclusive IST days
    end: dt.date | None = None

    @property
    def narrow(self) -> bool:
        """Needs the detailed grain (anything below a state)."""
        return bool(self.hub_id or self.district_id or self.facility_id or self.specialty_code)


@dataclass(frozen=True)
class Headline:
    consultations_to_date: int
    consultations_today: int
    patients_served: int
    by_line: dict[str, int]  # "opd", "hub_spoke", "store_forward" -> consultations to date
    hubs: int
    spokes: int
    opds_general: int
    opds_specialist: int
    doctors_today: int


@dataclass(frozen=True)
class StateRow:
    code: str
    name: str
    consultations: int


@dataclass(frozen=True)
class DayRow:
    day: dt.date
    consultations: int
    by_line: dict[str, int]


@dataclass(frozen=True)
class Live:
    waiting: int
    doctors_online: int


@dataclass(frozen=True)
class PlaceDay:
    """One OPD or hub on one day (the operations table)."""

    day: dt.date
    place_id: uuid.UUID
    place: str
    kind: str  # "opd" or "hub"
    consultations: int
    median_wait_minutes: float | None
    p90_wait_minutes: float | None
    missed: int
    missed_rate: float | None  # missed / (completed + missed)
    doctors_rostered: int
    doctors_served: int


@dataclass(frozen=True)
class EquityRow:
    kind: str  # "district" or "spoke"
    id: str
    name: str
    consultations: int
    #: The district's people, or the spoke's catchment; None when not known.
    population: int | None = None
    #: Consultations per 100,000 people (``PER_PEOPLE``); None when the population is not known.
    per_100k: float | None = None


@dataclass(frozen=True)
class QuietSpoke:
    id: uuid.UUID
    code: str
    name: str
    district: str


@dataclass(frozen=True)
class Operations:
    places: list[PlaceDay]
    busiest_hours: list[int]  # 24 counts of completed consultations by IST hour
    women_share: float | None
    senior_share: float | None
    quiet_spokes: list[QuietSpoke]
    equity: list[EquityRow]  # fewest per head first, then those of unknown population
    wait_histogram: dict[str, int] = field(default_factory=dict)
    quiet_spoke_count: int = 0  # all of them; ``quiet_spokes`` holds the first ``QUIET_SHOWN``
    place_count: int = 0  # all the place-days; ``places`` holds at least the first ``PLACES_SHOWN``
    start: dt.date | None = None  # the days the operations cover (inclusive)
    end: dt.date | None = None
    #: False on a state's page: its spokes' lists (quiet, fewest) are ``spoke_lists``, on a
    #: page of their own, and ``equity`` holds the districts only.
    with_spokes: bool = True


@dataclass(frozen=True)
class SpokeLists:
    """A state's (or a district's) spokes on their own page: the quiet ones and those with
    the fewest consultations. Reading them costs O(the scope's spokes), which for a large
    state is more than the rest of its dashboard together."""

    quiet_spokes: list[QuietSpoke]
    quiet_spoke_count: int
    fewest: list[EquityRow]
    start: dt.date
    end: dt.date


# --- scope ------------------------------------------------------------------------------


_resolved: ContextVar[dict | None] = ContextVar("dashboard_resolved", default=None)


@contextlib.contextmanager
def resolving() -> Iterator[None]:
    """Within it, a state's or specialty's code is looked up once, not once per figure (a
    page computes a dozen figures of the same scope)."""
    if _resolved.get() is not None:
        yield
        return
    token = _resolved.set({})
    try:
        yield
    finally:
        _resolved.reset(token)


def _lookup(kind: str, code: str, find: Callable[[], int | None]) -> int | None:
    memo = _resolved.get()
    if memo is None:
        return find()
    if (kind, code) not in memo:
        memo[(kind, code)] = find()
    return memo[(kind, code)]


def _state_id(scope: Scope) -> int | None:
    if scope.state_code is None:
        return None
    code = scope.state_code
    found = _lookup(
        "state", code, lambda: State.objects.filter(code=code).values_list("id", flat=True).first()
    )
    return found if found is not None else -1  # an unknown state has no figures


def _specialty_id(scope: Scope) -> int | None:
    if not scope.specialty_code:
        return None
    code = scope.specialty_code
    found = _lookup(
        "specialty",
        code,
        lambda: Specialty.objects.filter(code=code).values_list("id", flat=True).first(),
    )
    return found or -1


def _dates(qs: QuerySet, scope: Scope) -> QuerySet:
    if scope.start:
        qs = qs.filter(day__gte=scope.start)
    if scope.end:
        qs = qs.filter(day__lte=scope.end)
    return qs


def _detail(scope: Scope, dated: bool = True) -> QuerySet:
    qs = DayDetail.objects.all()
    state_id = _state_id(scope)
    if state_id is not None:
        qs = qs.filter(state_id=state_id)
    if scope.hub_id:
        qs = qs.filter(hub_id=scope.hub_id)
    if scope.district_id:
        qs = qs.filter(district_id=scope.district_id)
    if scope.facility_id:
        f = scope.facility_id
        qs = qs.filter(Q(opd_id=f) | Q(hub_id=f) | Q(spoke_id=f))
    specialty_id = _specialty_id(scope)
    if specialty_id is not None:
        qs = qs.filter(specialty_id=specialty_id)
    return _dates(qs, scope) if dated else qs


def _fine(scope: Scope) -> bool:
    """Only the day detail answers: a specialty, a facility (it may be a spoke), or a hub
    and a district together."""
    return bool(scope.specialty_code or scope.facility_id or (scope.hub_id and scope.district_id))


def _grain(scope: Scope, dated: bool = True) -> QuerySet:
    """Per-day rows of every counter (histograms included) below a state, at the cheapest
    grain that answers the scope: a hub's from ``PlaceDay``, a state's or a district's from
    ``DistrictDay``, anything finer from ``DayDetail``."""
    if _fine(scope):
        return _detail(scope, dated)
    if scope.hub_id:
        qs = PlaceDayCounts.objects.filter(hub_id=scope.hub_id)
    else:
        qs = DistrictDay.objects.all()
        if scope.district_id:
            qs = qs.filter(district_id=scope.district_id)
    state_id = _state_id(scope)
    if state_id is not None:
        qs = qs.filter(state_id=state_id)
    return _dates(qs, scope) if dated else qs


def _days(scope: Scope) -> QuerySet:
    """Per-day rows at the cheapest grain that answers the scope."""
    if scope.narrow:
        return _grain(scope)
    qs = StateDay.objects.all()
    state_id = _state_id(scope)
    if state_id is not None:
        qs = qs.filter(state_id=state_id)
    return _dates(qs, scope)


def _to_date(scope: Scope) -> QuerySet:
    """All-time rows (or the scope's date range) at the cheapest grain."""
    if scope.narrow or scope.start or scope.end:
        return _days(scope)
    qs = StateTotal.objects.all()
    state_id = _state_id(scope)
    if state_id is not None:
        qs = qs.filter(state_id=state_id)
    return qs


def _sum(qs: QuerySet, *names: str) -> dict[str, int]:
    got = qs.aggregate(**{name: Sum(name) for name in names})
    return {name: int(got[name] or 0) for name in names}


def _by_line(qs: QuerySet, name: str = "consultations") -> dict[str, int]:
    counts = dict.fromkeys(LINES, 0)
    for line, total in qs.values_list("service_line").annotate(n=Sum(name)).order_by():
        counts[line] = counts.get(line, 0) + int(total or 0)
    return counts


# --- the public figures -----------------------------------------------------------------


def _places(scope: Scope) -> tuple[int, int, int, int]:
    """Hubs, spokes, general and specialist OPDs live (active) in the scope."""
    facilities = Facility.objects.filter(active=True)
    opds = OnlineOPD.objects.filter(active=True)
    state_id = _state_id(scope)
    if state_id is not None:
        facilities = facilities.filter(state_id=state_id)
        opds = opds.filter(state_id=state_id)
    if scope.district_id:
        facilities = facilities.filter(district_id=scope.district_id)
        opds = opds.none()
    if scope.hub_id:
        spokes = HubSpokeLink.objects.filter(hub_id=scope.hub_id, active=True, spoke__active=True)
        hubs = facilities.filter(pk=scope.hub_id, is_hub=True).count()
        return hubs, spokes.values("spoke_id").distinct().count(), 0, 0
    if scope.facility_id:
        facilities = facilities.filter(pk=scope.facility_id)
        opds = opds.filter(pk=scope.facility_id)
    # One read of each table (a large state has tens of thousands of spokes).
    places = facilities.aggregate(
        hubs=Count("pk", filter=Q(is_hub=True)), spokes=Count("pk", filter=Q(is_spoke=True))
    )
    kinds = opds.aggregate(
        general=Count("pk", filter=Q(specialty__isnull=True)),
        specialist=Count("pk", filter=Q(specialty__isnull=False)),
    )
    return places["hubs"], places["spokes"], kinds["general"], kinds["specialist"]


def _doctors_on(scope: Scope, day: dt.date) -> int:
    qs = DoctorDay.objects.filter(day=day)
    state_id = _state_id(scope)
    if state_id is not None:
        qs = qs.filter(state_id=state_id)
    place = scope.hub_id or scope.facility_id
    if place:
        qs = qs.filter(place_id=place)
    return qs.values("doctor_id").distinct().count()


def headline(scope: Scope, today: dt.date | None = None) -> Headline:
    """The public page's figures (and the top of every dashboard) for ``scope``.
    "To date" honours the scope's date range when it has one; "today" is ``today`` (IST)."""
    today = today or timezone.localdate()
    to_date = _to_date(scope)
    totals = _sum(to_date, "consultations", "new_patients")
    today_rows = _days(replace(scope, start=today, end=today))
    hubs, spokes, general, specialist = _places(scope)
    return Headline(
        consultations_to_date=totals["consultations"],
        consultations_today=_sum(today_rows, "consultations")["consultations"],
        patients_served=totals["new_patients"],
        by_line=_by_line(to_date),
        hubs=hubs,
        spokes=spokes,
        opds_general=general,
        opds_specialist=specialist,
        doctors_today=_doctors_on(scope, today),
    )


def state_ranking(scope: Scope, limit: int | None = None) -> list[StateRow]:
    """States and UTs by consultations (to date, or in the scope's date range), best first;
    every state (36) when ``limit`` is None, those with none at the end."""
    states = State.objects.all()
    if scope.state_code:
        states = states.filter(code=scope.state_code)
    unscoped = Scope(
        specialty_code=scope.specialty_code, start=scope.start, end=scope.end
    )  # the ranking compares states: the state filter picks rows, not the grain
    counts = dict(
        _to_date(unscoped)
        .values_list("state_id")
        .annotate(n=Sum("consultations"))
        .order_by()
        .values_list("state_id", "n")
    )
    rows = [StateRow(s.code, s.name, int(counts.get(s.pk) or 0)) for s in states]
    rows.sort(key=lambda r: (-r.consultations, r.name))
    return rows if limit is None else rows[:limit]


def daily_trend(scope: Scope, days: int = 30, today: dt.date | None = None) -> list[DayRow]:
    """``days`` days up to ``today`` (or the scope's end), oldest first, every day present
    (0 when nothing happened), each with its split by service line."""
    last = scope.end or today or timezone.localdate()
    first = last - dt.timedelta(days=max(days, 1) - 1)
    if scope.start and scope.start > first:
        first = scope.start
    window = replace(scope, start=first, end=last)
    per_day: dict[dt.date, dict[str, int]] = defaultdict(lambda: dict.fromkeys(LINES, 0))
    for day, line, n in (
        _days(window)
        .values_list("day", "service_line")
        .annotate(n=Sum("consultations"))
        .order_by()
        .values_list("day", "service_line", "n")
    ):
        per_day[day][line] = int(n or 0)
    out = []
    day = first
    while day <= last:
        lines = dict(per_day.get(day) or dict.fromkeys(LINES, 0))
        out.append(DayRow(day, sum(lines.values()), lines))
        day += dt.timedelta(days=1)
    return out


def live_now(scope: Scope) -> Live:
    """Patients waiting and doctors online now, from the queue itself."""
    waiting = Ticket.objects.filter(status=Ticket.Status.WAITING)
    online = DoctorPresence.objects.filter(
        status__in=(DoctorPresence.Status.AVAILABLE, DoctorPresence.Status.BUSY)
    )
    state_id = _state_id(scope)
    if state_id is not None:
        waiting = waiting.filter(queue__state_id=state_id)
        online = online.filter(Q(opd__state_id=state_id) | Q(hub__state_id=state_id))
    place = scope.hub_id or scope.facility_id
    if place:
        waiting = waiting.filter(Q(opd_id=place) | Q(hub_id=place) | Q(spoke_id=place))
        online = online.filter(Q(opd_id=place) | Q(hub_id=place))
    if scope.district_id:
        waiting = waiting.filter(spoke__district_id=scope.district_id)
        online = online.filter(hub__district_id=scope.district_id)
    return Live(waiting=waiting.count(), doctors_online=online.count())


# --- operations (state and hub dashboards) ----------------------------------------------


def wait_percentile(histogram: dict[str, int], fraction: float) -> float | None:
    """The upper edge (minutes) of the bucket where ``fraction`` of the waits fall (the
    open last bucket: its lower edge); None without waits."""
    total = sum(histogram.get(b, 0) for b in WAIT_BUCKETS)
    if not total:
        return None
    running = 0
    for bucket, edge in zip(WAIT_BUCKETS, (*WAIT_EDGES_MINUTES, None), strict=True):
        running += histogram.get(bucket, 0)
        if running >= fraction * total:
            return float(edge if edge is not None else WAIT_EDGES_MINUTES[-1])
    return float(WAIT_EDGES_MINUTES[-1])


def _rostered(place_ids: set[uuid.UUID]) -> dict[tuple[uuid.UUID, int], set]:
    """Doctors rostered per (place, weekday)."""
    out: dict[tuple[uuid.UUID, int], set] = defaultdict(set)
    shifts = RosterShift.objects.filter(Q(opd_id__in=place_ids) | Q(hub_id__in=place_ids))
    for opd_id, hub_id, weekday, doctor_id in shifts.values_list(
        "opd_id", "hub_id", "weekday", "doctor_id"
    ):
        out[(opd_id or hub_id, weekday)].add(doctor_id)
    return out


def _place_rows(scope: Scope) -> QuerySet:
    """Rows with the OPD and hub of each day: ``PlaceDay`` unless only the detail answers."""
    if _fine(scope) or scope.district_id:
        return _detail(scope)
    qs = PlaceDayCounts.objects.all()
    state_id = _state_id(scope)
    if state_id is not None:
        qs = qs.filter(state_id=state_id)
    if scope.hub_id:
        qs = qs.filter(hub_id=scope.hub_id)
    return _dates(qs, scope)


def _place_days(scope: Scope) -> list[PlaceDay]:
    rows = (
        _place_rows(scope)
        .values("day", "opd_id", "hub_id")
        .annotate(
            consultations=Sum("consultations"),
            missed=Sum("missed"),
            **{b: Sum(b) for b in WAIT_BUCKETS},
        )
        .order_by("day")
    )
    return _build_place_days([r for r in rows if r["consultations"] or r["missed"]], scope)


def _build_place_days(rows: list[dict], scope: Scope, names: dict | None = None) -> list[PlaceDay]:
    """``PlaceDay``s of grouped rows (day, opd_id, hub_id, consultations, missed, the wait
    buckets), with each place's doctors rostered and who served, oldest first."""
    place_ids = {r["hub_id"] if r["hub_id"] != NO_PLACE else r["opd_id"] for r in rows}
    if names is None:
        names = dict(OnlineOPD.objects.filter(pk__in=place_ids).values_list("id", "name"))
        names.update(Facility.objects.filter(pk__in=place_ids).values_list("id", "name"))
    served = defaultdict(int)
    for day, place in (
        _dates(DoctorDay.objects.filter(place_id__in=place_ids), scope)
        .values_list("day", "place_id")
        .order_by()
    ):
        served[(day, place)] += 1
    rostered = _rostered(place_ids)
    merged: dict[tuple, dict] = {}
    for r in rows:
        is_hub = r["hub_id"] != NO_PLACE
        place = r["hub_id"] if is_hub else r["opd_id"]
        slot = merged.setdefault(
            (r["day"], place),
            {"kind": "hub" if is_hub else "opd", "consultations": 0, "missed": 0}
            | dict.fromkeys(WAIT_BUCKETS, 0),
        )
        for k in ("consultations", "missed", *WAIT_BUCKETS):
            slot[k] += int(r[k] or 0)
    out = []
    for (day, place), slot in sorted(merged.items(), key=lambda i: (i[0][0], str(i[0][1]))):
        asked = slot["consultations"] + slot["missed"]
        out.append(
            PlaceDay(
                day=day,
                place_id=place,
                place=names.get(place, str(place)),
                kind=slot["kind"],
                consultations=slot["consultations"],
                median_wait_minutes=wait_percentile(slot, 0.5),
                p90_wait_minutes=wait_percentile(slot, 0.9),
                missed=slot["missed"],
                missed_rate=slot["missed"] / asked if asked else None,
                doctors_rostered=len(rostered.get((place, day.weekday()), ())),
                doctors_served=served.get((day, place), 0),
            )
        )
    return out


def _latest_place_days(scope: Scope, limit: int) -> tuple[list[PlaceDay], int] | None:
    """The page's waits per OPD and hub: the first ``limit`` place-days of the scope, most
    recent day first then by name (as the page lists them), and how many there are, grouped,
    named, ordered and cut in the database (``PlaceDay`` joined to the names), so that a
    large state's thousands of hubs cost one read and ``limit`` rows. None when only the
    detail answers the scope (a district, a specialty, a facility)."""
    if _fine(scope) or scope.district_id:
        return None
    quote = connection.ops.quote_name
    field = PlaceDayCounts._meta.get_field
    sums = ", ".join(f"SUM(p.{quote(c)}) AS {quote(c)}" for c in ("missed", *WAIT_BUCKETS))
    where, params = ["p.day >= %s", "p.day <= %s"], [scope.start.isoformat(), scope.end.isoformat()]
    state_id = _state_id(scope)
    if state_id is not None:
        where.append("p.state_id = %s")
        params.append(state_id)
    if scope.hub_id:
        where.append("p.hub_id = %s")
        params.append(field("hub_id").get_db_prep_value(scope.hub_id, connection))
    sql = (
        "SELECT p.day, p.opd_id, p.hub_id, COALESCE(h.name, o.name, '') AS place_name,"
        f" SUM(p.consultations) AS consultations, {sums}, COUNT(*) OVER () AS place_days"
        f" FROM {quote(PlaceDayCounts._meta.db_table)} p"
        f" LEFT JOIN {quote(Facility._meta.db_table)} h ON h.id = p.hub_id"
        f" LEFT JOIN {quote(OnlineOPD._meta.db_table)} o ON o.id = p.opd_id"
        f" WHERE {' AND '.join(where)}"
        " GROUP BY p.day, p.opd_id, p.hub_id, h.name, o.name"
        " HAVING SUM(p.consultations) > 0 OR SUM(p.missed) > 0"
        " ORDER BY p.day DESC, place_name, p.hub_id, p.opd_id LIMIT %s"
    )
    with connections[router.db_for_read(PlaceDayCounts)].cursor() as cursor:
        cursor.execute(sql, [*params, limit])
        columns = [c[0] for c in cursor.description]
        fetched = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    to_uuid = field("hub_id").to_python
    to_day = field("day").to_python
    rows, names = [], {}
    for r in fetched:
        r["day"] = to_day(r["day"])
        r["opd_id"], r["hub_id"] = to_uuid(r["opd_id"]), to_uuid(r["hub_id"])
        place = r["hub_id"] if r["hub_id"] != NO_PLACE else r["opd_id"]
        if r["place_name"]:
            names[place] = r["place_name"]
        rows.append(r)
    total = int(fetched[0]["place_days"]) if fetched else 0
    return _build_place_days(rows, scope, names), total


def _spokes(scope: Scope) -> QuerySet:
    spokes = Facility.objects.filter(is_spoke=True, active=True)
    state_id = _state_id(scope)
    if state_id is not None:
        spokes = spokes.filter(state_id=state_id)
    if scope.district_id:
        spokes = spokes.filter(district_id=scope.district_id)
    if scope.facility_id:
        spokes = spokes.filter(pk=scope.facility_id)
    if scope.hub_id:  # the one join that can repeat a spoke
        spokes = spokes.filter(hub_links__hub_id=scope.hub_id, hub_links__active=True)
        return spokes.distinct()
    return spokes


def _quiet(scope: Scope, today: dt.date | None = None, days: int = 30) -> QuerySet:
    today = today or timezone.localdate()
    since = today - dt.timedelta(days=days - 1)
    # A request counts at its spoke only (not at a hub: see ``rollups.facts``), so only the
    # state narrows the look-up.
    asked = SpokeDay.objects.filter(day__gte=since, day__lte=today, tokens__gt=0)
    state_id = _state_id(scope)
    if state_id is not None:
        asked = asked.filter(state_id=state_id)
    return _spokes(scope).exclude(pk__in=asked.values("spoke_id"))


def quiet_spokes(
    scope: Scope, today: dt.date | None = None, days: int = 30, limit: int | None = None
) -> list[QuietSpoke]:
    """Active spokes in the scope that took no token (asked for no consultation) in the last
    ``days`` days, by name; the first ``limit`` when given."""
    spokes = _quiet(scope, today, days).select_related("district").order_by("name")
    if limit is not None:
        spokes = spokes[:limit]
    return [QuietSpoke(s.pk, s.code, s.name, s.district.name if s.district else "") for s in spokes]


#: The equity view's "per head": consultations per this many people.
PER_PEOPLE = 100_000
#: The equity view's order in SQL, over rows with ``served``, ``population``, ``name`` and
#: ``id``: those with a population first, fewest consultations per head first; then those
#: without, by count. The same order as ``_equity_order`` (the same float arithmetic).
EQUITY_ORDER = (
    "population IS NULL,"
    f" CAST(served AS DOUBLE PRECISION) * {PER_PEOPLE} / population, served, name, id"
)


def _equity_row(kind: str, pk: object, name: str, served: int, population: int | None) -> EquityRow:
    served = int(served or 0)
    per = served * PER_PEOPLE / population if population else None
    return EquityRow(kind, str(pk), name, served, population or None, per)


def _equity_order(row: EquityRow) -> tuple:
    """Known populations first, fewest consultations per head first; then the places whose
    population is not known, fewest consultations first (as ``EQUITY_ORDER``)."""
    return (row.per_100k is None, row.per_100k or 0.0, row.consultations, row.name)


def equity(scope: Scope, limit: int = 20, spokes_page: Callable | None = None) -> list[EquityRow]:
    """Districts, then spokes, with the fewest consultations per 100,000 people in the scope
    (those with none included), so that a populous district is not mistaken for a
    well-served one; those whose population is not known come after, ranked by count.
    ``spokes_page``: the spokes already ranked (``_spokes_page``), read with the quiet ones."""
    return _equity_districts(scope, limit) + _equity_spokes(scope, limit, spokes_page)


def _equity_districts(scope: Scope, limit: int) -> list[EquityRow]:
    fine = _fine(scope) or bool(scope.hub_id)  # a hub's districts: its spokes', in the detail
    source = _detail(scope) if fine else _grain(scope)
    by_district = dict(
        source.values_list("district_id").annotate(n=Sum("consultations")).order_by()
    )
    districts = District.objects.all()
    state_id = _state_id(scope)
    if state_id is not None:
        districts = districts.filter(state_id=state_id)
    if scope.district_id:
        districts = districts.filter(pk=scope.district_id)
    rows = [
        _equity_row("district", pk, name, by_district.get(pk) or 0, population)
        for pk, name, population in districts.values_list("pk", "name", "population").order_by()
    ]
    rows.sort(key=_equity_order)
    return rows[:limit]


def _equity_spokes(
    scope: Scope, limit: int, spokes_page: Callable | None = None
) -> list[EquityRow]:
    if _fine(scope) or scope.hub_id:
        # A hub's spokes (a handful), or a specialty or a facility: one grouped read of the
        # detail, the ranking here.
        detail = _detail(scope)
        by_spoke = dict(detail.values_list("spoke_id").annotate(n=Sum("consultations")).order_by())
        spokes = _spokes(scope).values_list("pk", "name", "catchment_population").order_by()
        return heapq.nsmallest(
            limit,
            (
                _equity_row("spoke", pk, name, by_spoke.get(pk) or 0, population)
                for pk, name, population in spokes
            ),
            key=_equity_order,
        )
    fewest = spokes_page() if spokes_page else _fewest_spokes(scope, _state_id(scope), limit)
    return [
        _equity_row("spoke", pk, name, served, population)
        for pk, name, served, population in fewest
    ]


def _spokes_page(
    scope: Scope, state_id: int | None, fewest: int, quiet: int
) -> tuple[list[tuple], list[QuietSpoke], int]:
    """The ``fewest`` spokes with the fewest consultations per head in the scope's days
    (``EQUITY_ORDER``) and the first ``quiet`` spokes (by name) that took no token in them,
    with the count of the quiet ones: one read of the spokes' days (``SpokeDay``) for both
    lists, when the period is also the quiet spokes' window (the page's default: the 30
    days up to today). The ranked rows are (id, name, served, catchment population)."""
    quote = connection.ops.quote_name
    joined = ["s.day >= %s", "s.day <= %s"]
    params: list = [scope.start.isoformat(), scope.end.isoformat()]
    where, outer = ["f.is_spoke = %s", "f.active = %s"], [True, True]
    if state_id is not None:
        joined.append("s.state_id = %s")
        params.append(state_id)
        where.append("f.state_id = %s")
        outer.append(state_id)
    if scope.district_id:
        joined.append("s.district_id = %s")
        params.append(scope.district_id)
        where.append("f.district_id = %s")
        outer.append(scope.district_id)
    # A month of a spoke's counts fits an integer: summed as integers (PostgreSQL sums
    # bigints as numeric); the district's name joined to the shown quiet spokes only.
    sql = (
        "WITH n AS (SELECT s.spoke_id, SUM(CAST(s.consultations AS INTEGER)) AS served,"
        " SUM(CAST(s.tokens AS INTEGER)) AS asked"
        f" FROM {quote(SpokeDay._meta.db_table)} s WHERE {' AND '.join(joined)}"
        " GROUP BY s.spoke_id),"
        " sp AS (SELECT f.id, f.code, f.name, f.district_id,"
        " f.catchment_population AS population,"
        " COALESCE(n.served, 0) AS served, COALESCE(n.asked, 0) AS asked"
        f" FROM {quote(Facility._meta.db_table)} f"
        f" LEFT JOIN n ON n.spoke_id = f.id WHERE {' AND '.join(where)})"
        # The fewest cut first (a top-N sort of the state's spokes), numbered after: a
        # window over every spoke would sort them all.
        " SELECT * FROM (SELECT 'fewest' AS part, id, code, name, '' AS district, served,"
        f" population, 0 AS total, ROW_NUMBER() OVER (ORDER BY {EQUITY_ORDER}) AS place"
        " FROM (SELECT id, code, name, served, population FROM sp"
        f" ORDER BY {EQUITY_ORDER} LIMIT %s) f) e"
        " UNION ALL SELECT q.part, q.id, q.code, q.name, d.name, q.served, q.population,"
        " q.total, q.place"
        " FROM (SELECT 'quiet' AS part, id, code, name, district_id, served, population,"
        " COUNT(*) OVER () AS total, ROW_NUMBER() OVER (ORDER BY name, id) AS place"
        " FROM sp WHERE asked = 0 ORDER BY name, id LIMIT %s) q"
        f" LEFT JOIN {quote(District._meta.db_table)} d ON d.id = q.district_id"
    )
    to_uuid = Facility._meta.pk.to_python
    ranked, shown, count = [], [], 0
    with connections[router.db_for_read(Facility)].cursor() as cursor:
        cursor.execute(sql, [*params, *outer, fewest, quiet])
        # Each list in its order whatever order the union and the join return them in.
        rows = sorted(cursor.fetchall(), key=lambda row: (row[0], row[8]))
        for part, pk, code, name, district, served, population, total, _place in rows:
            if part == "fewest":
                ranked.append((to_uuid(pk), name, int(served), population))
            else:
                shown.append(QuietSpoke(to_uuid(pk), code, name, district or ""))
                count = int(total)
    return ranked, shown, count


def _fewest_spokes(scope: Scope, state_id: int | None, limit: int) -> list[tuple]:
    """The ``limit`` spokes of a state or district (or the country) with the fewest
    consultations per head in the scope's days (``EQUITY_ORDER``: those of unknown
    catchment after, by count): ranked in the database, one read of the spokes' days
    (``SpokeDay``) joined to the spokes, so only ``limit`` rows come back however many
    spokes the state has. Rows of (id, name, served, catchment population)."""
    quote = connection.ops.quote_name
    facility = quote(Facility._meta.db_table)
    counts = quote(SpokeDay._meta.db_table)
    where, joined, params = [], [], []
    if scope.start:
        joined.append("s.day >= %s")
        params.append(scope.start.isoformat())
    if scope.end:
        joined.append("s.day <= %s")
        params.append(scope.end.isoformat())
    if state_id is not None:
        joined.append("s.state_id = %s")
        params.append(state_id)
        where.append("f.state_id = %s")
    if scope.district_id:
        joined.append("s.district_id = %s")
        params.append(scope.district_id)
        where.append("f.district_id = %s")
    outer = [state_id] if state_id is not None else []
    outer += [scope.district_id] if scope.district_id else []
    # Summed as integers, as in ``_spokes_page`` (a spoke's counts of a period fit one).
    sql = (
        "SELECT id, name, served, population FROM (SELECT f.id, f.name,"
        " f.catchment_population AS population, COALESCE(n.consultations, 0) AS served"
        f" FROM {facility} f LEFT JOIN (SELECT s.spoke_id,"
        " SUM(CAST(s.consultations AS INTEGER)) AS consultations"
        f" FROM {counts} s{' WHERE ' + ' AND '.join(joined) if joined else ''}"
        " GROUP BY s.spoke_id) n ON n.spoke_id = f.id"
        " WHERE f.is_spoke = %s AND f.active = %s"
        + "".join(f" AND {w}" for w in where)
        + f") sp ORDER BY {EQUITY_ORDER} LIMIT %s"
    )
    id_field = Facility._meta.pk
    with connections[router.db_for_read(Facility)].cursor() as cursor:
        cursor.execute(sql, [*params, True, True, *outer, limit])
        return [
            (id_field.to_python(pk), name, int(served), population)
            for pk, name, served, population in cursor.fetchall()
        ]


OPERATIONS_DAYS = 30
#: The days before the period's last whose waits per place the page shows.
PLACE_DAYS_SHOWN = dt.timedelta(days=1)
#: The quiet spokes an operations view keeps (the page shows them; the export has all).
QUIET_SHOWN = 50
#: The place-days an operations view keeps (the latest first; the export has all).
PLACES_SHOWN = 50
#: The districts and spokes with the fewest consultations per head an operations view keeps.
EQUITY_SHOWN = 20
#: A spoke is quiet when it took no token in this many days up to today.
QUIET_DAYS = 30


def bounded(scope: Scope, today: dt.date | None = None) -> Scope:
    """``scope`` with its dates, else the ``OPERATIONS_DAYS`` days up to its end (or
    today): what operations and their exports read, never all of history."""
    today = today or timezone.localdate()
    end = scope.end or max(today, scope.start or today)
    start = scope.start or end - dt.timedelta(days=OPERATIONS_DAYS - 1)
    return replace(scope, start=start, end=end)


def operations(scope: Scope, today: dt.date | None = None, with_spokes: bool = True) -> Operations:
    """The state and hub dashboards' operations view for ``scope``: its date range, else
    the ``OPERATIONS_DAYS`` days up to its end (so that the page costs the same after years
    of service: its reads never span all of history). ``with_spokes=False``: without the
    spokes' lists (a state's page links them: ``spoke_lists``)."""
    with resolving():
        return _operations(scope, today or timezone.localdate(), with_spokes)


def spoke_lists(scope: Scope, today: dt.date | None = None) -> SpokeLists:
    """The spokes' lists of ``scope``'s operations view (same period): the first
    ``QUIET_SHOWN`` quiet spokes with their count, and the ``EQUITY_SHOWN`` spokes with the
    fewest consultations per head (``equity``)."""
    with resolving():
        today = today or timezone.localdate()
        scope = bounded(scope, today)
        quiet, count, ranked = _quiet_and_fewest(scope, today)
        return SpokeLists(
            quiet_spokes=quiet,
            quiet_spoke_count=count,
            fewest=_equity_spokes(scope, EQUITY_SHOWN, ranked),
            start=scope.start,
            end=scope.end,
        )


def _quiet_and_fewest(
    scope: Scope, today: dt.date
) -> tuple[list[QuietSpoke], int, Callable | None]:
    """The quiet spokes shown, their count, and the fewest-served spokes when read with
    them (one read of the spokes' days when the period is the quiet window, the default)."""
    window = (today - dt.timedelta(days=QUIET_DAYS - 1), today)
    if not (_fine(scope) or scope.hub_id) and (scope.start, scope.end) == window:
        ranked, quiet, quiet_count = _spokes_page(
            scope, _state_id(scope), EQUITY_SHOWN, QUIET_SHOWN
        )
        return quiet, quiet_count, lambda: ranked
    quiet, quiet_count = _quiet_shown(scope, today)
    return quiet, quiet_count, None


def _quiet_shown(scope: Scope, today: dt.date) -> tuple[list[QuietSpoke], int]:
    """The first ``QUIET_SHOWN`` quiet spokes and the count of them all, in one read (the
    count as a window over the same rows) unless a hub's links could repeat a spoke."""
    if scope.hub_id:
        return quiet_spokes(scope, today, limit=QUIET_SHOWN), _quiet(scope, today).count()
    rows = list(
        _quiet(scope, today)
        .select_related("district")
        .annotate(quiet_total=Window(Count("pk")))
        .order_by("name")[:QUIET_SHOWN]
    )
    shown = [QuietSpoke(s.pk, s.code, s.name, s.district.name if s.district else "") for s in rows]
    return shown, (rows[0].quiet_total if rows else 0)


def _operations(scope: Scope, today: dt.date, with_spokes: bool = True) -> Operations:
    scope = bounded(scope, today)
    totals = _sum(_grain(scope), "consultations", "women", "seniors", *HOURS, *WAIT_BUCKETS)
    done = totals["consultations"]
    if with_spokes:
        quiet, quiet_count, spokes_page = _quiet_and_fewest(scope, today)
        ranked_equity = equity(scope, EQUITY_SHOWN, spokes_page)
    else:
        quiet, quiet_count, ranked_equity = [], 0, _equity_districts(scope, EQUITY_SHOWN)
    # The page shows the latest place-days; the export (``table_rows("waits")``) has every
    # day of the period. Over a month a large state has tens of thousands.
    latest = replace(scope, start=max(scope.start, scope.end - PLACE_DAYS_SHOWN))
    page = _latest_place_days(latest, PLACES_SHOWN)
    if page is None:
        places = _place_days(latest)
        page = places, len(places)
    return Operations(
        places=page[0],
        place_count=page[1],
        busiest_hours=[totals[h] for h in HOURS],
        women_share=totals["women"] / done if done else None,
        senior_share=totals["seniors"] / done if done else None,
        quiet_spokes=quiet,
        quiet_spoke_count=quiet_count,
        equity=ranked_equity,
        wait_histogram={b: totals[b] for b in WAIT_BUCKETS},
        start=scope.start,
        end=scope.end,
        with_spokes=with_spokes,
    )


# --- exports ----------------------------------------------------------------------------

TABLES = ("states", "trend", "waits", "hours", "equity", "quiet_spokes")


def table_rows(name: str, scope: Scope) -> tuple[list[str], Iterator[list]]:
    """The header and the rows (a generator, for a streamed CSV) of the named table;
    ``KeyError`` for a name not in ``TABLES``."""
    if name == "states":
        header = ["code", "state", "consultations"]
        return header, ([r.code, r.name, r.consultations] for r in state_ranking(scope))
    if name == "trend":
        header = ["day", "consultations", *LINES]
        return header, (
            [r.day.isoformat(), r.consultations, *(r.by_line[line] for line in LINES)]
            for r in daily_trend(scope)
        )
    if name == "waits":
        header = [
            "day", "place", "kind", "consultations", "median_wait_minutes",
            "p90_wait_minutes", "missed", "missed_rate", "doctors_rostered", "doctors_served",
        ]  # fmt: skip
        return header, (
            [
                r.day.isoformat(),
                r.place,
                r.kind,
                r.consultations,
                r.median_wait_minutes,
                r.p90_wait_minutes,
                r.missed,
                None if r.missed_rate is None else round(r.missed_rate, 4),
                r.doctors_rostered,
                r.doctors_served,
            ]  # fmt: skip
            for r in _place_days(bounded(scope))
        )
    if name == "hours":
        counts = _sum(_grain(bounded(scope)), *HOURS)
        return ["hour", "consultations"], ([h, counts[n]] for h, n in enumerate(HOURS))
    if name == "equity":
        # Empty population and per-100,000 cells: the population is not known.
        header = ["kind", "id", "name", "consultations", "population", "per_100k"]
        return header, (
            [
                r.kind,
                r.id,
                r.name,
                r.consultations,
                r.population,
                None if r.per_100k is None else round(r.per_100k, 2),
            ]
            for r in equity(bounded(scope), limit=10**9)
        )
    if name == "quiet_spokes":
        return ["code", "name", "district"], (
            [s.code, s.name, s.district] for s in quiet_spokes(scope)
        )
    raise KeyError(name)
