"""Every figure of ``dashboard.figures`` (read from the rollups) equals the same figure
computed from the raw rows (consultations, tickets, presences, the registry), for the
hand-made scenario of ``tests.rollups.scenario``: two states, both service lines, an IST
midnight, and every kind of ending."""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter

import pytest
from django.utils import timezone

from sanjeevani.consultations.models import Consultation
from sanjeevani.dashboard import figures
from sanjeevani.dashboard.figures import Scope
from sanjeevani.hwc.models import Case
from sanjeevani.queueing.models import DoctorPresence, Ticket
from sanjeevani.registry.models import Facility, OnlineOPD, RosterShift, State
from sanjeevani.rollups.models import WAIT_EDGES_MINUTES
from tests.rollups import conftest as scenario_fixtures
from tests.rollups.scenario import COMPLETED, D, age_on, place_state

pytestmark = pytest.mark.django_db
# The scenario's fixtures (its clock, a signing key, the world it builds).
clock = scenario_fixtures.clock
signing_key = scenario_fixtures.signing_key
world = scenario_fixtures.world
NEXT = D + dt.timedelta(days=1)


def completed(state=None, day=None, **filters) -> list[Consultation]:
    """Completed consultations from the raw rows, by the state where care happened and
    the IST day they ended."""
    rows = Consultation.objects.filter(outcome__in=COMPLETED, **filters).select_related(
        "opd", "spoke", "hub", "patient", "ticket"
    )
    return [
        c
        for c in rows
        if (state is None or place_state(c) == state.pk)
        and (day is None or timezone.localdate(c.ended_at) == day)
    ]


def by_line(rows) -> dict[str, int]:
    """Per service line, from the raw rows: a hub-and-spoke case sent for a written answer
    is store and forward."""
    written = set(Case.objects.filter(mode="store_forward").values_list("ticket_id", flat=True))
    counts = Counter("store_forward" if c.ticket_id in written else c.service_line for c in rows)
    return {line: counts.get(line, 0) for line in ("opd", "hub_spoke", "store_forward")}


def test_the_national_headline(world):
    everything = completed()
    today = completed(day=NEXT)
    got = figures.headline(Scope(), today=NEXT)
    assert got == figures.Headline(
        consultations_to_date=len(everything),
        consultations_today=len(today),
        patients_served=len({c.patient_id for c in everything}),
        by_line=by_line(everything),
        hubs=Facility.objects.filter(active=True, is_hub=True).count(),
        spokes=Facility.objects.filter(active=True, is_spoke=True).count(),
        opds_general=OnlineOPD.objects.filter(active=True, specialty__isnull=True).count(),
        opds_specialist=OnlineOPD.objects.filter(active=True, specialty__isnull=False).count(),
        doctors_today=len({c.doctor_id for c in today}),
    )
    assert got.consultations_to_date == 7 and got.consultations_today == 2
    assert got.by_line == {"opd": 5, "hub_spoke": 1, "store_forward": 1}


@pytest.mark.parametrize("which", ["a", "b"])
def test_a_states_headline_on_each_side_of_midnight(world, which):
    state = world.state_a if which == "a" else world.state_b
    for day in (D, NEXT):
        rows = completed(state)
        got = figures.headline(Scope(state_code=state.code), today=day)
        assert got.consultations_to_date == len(rows)
        assert got.consultations_today == len(completed(state, day))
        assert got.patients_served == len({c.patient_id for c in rows})
        assert got.by_line == by_line(rows)
        assert got.doctors_today == len({c.doctor_id for c in completed(state, day)})
        assert got.hubs == Facility.objects.filter(state=state, is_hub=True).count()


def test_a_date_range_and_a_hub_and_a_specialty(world):
    on_d = figures.headline(Scope(start=D, end=D), today=D)
    assert on_d.consultations_to_date == len(completed(day=D)) == 5
    network = world.network
    hub = figures.headline(Scope(hub_id=network.hub_a.pk), today=D)
    assert hub.consultations_to_date == len(completed(hub=network.hub_a)) == 1
    assert (hub.hubs, hub.spokes) == (1, 1)
    assert hub.doctors_today == 1
    general = figures.headline(
        Scope(state_code=world.state_b.code, specialty_code="general-medicine")
    )
    assert general.consultations_to_date == len(completed(world.state_b)) == 2
    skin = figures.headline(Scope(state_code=world.state_b.code, specialty_code="dermatology"))
    assert skin.consultations_to_date == 0
    nowhere = figures.headline(Scope(state_code="NOPE"))
    assert nowhere.consultations_to_date == 0 and nowhere.hubs == 0


