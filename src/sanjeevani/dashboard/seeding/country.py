"""The shape of the synthetic country: how many districts, spokes, hubs and OPDs each state
has, and how the consultations split between states, service lines, outcomes and years.

Pure data and arithmetic (no database), so a test can hold the seeded rows to the plan.
The figures follow the public reports of eSanjeevani (``../shared/DOMAIN.md``, "Scale of the
real service"); where the reports are silent the numbers are plausible guesses, named here.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from typing import Any

#: The national service in February 2023 (public figures).
FULL_SPOKES = 115_234
FULL_HUBS = 15_731
FULL_OPDS = 1_152
#: ``--small``: two states and a few hundred spokes, the national proportions kept.
SMALL_STATES = ("AP", "TN")
SMALL_SPOKES = 400

#: Districts per state and union territory (Local Government Directory, 2024: about 780).
#: Where ``registry/data/districts.csv`` lacks a state's real names, the missing ones are
#: made up as "<State> district N" (see docs/registry-import.md, "National-scale data").
DISTRICTS = {
    "AN": 3, "AP": 26, "AR": 26, "AS": 35, "BR": 38, "CH": 1, "CG": 33, "DH": 3, "DL": 11,
    "GA": 2, "GJ": 33, "HR": 22, "HP": 12, "JK": 20, "JH": 24, "KA": 31, "KL": 14, "LA": 2,
    "LD": 1, "MP": 55, "MH": 36, "MN": 16, "ML": 12, "MZ": 11, "NL": 16, "OD": 30, "PY": 4,
    "PB": 23, "RJ": 50, "SK": 6, "TN": 38, "TG": 33, "TR": 8, "UP": 75, "UK": 13, "WB": 23,
}  # fmt: skip

#: Share of consultations (per cent): Andhra Pradesh first, then Tamil Nadu, West Bengal,
#: Karnataka, Uttar Pradesh (the leading states of the public dashboard, 2023-2025).
CONSULTATION_SHARE = {
    "AP": 24.0, "TN": 11.0, "WB": 10.0, "KA": 9.0, "UP": 8.0, "MH": 4.5, "TG": 4.0,
    "GJ": 3.5, "MP": 3.3, "BR": 3.0, "RJ": 2.6, "OD": 2.4, "KL": 1.8, "AS": 1.7, "JH": 1.5,
    "CG": 1.4, "HR": 1.2, "PB": 1.0, "HP": 0.8, "UK": 0.7, "JK": 0.7, "DL": 0.5, "TR": 0.4,
    "ML": 0.3, "MN": 0.3, "NL": 0.2, "AR": 0.2, "MZ": 0.2, "GA": 0.2, "SK": 0.1, "PY": 0.2,
    "CH": 0.1, "DH": 0.1, "AN": 0.05, "LA": 0.05, "LD": 0.02,
}  # fmt: skip
#: Facilities follow population more than use: the spoke and hub shares blend the two.
POPULATION_SHARE = {
    "UP": 16.5, "MH": 9.3, "BR": 8.6, "WB": 7.5, "MP": 6.0, "TN": 6.0, "RJ": 5.7, "KA": 5.0,
    "GJ": 5.0, "AP": 4.1, "OD": 3.5, "TG": 2.9, "KL": 2.8, "JH": 2.7, "AS": 2.6, "PB": 2.3,
    "CG": 2.1, "HR": 2.1, "DL": 1.7, "JK": 1.0, "UK": 0.8, "HP": 0.6, "TR": 0.3, "ML": 0.25,
    "MN": 0.24, "NL": 0.16, "GA": 0.12, "AR": 0.11, "PY": 0.1, "MZ": 0.09, "CH": 0.09,
    "SK": 0.05, "DH": 0.05, "AN": 0.03, "LA": 0.02, "LD": 0.01,
}  # fmt: skip

#: India's people, about 1.4 billion (the projections for 2023 to 2025, rounded): split over
#: the states by ``POPULATION_SHARE`` and over each state's districts unevenly (from under
#: 0.1 million in the smallest UTs to about 10 million), for the equity view's consultations
#: per head. The
#: reference data hold no populations, so these are synthetic; real ones are set in the
#: registry (the administration or the bulk import), and the seed never overwrites them.
INDIA_POPULATION = 1_400_000_000
#: The spread of a state's districts around their mean size (the sigma of a log-normal).
DISTRICT_SPREAD = 0.5
#: A spoke's catchment: its district's people shared among the district's spokes (a PHC
#: weighing three sub-centres: the norms are 30,000 and 5,000 people in the plains),
#: varied (log-normal, this sigma) and kept to its level's usual range: a sub-centre /
#: Health & Wellness Centre serves 3,000 to 30,000 people, a PHC 15,000 to 60,000.
CATCHMENT_SPREAD = 0.35
CATCHMENT_RANGE = {"sc": (3_000, 30_000), "phc": (15_000, 60_000)}
CATCHMENT_WEIGHT = {"sc": 1.0, "phc": 3.0}

#: Hub-and-spoke carries about three quarters of the volume.
LINE_SHARE = {"hub_spoke": 0.75, "opd": 0.25}
#: How consultations end (per cent of consultations). Completed = the first three.
OUTCOME_SHARE = {
    "prescription": 71.0,
    "advice_only": 13.0,
    "referred": 4.0,
    "no_show": 7.0,
    "dropped": 5.0,
}
#: Tokens cancelled before any call, per hundred consultations (tickets without one).
CANCELLED_PER_HUNDRED = 3
#: Patients: about 2.5 consultations each; 57% women, 12% aged 60 or more.
CONSULTATIONS_PER_PATIENT = 2.5
WOMEN_SHARE = 0.57
SENIOR_SHARE = 0.12
#: Specialist OPDs among OPDs (Mar 2021: 220 of 250); a few OPDs are national.
SPECIALIST_OPD_SHARE = 0.88
NATIONAL_OPDS = 12

#: Consultations per year (millions), the growth of the real service; 2026 to the seed's day.
YEARLY_VOLUME = {
    2019: 0.05, 2020: 1.2, 2021: 12.0, 2022: 65.0, 2023: 80.0, 2024: 95.0, 2025: 110.0,
    2026: 120.0,
}  # fmt: skip
FIRST_DAY = dt.date(2019, 11, 1)


def apportion(total: int, weights: dict[Any, float]) -> dict[Any, int]:
    """``total`` split in proportion to ``weights`` (largest remainder), summing exactly."""
    weight_sum = sum(weights.values())
    exact = {key: total * weight / weight_sum for key, weight in weights.items()}
    counts = {key: int(value) for key, value in exact.items()}
    short = total - sum(counts.values())
    for key in sorted(exact, key=lambda k: (counts[k] - exact[k], k))[:short]:
        counts[key] += 1
    return counts


@dataclass
class CountryPlan:
    """How many of each place every state gets, and the consultations' shares."""

    states: list[str]
    districts: dict[str, int]
    spokes: dict[str, int]
    hubs: dict[str, int]
    opds: dict[str, int]  # state code, or "" for the national OPDs
    consultation_share: dict[str, float] = field(default_factory=dict)

    @property
    def total_spokes(self) -> int:
        return sum(self.spokes.values())

    @property
    def total_hubs(self) -> int:
        return sum(self.hubs.values())

    @property
    def total_opds(self) -> int:
        return sum(self.opds.values())


