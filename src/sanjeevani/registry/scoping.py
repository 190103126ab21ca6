"""Who may see which places: one answer for the admin, the import and other apps' pages.

A national administrator (or superuser) sees everything; a state administrator the rows of
the state of their ``Posting``; a hub coordinator (and a CHO) the rows of the facility of
their ``Posting``. Anyone else sees nothing. Each query function takes the user and
returns a queryset, so callers can filter further.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import models
from django.db.models import Q

from sanjeevani.accounts.models import Role
from sanjeevani.config.compiled_queries import CompiledQuery, Slot

from .models import (
    District,
    DoctorProfile,
    Facility,
    HubSpokeLink,
    OnlineOPD,
    Posting,
    RosterShift,
    State,
)


@dataclass(frozen=True)
class AdminScope:
    """The reach of one staff member. ``state_id`` and ``facility_id`` are None when unbounded."""

    national: bool = False
    state_id: int | None = None
    facility_id: uuid.UUID | None = None

    @property
    def is_state_wide(self) -> bool:
        return not self.national and self.state_id is not None and self.facility_id is None

    @property
    def is_facility(self) -> bool:
        return not self.national and self.facility_id is not None


NO_SCOPE = AdminScope()
_CACHE_ATTR = "_registry_scope"


def scope_of(user: Any) -> AdminScope:
    """The user's scope, cached on the user object for the length of a request."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return NO_SCOPE
    cached = getattr(user, _CACHE_ATTR, None)
    if cached is not None:
        return cached
    scope = _compute_scope(user)
    setattr(user, _CACHE_ATTR, scope)
    return scope


#: A staff member's one posting (one-to-one) with its facility: every request of a health
#: worker or coordinator asks it, so it is compiled once per connection.
_posting_of = CompiledQuery(
    lambda: Posting.objects.select_related("facility").filter(
        user_id=Slot("user", Posting._meta.get_field("user").target_field)
    )
)


def _compute_scope(user: Any) -> AdminScope:
    if user.is_superuser or user.role == Role.NATIONAL_ADMIN:
        return AdminScope(national=True)
    found = _posting_of(user=user.pk)
    if not found:
        return NO_SCOPE
    posting = found[0]
    if user.role == Role.STATE_ADMIN and posting.state_id:
        return AdminScope(state_id=posting.state_id)
    if user.role in {Role.HUB_COORDINATOR, Role.CHO} and posting.facility_id:
        return AdminScope(state_id=posting.facility.state_id, facility_id=posting.facility_id)
    return NO_SCOPE


def forget_scope(user: Any) -> None:
    """Drop the cached scope, e.g. after the user's posting changed."""
    if hasattr(user, _CACHE_ATTR):
        delattr(user, _CACHE_ATTR)


def restrict(
    queryset: models.QuerySet,
    scope: AdminScope,
    state_paths: Iterable[str],
    facility_paths: Iterable[str] = (),
) -> models.QuerySet:
    """Rows of ``queryset`` within ``scope``.

    ``state_paths`` are lookups from the model to a ``State`` (any one matching suffices);
    ``facility_paths`` lookups to the ``Facility`` a facility-bound user works at. A path
    through a many-to-many relation is filtered through a subquery, so rows never repeat.
    """
    if scope.national:
        return queryset
    if scope.is_facility:
        paths, value = list(facility_paths), scope.facility_id
    elif scope.state_id is not None:
        paths, value = list(state_paths), scope.state_id
    else:
        return queryset.none()
    if not paths:
        return queryset.none()
    condition = Q()
    for path in paths:
        condition |= Q(**{path: value})
    if any(_crosses_many(queryset.model, path) for path in paths):
        return queryset.filter(
            pk__in=queryset.model._default_manager.filter(condition).values("pk")
        )
    return queryset.filter(condition)


def _crosses_many(model: type[models.Model], path: str) -> bool:
    for name in path.split("__"):
        try:
            field = model._meta.get_field(name)
        except Exception:  # a lookup such as "in" or "exact" ends the path
            return False
        if field.many_to_many or field.one_to_many:
            return True
        if not field.is_relation:
            return False
        model = field.related_model
    return False


def states_visible_to(user: Any) -> models.QuerySet[State]:
    return restrict(State.objects.all(), scope_of(user), ["pk"], ["facilities"])


def districts_visible_to(user: Any) -> models.QuerySet[District]:
    return restrict(District.objects.all(), scope_of(user), ["state"], ["facilities"])


def facilities_visible_to(user: Any) -> models.QuerySet[Facility]:
    return restrict(Facility.objects.all(), scope_of(user), ["state"], ["pk"])


def links_visible_to(user: Any) -> models.QuerySet[HubSpokeLink]:
    return restrict(
        HubSpokeLink.objects.all(), scope_of(user), ["hub__state", "spoke__state"], ["hub", "spoke"]
    )


def opds_visible_to(user: Any) -> models.QuerySet[OnlineOPD]:
    return restrict(OnlineOPD.objects.all(), scope_of(user), ["state"])


def doctors_visible_to(user: Any) -> models.QuerySet[DoctorProfile]:
    """Doctors of the state, or serving one of its OPDs or hubs; for a hub, its doctors."""
    return restrict(
        DoctorProfile.objects.all(),
        scope_of(user),
        ["state", "opds__state", "hubs__state"],
        ["hubs"],
    )


def shifts_visible_to(user: Any) -> models.QuerySet[RosterShift]:
    return restrict(
        RosterShift.objects.all(), scope_of(user), ["opd__state", "hub__state"], ["hub"]
    )


def postings_visible_to(user: Any) -> models.QuerySet[Posting]:
    return restrict(Posting.objects.all(), scope_of(user), ["state", "facility__state"])
