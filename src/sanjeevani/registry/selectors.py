"""Read queries over the reference data, shared by the API and pages."""

from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from .models import District, Specialty, State


def all_states() -> QuerySet[State]:
    return State.objects.order_by("name")


def state_by_code(code: str) -> State:
    """The state or union territory with this code (any case), or 404."""
    return get_object_or_404(State, code__iexact=code.strip())


def districts_of(state: State) -> QuerySet[District]:
    return District.objects.filter(state=state).order_by("name")


def all_specialties() -> QuerySet[Specialty]:
    return Specialty.objects.order_by("name")
