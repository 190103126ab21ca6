"""Which specialty to ask: the administrators' rule table applied to the complaints,
vitals and age the health worker recorded. Transparent on purpose: the suggestion
carries the reasons of every rule line that pointed to it, and the health worker may
choose another specialty."""

from __future__ import annotations

from dataclasses import dataclass, field

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


def _matches(rule: SpecialtyRule, complaints: set[str], vitals: dict, age: int | None) -> bool:
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


def suggest_specialty(complaints: list[str], vitals: dict, age_years: int | None) -> Suggestion:
    """The specialty whose matching rule lines weigh most (ties: the table's order)."""
    chosen = set(complaints or [])
    scores: dict[int, int] = {}
    reasons: dict[int, list[str]] = {}
    order: list[int] = []
    rules = SpecialtyRule.objects.filter(active=True).select_related("specialty")
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
