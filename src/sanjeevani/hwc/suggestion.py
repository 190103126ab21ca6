"""Which specialty to ask: the administrators' rule table applied to the complaints,
vitals and age the health worker recorded. Transparent on purpose: the suggestion
carries the reasons of every rule line that pointed to it, and the health worker may
choose another specialty."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

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


def _rules_sql() -> str:
    rule = SpecialtyRule._meta.db_table
    specialty = Specialty._meta.db_table
    # Table names from model metadata; the table's own order (Meta.ordering).
    return (
        f"SELECT r.complaint, r.vital, r.comparison, r.threshold, r.max_age_years,"  # noqa: S608
        f" r.min_age_years, r.weight, r.reason, s.id, s.code, s.name"
        f" FROM {rule} r JOIN {specialty} s ON s.id = r.specialty_id"
        f" WHERE r.active ORDER BY s.name, r.complaint, r.vital"
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


def active_rules() -> list[RuleLine]:
    """The active rule lines in the table's order, each with its specialty: in plain SQL,
    because every case sent reads the whole table and the ORM's building of the join cost
    more than running it. Read fresh on every call: an administrator's edit applies to the
    next case."""
    specialties: dict[int, Specialty] = {}
    rules = []
    for row in fetch_prepared(_rules_sql(), []):
        specialty_id, code, name = row[8:]
        specialty = specialties.get(specialty_id)
        if specialty is None:
            specialty = specialties[specialty_id] = Specialty.from_db(
                connection.alias, ["id", "code", "name"], [specialty_id, code, name]
            )
        rules.append(RuleLine(*row[:8], specialty))
    return rules


def suggest_specialty(complaints: list[str], vitals: dict, age_years: int | None) -> Suggestion:
    """The specialty whose matching rule lines weigh most (ties: the table's order)."""
    chosen = set(complaints or [])
    scores: dict[int, int] = {}
    reasons: dict[int, list[str]] = {}
    order: list[int] = []
    rules = active_rules()
    by_pk: dict[int, Specialty] = {}
    for rule in rules:
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
        fallback = Specialty.objects.filter(code=FALLBACK_SPECIALTY).first()
        return Suggestion(
            fallback,
            [] if fallback is None else ["No rule matched: general medicine sees it first"],
        )
    ranked = sorted(order, key=lambda pk: -scores[pk])
    best = ranked[0]
    return Suggestion(by_pk[best], reasons[best], [by_pk[pk] for pk in ranked[1:]])