def plan_country(*, small: bool = False) -> CountryPlan:
    """The whole country (36 states and UTs, 115,234 spokes, 15,731 hubs, 1,152 OPDs), or
    with ``small`` two states at the same proportions."""
    states = list(SMALL_STATES) if small else sorted(DISTRICTS)
    spokes_total = SMALL_SPOKES if small else FULL_SPOKES
    hubs_total = round(spokes_total * FULL_HUBS / FULL_SPOKES)
    opds_total = max(len(states) * 2, round(spokes_total * FULL_OPDS / FULL_SPOKES))
    national = 0 if small else NATIONAL_OPDS
    blend = {
        code: (CONSULTATION_SHARE[code] + POPULATION_SHARE[code]) / 2 + 0.05 for code in states
    }
    spokes = apportion(spokes_total, blend)
    hubs = apportion(hubs_total, blend)
    # Every state has at least one hub and one OPD, whatever its size.
    for code in states:
        hubs[code] = max(hubs[code], 1)
    _give_back(hubs, hubs_total)
    opds = apportion(opds_total - national, blend)
    for code in states:
        opds[code] = max(opds[code], 1)
    _give_back(opds, opds_total - national)
    if national:
        opds[""] = national
    return CountryPlan(
        states=states,
        districts={code: DISTRICTS[code] for code in states},
        spokes=spokes,
        hubs=hubs,
        opds=opds,
        consultation_share={code: CONSULTATION_SHARE[code] for code in states},
    )


