"""Staff with an admin scope (their Posting made with them), and real reference states."""

from __future__ import annotations

import factory

from sanjeevani.accounts.models import Role
from sanjeevani.registry.models import Facility, Posting, State
from tests.factories import StaffUserFactory


def state(code: str) -> State:
    """A state or union territory loaded by the reference-data migration."""
    return State.objects.get(code=code)


class NationalAdminFactory(StaffUserFactory):
    role = Role.NATIONAL_ADMIN


class StateAdminFactory(StaffUserFactory):
    """Pass ``posted_to=<State>``."""

    role = Role.STATE_ADMIN

    @factory.post_generation
    def posted_to(obj, create, extracted, **kwargs):  # noqa: N805
        if create and extracted is not None:
            Posting.objects.create(user=obj, state=extracted)


class HubCoordinatorFactory(StaffUserFactory):
    """Pass ``posted_to=<hub Facility>``."""

    role = Role.HUB_COORDINATOR

    @factory.post_generation
    def posted_to(obj, create, extracted, **kwargs):  # noqa: N805
        if create and extracted is not None:
            Posting.objects.create(user=obj, state=extracted.state, facility=extracted)


def national_admin(**kwargs):
    return NationalAdminFactory(**kwargs)


def state_admin(state_obj: State, **kwargs):
    return StateAdminFactory(posted_to=state_obj, **kwargs)


def hub_coordinator(hub: Facility, **kwargs):
    return HubCoordinatorFactory(posted_to=hub, **kwargs)
