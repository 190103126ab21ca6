"""The operations view reads a bounded period: the chosen dates, else the 30 days up to
today, so that a state's page costs the same after years of service; and the equity list
ranks every spoke of the scope, those with no consultation first."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from sanjeevani.dashboard import figures
from sanjeevani.dashboard.figures import Scope
from sanjeevani.rollups.models import GRAINS, NO_PLACE, DayDetail, SpokeDay
from sanjeevani.rollups.services import increment
from tests.factories import DistrictFactory, FacilityFactory

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 12, 2)


def served(spoke, day: dt.date, n: int) -> None:
    key = {
        "day": day,
        "state_id": spoke.state_id,
        "district_id": spoke.district_id,
        "service_line": "hub_spoke",
        "specialty_id": 0,
        "opd_id": NO_PLACE,
        "hub_id": NO_PLACE,
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