def test_the_ranking_of_states(world):
    ranking = figures.state_ranking(Scope())
    assert len(ranking) == State.objects.count()
    expected = Counter(place_state(c) for c in completed())
    codes = dict(State.objects.values_list("code", "id"))
    assert {r.code: r.consultations for r in ranking} == {
        code: expected.get(pk, 0) for code, pk in codes.items()
    }
    assert [r.code for r in ranking[:2]] == [world.state_a.code, world.state_b.code]
    assert [r.consultations for r in ranking] == sorted(
        (r.consultations for r in ranking), reverse=True
    )
    assert figures.state_ranking(Scope(), limit=1) == ranking[:1]
    on_next = figures.state_ranking(Scope(start=NEXT, end=NEXT), limit=1)[0]
    assert on_next.consultations == len(completed(day=NEXT))


def test_the_daily_trend_zero_filled(world):
    trend = figures.daily_trend(Scope(), days=4, today=NEXT)
    days = [D - dt.timedelta(days=2), D - dt.timedelta(days=1), D, NEXT]
    assert [r.day for r in trend] == days
    for row in trend:
        rows = completed(day=row.day)
        assert row.consultations == len(rows)
        assert row.by_line == by_line(rows)
    assert [r.consultations for r in trend] == [0, 0, 5, 2]
    state_b = figures.daily_trend(Scope(state_code=world.state_b.code), days=2, today=NEXT)
    assert [r.consultations for r in state_b] == [2, 0]


def test_live_now_comes_from_the_queue(world):
    online = DoctorPresence.objects.filter(status__in=("available", "busy"))
    got = figures.live_now(Scope())
    assert got == figures.Live(
        waiting=Ticket.objects.filter(status="waiting").count(), doctors_online=online.count()
    )
    assert got.waiting == 1
    state_a = figures.live_now(Scope(state_code=world.state_a.code))
    assert state_a == figures.Live(waiting=1, doctors_online=1)
    hub = figures.live_now(Scope(hub_id=world.network.hub_a.pk))
    assert hub == figures.Live(waiting=0, doctors_online=1)


def _bucket_bounds(minutes: float) -> tuple[float, float]:
    lower = 0.0
    for edge in WAIT_EDGES_MINUTES:
        if minutes < edge:
            return lower, float(edge)
        lower = float(edge)
    return lower, float(WAIT_EDGES_MINUTES[-1])


def test_operations_per_opd_and_hub_per_day(world):
    RosterShift.objects.create(
        doctor=world.doctor, opd=world.opd, weekday=D.weekday(), start_minute=0, end_minute=1440
    )
    ops = figures.operations(Scope(state_code=world.state_a.code), today=NEXT)
    rows = {(r.day, r.place_id): r for r in ops.places}
    assert set(rows) == {(D, world.opd.pk), (NEXT, world.opd.pk)}
    for (day, _place), row in rows.items():
        done = completed(world.state_a, day)
        missed = [
            c
            for c in Consultation.objects.filter(outcome="no_show", opd=world.opd)
            if timezone.localdate(c.ended_at) == day
        ]
        assert (row.consultations, row.missed) == (len(done), len(missed))
        assert row.missed_rate == len(missed) / (len(done) + len(missed))
        assert row.doctors_served == len({c.doctor_id for c in done})
        assert row.doctors_rostered == (1 if day == D else 0)
        waits = [(c.started_at - c.ticket.created_at).total_seconds() / 60 for c in done]
        for fraction, got in ((0.5, row.median_wait_minutes), (0.9, row.p90_wait_minutes)):
            true = sorted(waits)[math.ceil(fraction * len(waits)) - 1]
            assert _bucket_bounds(true)[1] == got
    assert rows[(D, world.opd.pk)].missed_rate == 0.5  # 3 of 6
    done = completed(world.state_a)
    hours = Counter(timezone.localtime(c.ended_at).hour for c in done)
    assert ops.busiest_hours == [hours.get(h, 0) for h in range(24)]
    assert ops.women_share == sum(c.patient.sex == "F" for c in done) / len(done)
    seniors = sum(age_on(c.patient, timezone.localdate(c.ended_at)) >= 60 for c in done)
    assert ops.senior_share == seniors / len(done)


