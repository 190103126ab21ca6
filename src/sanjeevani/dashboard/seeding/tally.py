"""The rollups of the generated history, counted by the generator as it makes the rows
(``seed_national`` into a database with no consultation yet), so that the command writes
them by COPY beside the raw rows instead of running ``rebuild_rollups`` over tens of
millions of rows afterwards.

It counts exactly what ``sanjeevani.rollups.facts`` counts (the rebuild's SQL), from the
values the generator writes: the IST day and hour of the stamps, the waits and durations in
whole seconds between them, a patient's first completed consultation (by end, then id),
a senior by the age recorded plus the whole years since, the place's state and district
(the patient's for an OPD). ``tests/dashboard/test_seed_national.py`` checks every table
against a rebuild from the rows written.

Every fact here falls on the day the generator is writing (the stamps of a day stay within
it), so the day grains are emptied into the chunk of rows with that day's tickets; only
the totals per state wait for the end.
"""

from __future__ import annotations

import bisect
import operator
from collections import defaultdict

from sanjeevani.rollups.models import (
    HISTOGRAMS,
    HOURS,
    SCALARS,
    WAIT_BUCKETS,
    WAIT_EDGES_MINUTES,
    DayDetail,
    DistrictDay,
    DoctorDay,
    PlaceDay,
    SpokeDay,
    StateDay,
    StateTotal,
)

from .writer import Table

NIL = "0" * 32
COUNTERS = SCALARS + HISTOGRAMS
_AT = {name: i for i, name in enumerate(COUNTERS)}
WIDTH = len(COUNTERS)
SCALAR_WIDTH = len(SCALARS)  # the scalars come first in ``COUNTERS``
CONSULTATIONS, NEW, PRESCRIPTIONS, REFERRALS, MISSED, DROPPED = (
    _AT[n]
    for n in ("consultations", "new_patients", "prescriptions", "referrals", "missed", "dropped")
)
CANCELLED, TOKENS, WOMEN, SENIORS = (_AT[n] for n in ("cancelled", "tokens", "women", "seniors"))
WAIT_COUNT, WAIT_SECONDS, DURATION_COUNT, DURATION_SECONDS = (
    _AT[n] for n in ("wait_count", "wait_seconds", "duration_count", "duration_seconds")
)
HOUR_AT = [_AT[h] for h in HOURS]
WAIT_AT = [_AT[b] for b in WAIT_BUCKETS]
WAIT_EDGES_SECONDS = [edge * 60 for edge in WAIT_EDGES_MINUTES]

#: The order of the tables in a chunk after the raw rows' (see ``History._chunks``).
DAY_MODELS = (DayDetail, DistrictDay, PlaceDay, SpokeDay, StateDay, DoctorDay)


def tables() -> list[Table]:
    """The rollup tables as the tally writes them: key columns, then counters."""
    out = [Table(model, [*model.KEY, *model.COUNTERS], {}) for model in DAY_MODELS[:-1]]
    out.append(Table(DoctorDay, list(DoctorDay.KEY), {}))
    out.append(Table(StateTotal, [*StateTotal.KEY, *StateTotal.COUNTERS], {}))
    for table in out:
        table.plain = True  # ints and texts only: encoded with ``str``
    return out


def wait_bucket(seconds: int) -> int:
    """The index in ``COUNTERS`` of the wait-time bucket of ``seconds`` (the first whose
    upper edge is above it; the last is open)."""
    return WAIT_AT[bisect.bisect_right(WAIT_EDGES_SECONDS, seconds)]


class Tally:
    """The counters of the days since the last :meth:`drain`, and the totals."""

    def __init__(self) -> None:
        self.detail: dict[tuple, list[int]] = {}
        self.doctors: set[tuple] = set()
        self.totals: dict[tuple, list[int]] = defaultdict(lambda: [0] * SCALAR_WIDTH)

    def add(self, key: tuple, counts: list[tuple[int, int]]) -> None:
        """Add ``counts`` (index in ``COUNTERS``, value) at the day detail's ``key``."""
        row = self.detail.get(key)
        if row is None:
            row = self.detail[key] = [0] * WIDTH
        for i, value in counts:
            row[i] += value

    def doctor(self, day: str, doctor: str, state: int, line: str, place: str) -> None:
        self.doctors.add((day, doctor, state, line, place))

    def drain(self) -> list[list[tuple]]:
        """The rows of the day grains counted since the last drain (in ``DAY_MODELS``
        order), every grain summed here from the detail; the totals keep adding up."""
        district: dict[tuple, list[int]] = {}
        place: dict[tuple, list[int]] = {}
        spoke: dict[tuple, list[int]] = {}
        state: dict[tuple, list[int]] = {}
        totals = self.totals
        add = operator.add
        detail_rows = []
        for key, row in self.detail.items():
            if not any(row):
                continue
            detail_rows.append(key + tuple(row))
            day, state_id, district_id, line, _specialty, opd, hub, spoke_id = key
            # Sums by ``map`` (element-wise in C; it stops at the shorter, the scalars).
            for grain, grain_key in (
                (district, (day, state_id, district_id, line)),
                (place, (day, state_id, line, opd, hub)),
            ):
                into = grain.get(grain_key)
                grain[grain_key] = row if into is None else list(map(add, into, row))
            state_key = (day, state_id, line)
            into = state.get(state_key)
            state[state_key] = row[:SCALAR_WIDTH] if into is None else list(map(add, into, row))
            total_key = (state_id, line)
            totals[total_key] = list(map(add, totals[total_key], row))
            if spoke_id != NIL and (row[CONSULTATIONS] or row[TOKENS]):
                spoke_key = (day, state_id, district_id, spoke_id)
                into = spoke.get(spoke_key)
                if into is None:
                    spoke[spoke_key] = [row[CONSULTATIONS], row[TOKENS]]
                else:
                    into[0] += row[CONSULTATIONS]
                    into[1] += row[TOKENS]
        out = [
            detail_rows,
            *(
                [key + tuple(row) for key, row in grain.items() if any(row)]
                for grain in (district, place, spoke, state)
            ),
            sorted(self.doctors),
        ]
        self.detail = {}
        self.doctors = set()
        return out

    def total_rows(self) -> list[tuple]:
        return [key + tuple(row) for key, row in self.totals.items() if any(row)]
