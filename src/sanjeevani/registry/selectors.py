"""Read queries over the reference data, shared by the API and pages."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from sanjeevani.config.compiled_queries import CompiledQuery, Slot

from .models import District, DoctorProfile, Specialty, State


def all_states() -> QuerySet[State]:
    return State.objects.order_by("name")


def state_by_code(code: str) -> State:
    """The state or union territory with this code (any case), or 404."""
    return get_object_or_404(State, code__iexact=code.strip())


def districts_of(state: State) -> QuerySet[District]:
    return District.objects.filter(state=state).order_by("name")


def all_specialties() -> QuerySet[Specialty]:
    return Specialty.objects.order_by("name")


_profile_of_user = CompiledQuery(
    lambda: DoctorProfile.objects.filter(
        user_id=Slot("user", DoctorProfile._meta.get_field("user").target_field)
    )
)


def doctor_profile_of(user: Any) -> DoctorProfile | None:
    """The user's doctor profile, or None. Every step a doctor takes asks (the queue's
    actor, signing); read compiled once per request and kept where ``user.doctor_profile``
    keeps it, so that asking again, either way, reads nothing."""
    field = DoctorProfile._meta.get_field("user")
    related = field.remote_field
    if related.is_cached(user):
        return related.get_cached_value(user)
    found = _profile_of_user(user=user.pk)
    profile = found[0] if found else None
    related.set_cached_value(user, profile)
    if profile is not None:
        field.set_cached_value(profile, user)
    return profile
