"""The facts the rollups add up, written once as SQL: the live counting runs a fact's
SELECT for one row (``WHERE x.id = %s``), the rebuild runs the same SELECT over every row
and groups it. So the two cannot disagree on what a day, a state or a wait is.

Each fact yields the ``DayDetail`` key columns and every counter (0 where it does not
count). The day is the IST day (``TIME_ZONE``), not the UTC one.
"""

# SQL here is assembled only from model metadata and constants; values go as parameters.
# ruff: noqa: S608

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.apps import apps
from django.conf import settings
from django.db import connection

from .models import HOURS, NO_PLACE, SCALARS, WAIT_BUCKETS, WAIT_EDGES_MINUTES, DayDetail

#: Outcomes that count as a consultation given (the issue's "consultations completed").
COMPLETED_OUTCOMES = ("prescription", "advice_only", "referred")
SENIOR_AGE = 60


class Dialect:
    """The few expressions that differ between PostgreSQL and SQLite."""

    def __init__(self, vendor: str | None = None) -> None:
        self.vendor = vendor or connection.vendor
        self.tz = settings.TIME_ZONE
        offset = dt.datetime.now(zoneinfo.ZoneInfo(self.tz)).utcoffset() or dt.timedelta()
        # SQLite keeps UTC text; India has one offset all year, so a fixed shift is exact.
        self.offset_minutes = int(offset.total_seconds() // 60)

    @property
    def postgres(self) -> bool:
        return self.vendor == "postgresql"

    def no_place(self) -> str:
        return f"'{NO_PLACE}'::uuid" if self.postgres else f"'{NO_PLACE.hex}'"

    def local_day(self, col: str) -> str:
        if self.postgres:
            return f"(({col}) AT TIME ZONE '{self.tz}')::date"
        return f"date({col}, '{self.offset_minutes:+d} minutes')"

    def local_hour(self, col: str) -> str:
        if self.postgres:
            return f"CAST(EXTRACT(HOUR FROM ({col}) AT TIME ZONE '{self.tz}') AS integer)"
        # No '%' here: Django's SQLite debug cursor formats the SQL with ``%`` and its params.
        return (
            f"CAST(substr(datetime({col}, '{self.offset_minutes:+d} minutes'), 12, 2) AS integer)"
        )

    def seconds(self, start: str, end: str) -> str:
        """Whole seconds from ``start`` to ``end`` (rounded)."""
        if self.postgres:
            return f"CAST(ROUND(EXTRACT(EPOCH FROM ({end}) - ({start}))) AS integer)"
        return f"CAST(ROUND((julianday({end}) - julianday({start})) * 86400.0) AS integer)"

    def senior_on(self, day: str) -> str:
        """The patient ``p`` was 60 or older on ``day`` (from the date of birth, or the age
        given on a date plus the whole years since, as ``Patient.age`` counts)."""
        if self.postgres:
            born = f"p.date_of_birth <= CAST(({day}) - INTERVAL '{SENIOR_AGE} years' AS date)"
            since = f"(({day}) - COALESCE(p.age_recorded_on, {day}))"
            grown = f"(p.age_years + GREATEST(0, {since} / 365)) >= {SENIOR_AGE}"
        else:
            born = f"p.date_of_birth <= date({day}, '-{SENIOR_AGE} years')"
            since = (
                f"CAST(julianday({day}) - julianday(COALESCE(p.age_recorded_on, {day})) AS integer)"
            )
            grown = f"(p.age_years + MAX(0, {since} / 365)) >= {SENIOR_AGE}"
        return f"(CASE WHEN p.date_of_birth IS NOT NULL THEN {born} ELSE {grown} END)"


def table(label: str) -> str:
    """A table by its model's label, looked up when the SQL is built: the rollups sit
    below the apps whose rows they count and never import them."""
    return connection.ops.quote_name(apps.get_model(label)._meta.db_table)


Consultation = "consultations.Consultation"
Ticket = "queueing.Ticket"
Prescription = "prescriptions.Prescription"
Patient = "patients.Patient"
Facility = "registry.Facility"
OnlineOPD = "registry.OnlineOPD"
#: The hub-and-spoke case (``hwc``, above this app): its mode tells a case sent for a
#: written answer (store and forward) from a live one.
HubCase = "hwc.Case"


def _select(keys: dict[str, str], counters: dict[str, str]) -> str:
    columns = [f"{expr} AS {name}" for name, expr in keys.items()]
    columns += [f"{counters.get(name, '0')} AS {name}" for name in DayDetail.COUNTERS]
    return "SELECT " + ", ".join(columns)


def _place_keys(
    d: Dialect, day: str, line: str, alias: str, specialty: str, hub: bool = True
) -> dict[str, str]:
    """Where the care happened: the OPD's state (a national OPD's: the patient's), or the
    spoke's state and district (hub and spoke); the patient's district for the OPD.
    Without ``hub``, a request counts at its spoke only: the hub a case waits at changes
    when it is forwarded, so the hub that served it is known only from its consultation."""
    nil = d.no_place()
    return {
        "day": day,
        "state_id": "COALESCE(o.state_id, sp.state_id, h.state_id, p.state_id, 0)",
        "district_id": "COALESCE(sp.district_id, p.district_id, 0)",
        "service_line": line,
        "specialty_id": f"COALESCE({specialty}, 0)",
        "opd_id": f"COALESCE({alias}.opd_id, {nil})",
        "hub_id": f"COALESCE({alias}.hub_id, {nil})" if hub else nil,
        "spoke_id": f"COALESCE({alias}.spoke_id, {nil})",
    }


def _joins(alias: str) -> str:
    return (
        f" LEFT JOIN {table(OnlineOPD)} o ON o.id = {alias}.opd_id"
        f" LEFT JOIN {table(Facility)} sp ON sp.id = {alias}.spoke_id"
        f" LEFT JOIN {table(Facility)} h ON h.id = {alias}.hub_id"
        f" JOIN {table(Patient)} p ON p.id = {alias}.patient_id"
    )


def _completed_in(alias: str) -> str:
    return f"{alias}.outcome IN (" + ", ".join(f"'{o}'" for o in COMPLETED_OUTCOMES) + ")"


def first_completions() -> str:
    """The id of each patient's first completed consultation (by end, then id): the
    rebuild's set-based form of "no earlier completed consultation" (one sort instead of
    a look-up per consultation)."""
    return (
        "SELECT id FROM (SELECT c1.id, ROW_NUMBER() OVER (PARTITION BY c1.patient_id"
        " ORDER BY c1.ended_at, c1.id) AS n"
        f" FROM {table(Consultation)} c1 WHERE c1.status = 'ended' AND c1.ended_at IS NOT NULL"
        f" AND {_completed_in('c1')}) ranked WHERE n = 1"
    )


def consultation_facts(d: Dialect, bulk: bool = False, one: bool = False) -> str:
    """One row per ended consultation (alias ``c``); with ``one``, only the one whose id
    is the parameter. A patient is new at their first completed consultation: for one row
    (live), no earlier one exists; in ``bulk`` (the rebuild), it is the first of the
    patient's (``first_completions``) — the same set.

    An inner SELECT works out each measure once (the day, the wait, the hour...); the
    outer one spreads them into the counters, so a bulk run computes no expression twice.
    """
    day = d.local_day("c.ended_at")
    done = _completed_in("c")
    started = f"{done} AND c.started_at IS NOT NULL"
    earlier = (
        f"SELECT 1 FROM {table(Consultation)} c2 WHERE c2.patient_id = c.patient_id"
        f" AND c2.status = 'ended' AND {_completed_in('c2')}"
        " AND (c2.ended_at < c.ended_at OR (c2.ended_at = c.ended_at AND c2.id < c.id))"
    )
    first = "nf.id IS NOT NULL" if bulk else f"NOT EXISTS ({earlier})"
    keys = _place_keys(
        d, day, _consultation_line(), "c", "COALESCE(o.specialty_id, t.specialty_id)"
    )
    measures = {
        "outcome": "c.outcome",
        "done": f"CASE WHEN {done} THEN 1 ELSE 0 END",
        "first": f"CASE WHEN {done} AND {first} THEN 1 ELSE 0 END",
        "female": "CASE WHEN p.sex = 'F' THEN 1 ELSE 0 END",
        "senior": f"CASE WHEN {d.senior_on(day)} THEN 1 ELSE 0 END",
        "wait_s": f"CASE WHEN {started} AND t.created_at IS NOT NULL"
        f" THEN {d.seconds('t.created_at', 'c.started_at')} END",
        "dur_s": f"CASE WHEN {started} THEN {d.seconds('c.started_at', 'c.ended_at')} END",
        "hr": d.local_hour("c.ended_at"),
    }
    inner = (
        "SELECT "
        + ", ".join(f"{expr} AS {name}" for name, expr in {**keys, **measures}.items())
        + f" FROM {table(Consultation)} c LEFT JOIN {table(Ticket)} t ON t.id = c.ticket_id"
        + (f" LEFT JOIN ({first_completions()}) nf ON nf.id = c.id" if bulk else "")
        + _joins("c")
        + " WHERE c.status = 'ended' AND c.ended_at IS NOT NULL"
        + (" AND c.id = %s" if one else "")
    )

    def when(condition: str, value: str = "1") -> str:
        return f"CASE WHEN {condition} THEN {value} ELSE 0 END"

    counters = {
        "consultations": "done",
        "new_patients": "first",
        "referrals": when("outcome = 'referred'"),
        "missed": when("outcome = 'no_show'"),
        "dropped": when("outcome = 'dropped'"),
        "forwarded": when("outcome = 'forwarded'"),
        "women": "done * female",
        "seniors": "done * senior",
        "wait_count": when("wait_s IS NOT NULL"),
        "wait_seconds": "COALESCE(wait_s, 0)",
        "duration_count": when("dur_s IS NOT NULL"),
        "duration_seconds": "COALESCE(dur_s, 0)",
    }
    lower = 0
    for bucket, edge in zip(WAIT_BUCKETS, (*WAIT_EDGES_MINUTES, None), strict=True):
        bounds = [f"wait_s >= {lower * 60}"] if lower else []
        bounds += [f"wait_s < {edge * 60}"] if edge else []
        counters[bucket] = when(" AND ".join(bounds))
        lower = edge or 0
    for h, name in enumerate(HOURS):
        counters[name] = when(f"done = 1 AND hr = {h}")
    outer_keys = {name: name for name in keys}
    return _select(outer_keys, counters) + f" FROM ({inner}) m"


def _ticket_line() -> str:
    return _line("CASE WHEN t.opd_id IS NOT NULL THEN 'opd' ELSE 'hub_spoke' END", "t.id")


def _consultation_line() -> str:
    return _line("c.service_line", "c.ticket_id")


def _line(line: str, ticket_id: str) -> str:
    """The service line: ``line`` (the OPD or hub and spoke), except that a hub-and-spoke
    case sent for a written answer counts as store and forward (its third line), from its
    request to its answer."""
    return (
        f"CASE WHEN EXISTS (SELECT 1 FROM {table(HubCase)} sf WHERE sf.ticket_id = {ticket_id}"
        " AND sf.mode = 'store_forward') THEN 'store_forward' ELSE " + line + " END"
    )


def token_facts(d: Dialect, one: bool = False) -> str:
    """One row per ticket taken (alias ``t``), on the day it was taken."""
    keys = _place_keys(
        d,
        d.local_day("t.created_at"),
        _ticket_line(),
        "t",
        "COALESCE(o.specialty_id, t.specialty_id)",
        hub=False,
    )
    return (
        _select(keys, {"tokens": "1"})
        + f" FROM {table(Ticket)} t"
        + _joins("t")
        + (" WHERE t.id = %s" if one else "")
    )


def cancel_facts(d: Dialect, one: bool = False) -> str:
    """One row per cancelled ticket, on the day of its last change (the cancel: a
    cancelled ticket changes no more)."""
    keys = _place_keys(
        d,
        d.local_day("t.updated_at"),
        _ticket_line(),
        "t",
        "COALESCE(o.specialty_id, t.specialty_id)",
        hub=False,
    )
    return (
        _select(keys, {"cancelled": "1"})
        + f" FROM {table(Ticket)} t"
        + _joins("t")
        + " WHERE t.status = 'cancelled'"
        + (" AND t.id = %s" if one else "")
    )


def prescription_facts(d: Dialect, one: bool = False) -> str:
    """One row per prescription first issued (a correction supersedes, it is not another
    prescription), on the day it was issued, where its consultation was held."""
    keys = _place_keys(
        d,
        d.local_day("r.issued_at"),
        _consultation_line(),
        "c",
        "COALESCE(o.specialty_id, t.specialty_id)",
    )
    return (
        _select(keys, {"prescriptions": "1"})
        + f" FROM {table(Prescription)} r JOIN {table(Consultation)} c ON c.id = r.consultation_id"
        + f" LEFT JOIN {table(Ticket)} t ON t.id = c.ticket_id"
        + _joins("c")
        + " WHERE r.supersedes_id IS NULL"
        + (" AND r.id = %s" if one else "")
    )


def doctor_facts(d: Dialect, one: bool = False) -> str:
    """One row per completed consultation: who served, when, where (the OPD or the hub)."""
    nil = d.no_place()
    done = "c.outcome IN (" + ", ".join(f"'{o}'" for o in COMPLETED_OUTCOMES) + ")"
    return (
        f"SELECT {d.local_day('c.ended_at')} AS day, c.doctor_id AS doctor_id,"
        " COALESCE(o.state_id, sp.state_id, h.state_id, p.state_id, 0) AS state_id,"
        f" {_consultation_line()} AS service_line,"
        f" COALESCE(c.hub_id, c.opd_id, {nil}) AS place_id"
        f" FROM {table(Consultation)} c"
        + _joins("c")
        + f" WHERE c.status = 'ended' AND c.ended_at IS NOT NULL AND {done}"
        + (" AND c.id = %s" if one else "")
    )


__all__ = [
    "COMPLETED_OUTCOMES",
    "Dialect",
    "SCALARS",
    "cancel_facts",
    "consultation_facts",
    "doctor_facts",
    "prescription_facts",
    "token_facts",
]