def state_populations() -> dict[str, int]:
    """Each state's and UT's people: ``INDIA_POPULATION`` split by ``POPULATION_SHARE``."""
    return apportion(INDIA_POPULATION, POPULATION_SHARE)


def district_populations(total: int, districts: int, rng: random.Random) -> list[int]:
    """``total`` people split unevenly over ``districts`` districts (summing exactly)."""
    weights = {index: rng.lognormvariate(0.0, DISTRICT_SPREAD) for index in range(districts)}
    shares = apportion(total, weights)
    return [max(shares[index], 1) for index in range(districts)]


def spokes_per_district(spokes: int, districts: int) -> list[int]:
    """How many of ``spokes`` each district gets when they are dealt out in turn (as the
    seed places them: spoke ``n`` in district ``(n - 1) % districts``)."""
    return [
        spokes // districts + (1 if index < spokes % districts else 0) for index in range(districts)
    ]


def catchment(level: str, district_people: int, district_spokes: int, rng: random.Random) -> int:
    """A spoke's catchment population: its share of the district, varied, within its
    level's usual range (``CATCHMENT_RANGE``), to the nearest ten."""
    low, high = CATCHMENT_RANGE.get(level, CATCHMENT_RANGE["sc"])
    weight = CATCHMENT_WEIGHT.get(level, 1.0) * rng.lognormvariate(0.0, CATCHMENT_SPREAD)
    share = district_people / max(district_spokes, 1) * weight
    return int(min(max(round(share, -1), low), high))


def _give_back(counts: dict[str, int], total: int) -> None:
    """Take the excess the minimums added from the largest counts, keeping the total."""
    while sum(counts.values()) > total:
        largest = max(counts, key=lambda k: (counts[k], k))
        counts[largest] -= 1


def daily_volumes(total: int, last_day: dt.date) -> list[tuple[dt.date, int]]:
    """``total`` consultations spread over the days from 2019 to ``last_day``, each day's
    share following its year's volume (and a smooth rise within the year)."""
    days: list[dt.date] = []
    weights: list[float] = []
    day = FIRST_DAY
    while day <= last_day:
        year_volume = YEARLY_VOLUME.get(day.year, YEARLY_VOLUME[max(YEARLY_VOLUME)])
        within = (day.timetuple().tm_yday - 1) / 366
        next_volume = YEARLY_VOLUME.get(day.year + 1, year_volume)
        rate = year_volume + (next_volume - year_volume) * within * 0.5
        weekday_factor = 0.45 if day.weekday() == 6 else 1.0  # quiet Sundays
        days.append(day)
        weights.append(rate * weekday_factor)
        day += dt.timedelta(days=1)
    counts = apportion(total, dict(enumerate(weights)))
    return [(days[index], counts[index]) for index in range(len(days))]
