"""People with an admin scope, and real states from the reference data."""

from __future__ import annotations

from sanjeevani.accounts.models import Role
from sanjeevani.registry.models import Facility, Posting, State
from tests.factories import StaffUserFactory


def state(code: str) -> State:
    """A state or union territory loaded by the reference-data migration."""
    return State.objects.get(code=code)


def national_admin(**kwargs):
    return StaffUserFactory(role=Role.NATIONAL_ADMIN, **kwargs)


def state_admin(state_obj: State, **kwargs):
    user = StaffUserFactory(role=Role.STATE_ADMIN, **kwargs)
    Posting.objects.create(user=user, state=state_obj)
    return user


def hub_coordinator(hub: Facility, **kwargs):
    user = StaffUserFactory(role=Role.HUB_COORDINATOR, **kwargs)
    Posting.objects.create(user=user, state=hub.state, facility=hub)
    return user
