"""The operations view reads a bounded period: the chosen dates, else the 30 days up to
today, so that a state's page costs the same after years of service; and the equity list
ranks every spoke of the scope, fewest consultations per 100,000 people first, those of
unknown population after (by count, those with no consultation first)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from sanjeevani.dashboard import figures
from sanjeevani.dashboard.figures import Scope
from sanjeevani.rollups.models import GRAINS, NO_PLACE, DayDetail, SpokeDay
from sanjeevani.rollups.services import increment
from tests.factories import DistrictFactory, FacilityFactory, HubFactory, HubSpokeLinkFactory

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 12, 2)


def served(spoke, day: dt.date, n: int, hub=None) -> None:
    key = {
        "day": day,
        "state_id": spoke.state_id,
        "district_id": spoke.district_id,
        "service_line": "hub_spoke",
        "specialty_id": 0,
        "opd_id": NO_PLACE,
        "hub_id": hub.pk if hub is not None else NO_PLACE,
        "spoke_id": spoke.pk,
    }
    # ``increment`` takes values as the database holds them (its callers read them by SQL).
    prepared = {
        name: DayDetail._meta.get_field(name).get_db_prep_value(value, connection)
        for name, value in key.items()
    }
    counts = {"consultations": n, "hour_10": n}
    for model in GRAINS:  # as the live counting adds a fact to every grain
        if "day" in model.KEY and (model is not SpokeDay or spoke.pk):
            increment(
                model,
                {name: prepared[name] for name in model.KEY},
                {name: v for name, v in counts.items() if name in model.COUNTERS},
            )


@pytest.fixture
def spokes():
    district = DistrictFactory()
    make = lambda name: FacilityFactory(  # noqa: E731
        name=name, state=district.state, district=district, is_spoke=True
    )
    return district.state, make("Alpha HWC"), make("Bravo HWC"), make("Charlie HWC")


def test_without_dates_the_last_30_days_count(spokes):
    state, alpha, bravo, _charlie = spokes
    served(alpha, TODAY - dt.timedelta(days=29), 3)  # the 30th day back: inside
    served(alpha, TODAY - dt.timedelta(days=30), 100)  # the 31st: outside
    served(bravo, TODAY, 2)
    ops = figures.operations(Scope(state_code=state.code), today=TODAY)
    assert (ops.start, ops.end) == (TODAY - dt.timedelta(days=29), TODAY)
    assert ops.busiest_hours[10] == 5


def test_chosen_dates_win_and_an_end_alone_reads_30_days_before_it(spokes):
    state, alpha, _bravo, _charlie = spokes
    served(alpha, dt.date(2025, 1, 10), 7)
    served(alpha, dt.date(2024, 12, 1), 11)
    ranged = Scope(state_code=state.code, start=dt.date(2024, 12, 1), end=dt.date(2025, 1, 31))
    assert figures.operations(ranged, today=TODAY).busiest_hours[10] == 18
    ending = Scope(state_code=state.code, end=dt.date(2025, 1, 31))
    ops = figures.operations(ending, today=TODAY)
    assert (ops.start, ops.end) == (dt.date(2025, 1, 2), dt.date(2025, 1, 31))
    assert ops.busiest_hours[10] == 7


def test_equity_ranks_every_spoke_fewest_first_with_the_unserved_at_the_top(spokes):
    state, alpha, bravo, charlie = spokes
    served(alpha, TODAY, 9)
    served(bravo, TODAY, 4)
    ops = figures.operations(Scope(state_code=state.code), today=TODAY)
    ranked = [(r.name, r.consultations) for r in ops.equity if r.kind == "spoke"]
    assert ranked == [("Charlie HWC", 0), ("Bravo HWC", 4), ("Alpha HWC", 9)]
    assert [r.name for r in figures.equity(Scope(state_code=state.code), limit=1)][-1] == (
        "Charlie HWC"
    )


def test_the_page_keeps_the_first_quiet_spokes_and_counts_them_all(spokes, monkeypatch):
    state, alpha, _bravo, _charlie = spokes
    monkeypatch.setattr(figures, "QUIET_SHOWN", 1)
    served(alpha, TODAY, 1)  # served, but only a token counts as asking: all three are quiet
    ops = figures.operations(Scope(state_code=state.code), today=TODAY)
    assert [s.name for s in ops.quiet_spokes] == ["Alpha HWC"]
    assert ops.quiet_spoke_count == 3
    assert len(figures.quiet_spokes(Scope(state_code=state.code), today=TODAY)) == 3


# --- per head -------------------------------------------------------------------------------


def _spokes(rows) -> list[tuple]:
    return [(r.name, r.consultations, r.population, r.per_100k) for r in rows if r.kind == "spoke"]


#: Alpha: 9 for 100,000 people (9 per 100,000); Bravo: 4 for 5,000 (80); Charlie and Delta:
#: population not known, 0 and 2. By count the order would be Charlie, Delta, Bravo, Alpha.
PER_HEAD = [
    ("Alpha HWC", 9, 100_000, 9.0),
    ("Bravo HWC", 4, 5_000, 80.0),
    ("Charlie HWC", 0, None, None),
    ("Delta HWC", 2, None, None),
]


@pytest.fixture
def per_head(spokes):
    state, alpha, bravo, charlie = spokes
    delta = FacilityFactory(name="Delta HWC", state=state, district=alpha.district, is_spoke=True)
    for spoke, people in ((alpha, 100_000), (bravo, 5_000)):
        spoke.catchment_population = people
        spoke.save(update_fields=["catchment_population"])
    served(alpha, TODAY, 9)
    served(bravo, TODAY, 4)
    served(delta, TODAY, 2)
    return state, alpha, bravo, charlie, delta


def test_equity_ranks_spokes_per_head_and_those_of_unknown_population_after(per_head):
    state = per_head[0]
    scope = Scope(state_code=state.code)
    # The page's default period: read with the quiet spokes (``_spokes_page``).
    assert _spokes(figures.operations(scope, today=TODAY).equity) == PER_HEAD
    assert _spokes(figures.spoke_lists(scope, today=TODAY).fewest) == PER_HEAD
    # Other dates and the export: the spokes ranked alone (``_fewest_spokes``).
    dated = Scope(state_code=state.code, start=TODAY - dt.timedelta(days=3), end=TODAY)
    assert _spokes(figures.operations(dated, today=TODAY).equity) == PER_HEAD
    assert _spokes(figures.equity(dated, limit=2)) == PER_HEAD[:2]  # cut in the database
    header, rows = figures.table_rows("equity", dated)
    exported = [row for row in rows if row[0] == "spoke"]
    assert header[-2:] == ["population", "per_100k"]
    assert [(r[2], r[3], r[4], r[5]) for r in exported] == PER_HEAD


def test_a_hubs_spokes_are_ranked_per_head_too(per_head):
    state, alpha, bravo, charlie, delta = per_head
    hub = HubFactory(state=state, district=alpha.district)
    for spoke in (alpha, bravo, charlie, delta):
        HubSpokeLinkFactory(hub=hub, spoke=spoke)
    served(alpha, TODAY, 9, hub)
    served(bravo, TODAY, 4, hub)
    served(delta, TODAY, 2, hub)
    ops = figures.operations(Scope(state_code=state.code, hub_id=hub.pk), today=TODAY)
    assert _spokes(ops.equity) == PER_HEAD  # the hub's own consultations: the same counts


def test_equity_ranks_districts_per_head_on_the_states_page(spokes):
    state, alpha, bravo, _charlie = spokes
    big = alpha.district  # Alpha, Bravo and Charlie's district
    big.population = 2_000_000
    big.save(update_fields=["population"])
    small = DistrictFactory(state=state, name="Small", population=50_000)
    DistrictFactory(state=state, name="Unknown")  # no consultation: first by count alone
    served(alpha, TODAY, 30)
    served(bravo, TODAY, 10)  # 40 for 2 million: 2 per 100,000
    served(FacilityFactory(state=state, district=small, is_spoke=True), TODAY, 5)  # 10
    ops = figures.operations(Scope(state_code=state.code), today=TODAY, with_spokes=False)
    assert [(r.name, r.consultations, r.population, r.per_100k) for r in ops.equity] == [
        (big.name, 40, 2_000_000, 2.0),
        ("Small", 5, 50_000, 10.0),
        ("Unknown", 0, None, None),
    ]