def test_hub_operations_quiet_spokes_and_equity(world):
    network = world.network
    ops = figures.operations(Scope(state_code=world.state_b.code), today=NEXT)
    places = {(r.day, r.place): (r.kind, r.consultations, r.missed) for r in ops.places}
    assert places == {
        (D, network.hub_a.name): ("hub", 1, 0),
        (D, network.district.name): ("hub", 1, 0),
        (NEXT, network.hub_a.name): ("hub", 0, 1),
    }
    # hub A also acts as a spoke (of the district hospital) and asked for nothing.
    assert [s.id for s in ops.quiet_spokes] == [network.hub_a.pk]
    months_later = figures.quiet_spokes(
        Scope(state_code=world.state_b.code), NEXT + dt.timedelta(days=30)
    )
    assert {s.id for s in months_later} == {network.hub_a.pk, network.spoke.pk}
    spokes = [(r.name, r.consultations) for r in ops.equity if r.kind == "spoke"]
    assert spokes == [(network.hub_a.name, 0), (network.spoke.name, 2)]
    hub_view = figures.operations(Scope(hub_id=network.hub_a.pk), today=NEXT)
    assert {r.place for r in hub_view.places} == {network.hub_a.name}
    assert hub_view.quiet_spokes == []  # its one spoke asked


def test_equity_per_head_puts_a_spoke_of_unknown_population_after_the_others(world):
    """State B's two spokes: hub A (also a spoke) asked for nothing, the spoke was served
    twice. By count hub A comes first; per head, the spoke (2 for 1,000 people: 200 per
    100,000) comes first, and hub A, whose catchment is not known, after it."""
    network = world.network
    Facility.objects.filter(pk=network.spoke.pk).update(catchment_population=1_000)
    scope = Scope(state_code=world.state_b.code)
    expected = [(network.spoke.name, 2, 1_000, 200.0), (network.hub_a.name, 0, None, None)]
    ops = figures.operations(scope, today=NEXT)
    spokes = [(r.name, r.consultations, r.population, r.per_100k) for r in ops.equity]
    assert [row for row in spokes if row[0] in {n for n, *_ in expected}] == expected
    header, rows = figures.table_rows("equity", scope)
    exported = {row[2]: row[3:] for row in rows if row[0] == "spoke"}
    assert exported[network.spoke.name] == [2, 1_000, 200.0]
    assert exported[network.hub_a.name] == [0, None, None]  # empty cells in the CSV


def test_every_table_exports_with_its_header(world):
    scope = Scope(state_code=world.state_a.code)
    for name in figures.TABLES:
        header, rows = figures.table_rows(name, scope)
        rows = list(rows)
        assert header and all(len(row) == len(header) for row in rows), name
    assert figures.table_rows("equity", scope)[0] == [
        "kind", "id", "name", "consultations", "population", "per_100k",
    ]  # fmt: skip
    header, rows = figures.table_rows("states", Scope())
    assert len(list(rows)) == State.objects.count()
    with pytest.raises(KeyError):
        figures.table_rows("passwords", scope)


def test_the_page_keeps_the_latest_place_days_and_counts_them_all(world, monkeypatch):
    """The operations view keeps the first place-days as the page lists them (latest day
    first, then by name), cut in the database, and counts them all; they are the rows the
    full computation (the export's) gives."""
    for state in (world.state_a, world.state_b):
        scope = figures.bounded(Scope(state_code=state.code), NEXT)
        full = sorted(figures._place_days(scope), key=lambda r: (-r.day.toordinal(), r.place))
        assert full
        for limit in (1, 50):
            page, total = figures._latest_place_days(scope, limit)
            page = sorted(page, key=lambda r: (-r.day.toordinal(), r.place))
            assert (page, total) == (full[:limit], len(full))
    monkeypatch.setattr(figures, "PLACES_SHOWN", 1)
    ops = figures.operations(Scope(state_code=world.state_b.code), today=NEXT)
    assert len(ops.places) == 1
    assert ops.place_count == 3
