"""The Django admin, walked like the rest: every admin route as each of the nine people.

Only administrators get in; a state administrator opens their own state's objects and not
another state's. Admin routes are Django's own, so they are found here, not declared.
"""

from __future__ import annotations

import uuid

import pytest
from django.db import transaction
from django.test import Client
from django.urls import NoReverseMatch, reverse

from sanjeevani.audit.models import AuditEvent

from .routes import named_routes
from .world import ROLES, World

#: People the Django admin lets in, each narrowed to their scope there.
ADMINS = {"national_admin", "state_admin", "other_state_admin", "hub_coordinator"}
#: Admin users whose scope misses the case's places: another state's administrator, and a
#: hub coordinator (their own hub only).
OUT_OF_SCOPE = {"other_state_admin", "hub_coordinator"}
#: Admin objects that belong to the case's state: an administrator out of scope gets no 200.
STATE_SCOPED = {"registry_facility", "registry_onlineopd", "registry_doctorprofile"}


def _object_for(world: World, model: str):
    return {
        "registry_facility": world.spoke,
        "registry_onlineopd": world.opd,
        "registry_doctorprofile": world.consultation.doctor,
        "registry_state": world.state,
        "registry_posting": world.users["cho"].posting,
        "accounts_user": world.users["patient"],
        "accounts_devicetoken": world.device,
        "audit_auditevent": AuditEvent.objects.filter(patient_id=world.patient.pk).first(),
    }.get(model)


def _admin_urls(world: World) -> list[tuple[str, str, str]]:
    """(route name, model label or '', url) for every admin route this walk can reverse."""
    urls = []
    for name, pattern in sorted(named_routes().items()):
        if not name.startswith("admin:"):
            continue
        short = name.removeprefix("admin:")
        model = short.rsplit("_", 1)[0] if "object_id" in pattern else ""
        try:
            if "object_id" in pattern:
                found = _object_for(world, model)
                key = found.pk if found is not None else uuid.uuid4()
                urls.append((name, model, reverse(name, kwargs={"object_id": key})))
            elif "<" not in pattern and "(?P" not in pattern:
                urls.append((name, "", reverse(name)))
        except NoReverseMatch:
            continue
    return urls


def _outcome(world: World, role: str, url: str):
    client = Client(raise_request_exception=False)
    if world.users[role] is not None:
        client.force_login(world.users[role])
    with transaction.atomic():
        response = client.get(url)
        transaction.set_rollback(True)
    return response


def test_the_admin_walk_reaches_enough_routes(world):
    """Guards the walk itself: it must not silently skip the admin."""
    assert len(_admin_urls(world)) >= 40


@pytest.mark.parametrize("role", ROLES)
def test_admin_routes_open_only_to_administrators_in_scope(world, role):
    problems = []
    for name, model, url in _admin_urls(world):
        if name in {"admin:login", "admin:logout"}:  # sign-in pages, checked in accounts
            continue
        response = _outcome(world, role, url)
        status = response.status_code
        said = f"GET {url} ({name}) as {role} gave {status}"
        if status >= 500:
            problems.append(f"{said}: a server error")
        elif role not in ADMINS and status == 200:
            problems.append(f"{said}: only administrators may open the admin")
        elif role not in ADMINS and status == 302:
            if "/admin/login/" not in response.headers.get("Location", ""):
                problems.append(f"{said}: expected the admin sign-in")
        elif role in OUT_OF_SCOPE and model in STATE_SCOPED and status == 200:
            problems.append(f"{said}: another state's object")
        elif (
            role in {"state_admin", "national_admin"}
            and model in STATE_SCOPED
            and name.endswith("_change")
            and status != 200
        ):
            problems.append(f"{said}: an administrator of the state cannot open it")
    assert not problems, "\n" + "\n".join(problems)
