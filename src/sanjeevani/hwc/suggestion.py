"""Which specialty to ask: the administrators' rule table applied to the complaints,
vitals and age the health worker recorded. Transparent on purpose: the suggestion
carries the reasons of every rule line that pointed to it, and the health worker may
choose another specialty."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from django.db import connection

from sanjeevani.config.prepared_statements import fetch_prepared
from sanjeevani.registry.models import Specialty

from .models import SpecialtyRule

#: Asked when no rule matches: the generalist sees everything first.
FALLBACK_SPECIALTY = "general-medicine"


@dataclass
class Suggestion:
    specialty: Specialty | None
    reasons: list[str] = field(default_factory=list)
    #: Other specialties that scored, best first, for the health worker to consider.
    alternatives: list[Specialty] = field(default_factory=list)


def _matches(rule: RuleLine, complaints: set[str], vitals: dict, age: int | None) -> bool:
    if rule.max_age_years is not None and (age is None or age > rule.max_age_years):
        return False
    if rule.min_age_years is not None and (age is None or age < rule.min_age_years):
        return False
    if rule.complaint and rule.complaint not in complaints:
        return False
    if rule.vital:
        value = vitals.get(rule.vital)
        if value is None:
            return False
        if rule.comparison == SpecialtyRule.Comparison.ABOVE and not value > rule.threshold:
            return False
        if rule.comparison == SpecialtyRule.Comparison.BELOW and not value < rule.threshold:
            return False
    return True


def _table_sql() -> str:
    rule = SpecialtyRule._meta.db_table
    specialty = Specialty._meta.db_table
    # Table names from model metadata; the rule table's own order (Meta.ordering). Every
    # specialty comes back, with a row of NULLs when it has no active line.
    return (
        f"SELECT s.id, s.code, s.name, r.id, r.complaint, r.vital, r.comparison,"  # noqa: S608
        f" r.threshold, r.max_age_years, r.min_age_years, r.weight, r.reason"
        f" FROM {specialty} s LEFT JOIN {rule} r ON r.specialty_id = s.id AND r.active"
        f" ORDER BY s.name, r.complaint, r.vital"
    )


class RuleLine(NamedTuple):
    """One active line of the rule table as ``suggest_specialty`` reads it: a plain tuple,
    since every case sent reads the whole table and building model instances for its
    lines cost more than the query (bench/hwc_routing.py)."""

    complaint: str
    vital: str
    comparison: str
    threshold: float | None
    max_age_years: int | None
    min_age_years: int | None
    weight: int
    reason: str
    specialty: Specialty

    @property
    def specialty_id(self) -> int:
        return self.specialty.pk


#: How long one worker keeps the rule table before reading it again. An edit clears this
#: worker's copy at once (the models' signals) and reaches the other workers within this
#: time. Every case sent reads the table, and reading it cost more than the rest of the
#: suggestion (bench/hwc_routing.py).
RULES_KEPT_SECONDS = 30.0


@dataclass(frozen=True)
class RuleTable:
    """The active rule lines in the table's order, and every specialty by code."""

    rules: tuple[RuleLine, ...]
    specialties: dict[str, Specialty]
    read_at: float


_kept: RuleTable | None = None


def rule_table() -> RuleTable:
    """The rule table as this worker keeps it (read again after ``RULES_KEPT_SECONDS``)."""
    global _kept
    kept = _kept
    if kept is None or time.monotonic() - kept.read_at > RULES_KEPT_SECONDS:
        kept = _kept = _read_rule_table()
    return kept


def forget_rule_table(**_signal: Any) -> None:
    """Read the table again on next use: a rule or specialty changed (connected to their
    models' signals; the test suite calls it between tests)."""
    global _kept
    _kept = None


def _read_rule_table() -> RuleTable:
    """One query in plain SQL: the ORM's building of the join cost more than running it."""
    specialties: dict[str, Specialty] = {}
    rules = []
    for specialty_id, code, name, rule_id, *line in fetch_prepared(_table_sql(), []):
        specialty = specialties.get(code)
        if specialty is None:
            specialty = specialties[code] = Specialty.from_db(
                connection.alias, ["id", "code", "name"], [specialty_id, code, name]
            )
        if rule_id is not None:
            rules.append(RuleLine(*line, specialty))
    return RuleTable(tuple(rules), specialties, time.monotonic())


def suggest_specialty(complaints: list[str], vitals: dict, age_years: int | None) -> Suggestion:
    """The specialty whose matching rule lines weigh most (ties: the table's order)."""
    chosen = set(complaints or [])
    scores: dict[int, int] = {}
    reasons: dict[int, list[str]] = {}
    order: list[int] = []
    table = rule_table()
    by_pk: dict[int, Specialty] = {}
    for rule in table.rules:
        if not _matches(rule, chosen, vitals or {}, age_years):
            continue
        pk = rule.specialty_id
        if pk not in scores:
            order.append(pk)
            scores[pk] = 0
            reasons[pk] = []
            by_pk[pk] = rule.specialty
        scores[pk] += rule.weight
        reasons[pk].append(rule.reason)
    if not scores:
        fallback = table.specialties.get(FALLBACK_SPECIALTY)
        return Suggestion(
            fallback,
            [] if fallback is None else ["No rule matched: general medicine sees it first"],
        )
    ranked = sorted(order, key=lambda pk: -scores[pk])
    best = ranked[0]
    return Suggestion(by_pk[best], reasons[best], [by_pk[pk] for pk in ranked[1:]])
