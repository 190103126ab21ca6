"""Every dashboard route, with each scope it takes, walked by ten people: the signed-out, a
patient, a doctor, a CHO, the hub's coordinator and another hub's, an operator, the state's
administrator and another state's, and a national administrator. A state administrator
sees only their state's operational dashboard; a hub coordinator only their hub's."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.cache import cache
from django.db import transaction
from django.urls import reverse
from rest_framework.test import APIClient

from sanjeevani.accounts.models import Role
from sanjeevani.registry.models import State
from tests.factories import (
    DoctorFactory,
    FacilityFactory,
    HubFactory,
    PatientFactory,
    PostingFactory,
    StaffUserFactory,
)

from .routes import RULES

pytestmark = pytest.mark.django_db

PEOPLE = (
    "anonymous",
    "patient",
    "doctor",
    "cho",
    "hub_coordinator",
    "other_hub_coordinator",
    "operator",
    "state_admin",
    "other_state_admin",
    "national_admin",
)
SIGN_IN = "/accounts/staff/"
#: Who each audience serves (besides nobody else).
SERVED = {
    "public": set(PEOPLE),
    "state": {"state_admin", "national_admin"},
    "hub": {"hub_coordinator", "state_admin", "national_admin"},
    "national": {"national_admin"},
}
#: People of the right kind but outside the scope: 404, so nothing is confirmed.
OUT_OF_REACH = {
    "public": set(),
    "state": {"other_state_admin"},
    "hub": {"other_hub_coordinator", "other_state_admin"},
    "national": set(),
}


@dataclass(frozen=True)
class Case:
    """One route with one scope: its audience and how the signed-out are answered."""

    id: str
    name: str
    audience: str
    kwargs: Callable[[dict[str, Any]], dict[str, Any]] = lambda w: {}
    query: Callable[[dict[str, Any]], str] = lambda w: ""
    anonymous: str = "sign_in"


CASES = [
    Case("national", "dashboard:national", "public"),
    Case("state", "dashboard:state", "state", kwargs=lambda w: {"code": "KA"}),
    Case(
        "state-filtered",
        "dashboard:state",
        "state",
        kwargs=lambda w: {"code": "KA"},
        query=lambda w: "start=2026-01-01&end=2026-01-31",
    ),
    Case("state-spokes", "dashboard:state_spokes", "state", kwargs=lambda w: {"code": "KA"}),
    Case(
        "state-spokes-filtered",
        "dashboard:state_spokes",
        "state",
        kwargs=lambda w: {"code": "KA"},
        query=lambda w: "start=2026-01-01&end=2026-01-31",
    ),
    Case("report", "dashboard:report", "state", kwargs=lambda w: {"code": "KA"}),
    Case("hub", "dashboard:hub", "hub", kwargs=lambda w: {"hub_id": w["hub"].pk}),
    Case("live", "dashboard:live", "public"),
    Case("live-state", "dashboard:live", "state", query=lambda w: "state=KA", anonymous="403"),
    Case(
        "live-hub",
        "dashboard:live",
        "hub",
        query=lambda w: f"hub={w['hub'].pk}",
        anonymous="403",
    ),
    Case("export-states", "dashboard:export", "public", kwargs=lambda w: {"table": "states"}),
    Case("export-trend", "dashboard:export", "public", kwargs=lambda w: {"table": "trend"}),
    Case(
        "export-waits-national",
        "dashboard:export",
        "national",
        kwargs=lambda w: {"table": "waits"},
    ),
    Case(
        "export-waits-state",
        "dashboard:export",
        "state",
        kwargs=lambda w: {"table": "waits"},
        query=lambda w: "state=KA",
    ),
    Case(
        "export-equity-hub",
        "dashboard:export",
        "hub",
        kwargs=lambda w: {"table": "equity"},
        query=lambda w: f"hub={w['hub'].pk}",
    ),
    Case(
        "export-quiet-spokes-state",
        "dashboard:export",
        "state",
        kwargs=lambda w: {"table": "quiet_spokes"},
        query=lambda w: "state=KA",
    ),
]


@pytest.fixture
def world(settings) -> dict[str, Any]:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    cache.clear()
    karnataka, tamil_nadu = State.objects.get(code="KA"), State.objects.get(code="TN")
    hub, other_hub = HubFactory(state=karnataka), HubFactory(state=karnataka)
    spoke = FacilityFactory(state=karnataka)

    def posted(role: Role, **where) -> Any:
        return PostingFactory(user__role=role, **where).user

    people = {
        "anonymous": None,
        "patient": PatientFactory().account,
        "doctor": DoctorFactory().user,
        "cho": posted(Role.CHO, facility=spoke, state=karnataka),
        "hub_coordinator": posted(Role.HUB_COORDINATOR, facility=hub, state=karnataka),
        "other_hub_coordinator": posted(Role.HUB_COORDINATOR, facility=other_hub, state=karnataka),
        "operator": StaffUserFactory(role=Role.OPERATOR),
        "state_admin": posted(Role.STATE_ADMIN, state=karnataka),
        "other_state_admin": posted(Role.STATE_ADMIN, state=tamil_nadu),
        "national_admin": StaffUserFactory(role=Role.NATIONAL_ADMIN),
    }
    return {"people": people, "hub": hub}


def _check(world: dict[str, Any], case: Case, person: str) -> str | None:
    user = world["people"][person]
    url = reverse(case.name, kwargs=case.kwargs(world) or None)
    query = case.query(world)
    client = APIClient(raise_request_exception=False)
    if user is not None:
        client.force_login(user)
    response = client.get(f"{url}?{query}" if query else url)
    status = response.status_code
    said = f"GET {url}?{query} ({case.id}) as {person} gave {status}"
    if status >= 500:
        return f"{said}: a server error"
    if person in SERVED[case.audience]:
        return None if status == 200 else f"{said}, expected 200"
    if person == "anonymous":
        if case.anonymous == "sign_in":
            location = response.headers.get("Location", "")
            if status != 302 or SIGN_IN not in location:
                return f"{said} ({location or 'no redirect'}), expected a redirect to sign in"
            return None
        return None if status == 403 else f"{said}, expected 403"
    expected = 404 if person in OUT_OF_REACH[case.audience] else 403
    return None if status == expected else f"{said}, expected {expected}"


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_dashboard_route_answers_each_person(world, case):
    problems = []
    for person in PEOPLE:
        with transaction.atomic():
            problem = _check(world, case, person)
            transaction.set_rollback(True)
        if problem:
            problems.append(problem)
    assert not problems, "\n" + "\n".join(problems)


def test_every_dashboard_route_is_walked():
    from tests.access.routes import named_routes

    names = {n for n in named_routes() if n.startswith("dashboard:")}
    assert names == set(RULES)
    assert {case.name for case in CASES} == names
