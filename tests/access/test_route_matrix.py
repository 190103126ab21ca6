"""Every route, as each of thirteen people: the answer, the audit row, and nothing leaked.

The table in ``table.py`` declares who each route serves; this module only walks it. Each
person's request runs in a savepoint that is rolled back, so a write by one person does not
change what the next one sees.
"""

from __future__ import annotations

import pytest
from django.contrib import messages
from django.db import transaction
from django.urls import NoReverseMatch, reverse
from rest_framework.test import APIClient

from sanjeevani.audit.models import AuditEvent

from .dashboard import DASHBOARD_RULES
from .hwc import HWC_RULES
from .routes import named_routes
from .table import BY_NAME, RULES, Rule
from .world import PATIENT_NAME, ROLES, World

#: The Django admin is walked by ``test_admin_routes.py``.
ADMIN_NAMESPACE = "admin:"
#: Answers that show a write was let through (a bare request may still be invalid).
WRITE_LET_THROUGH = {200, 201, 202, 204, 302, 400, 409}
#: Answers that show a write was done (a page redirects after it; 400 and 409 changed nothing).
WRITE_DONE = {200, 201, 202, 204, 302}
SIGN_IN_PATHS = ("/accounts/otp/", "/accounts/staff/", "/admin/login/")
ID_KWARGS = (
    "patient_id",
    "ticket_id",
    "consultation_id",
    "prescription_id",
    "document_id",
    "message_id",
    "opd_id",
    "pk",
)


def _param(rule: Rule):
    return pytest.param(rule, id=rule.name)


def test_every_route_has_access_rules():
    """A new route without a row in the table fails here, naming the route."""
    routes = {name for name in named_routes() if not name.startswith(ADMIN_NAMESPACE)}
    declared = set(BY_NAME) | set(HWC_RULES) | set(DASHBOARD_RULES)
    assert sorted(routes - declared) == [], "add these routes to tests/access/table.py"
    assert sorted(declared - routes) == [], "these table rows name no route"


@pytest.mark.parametrize("rule", [r for r in RULES if r.args], ids=lambda r: r.name)
def test_identifiers_in_urls_are_uuids(rule):
    """A sequential number never fits where a patient, ticket, consultation, prescription or
    document is named: the route only takes a UUID."""
    pattern = named_routes()[rule.name]
    assert "<int:" not in pattern, pattern
    ids = [k for k in ID_KWARGS if k in pattern]
    for name in ids:
        kwargs = dict.fromkeys(ids, "7b6c1a8e-4c43-4e0b-9a8f-2a0c6e7d1f10")
        kwargs[name] = 42
        with pytest.raises(NoReverseMatch):
            reverse(rule.name, kwargs=kwargs)


def _client(world: World, role: str, api: bool) -> APIClient:
    client = APIClient(raise_request_exception=False)
    user = world.users[role]
    if user is None:
        return client
    if api:
        client.credentials(HTTP_AUTHORIZATION=f"Token {world.token(role)}")
    else:
        client.force_login(user)
    return client


def _send(client: APIClient, rule: Rule, url: str, data: dict | None):
    if rule.method == "get":
        return client.get(url, data or {})
    send = getattr(client, rule.method)
    if rule.is_api and not rule.multipart:
        return send(url, data or {}, format="json")
    return send(url, data or {})


def _write_done(rule: Rule, response) -> bool:
    """A page answers a write with a redirect whether it was done or refused; a refused one
    leaves an error message for the next page."""
    if response.status_code not in WRITE_DONE:
        return False
    if rule.is_api:
        return True
    queued = getattr(getattr(response.wsgi_request, "_messages", None), "_queued_messages", [])
    return not any(m.level >= messages.ERROR for m in queued)


def _audit_count(world: World, role: str) -> int:
    return AuditEvent.objects.filter(patient_id=world.patient.pk, actor=world.users[role]).count()


def _check(world: World, rule: Rule, role: str) -> str | None:
    """One person's request; a sentence describing what went wrong, or None."""
    url = reverse(rule.name, kwargs=rule.args(world) if rule.args else None)
    data = rule.data(world) if rule.data else None
    client = _client(world, role, rule.is_api)
    before = _audit_count(world, role) if world.users[role] else 0
    response = _send(client, rule, url, data)
    status = response.status_code
    said = f"{rule.method.upper()} {url} as {role} gave {status}"
    if status >= 500:
        return f"{said}: a server error"
    body = b"" if getattr(response, "streaming", False) else response.content

    expected = "ok" if role in rule.ok_roles() else rule.refusal_for(role)
    if role == "anonymous":
        expected = rule.anonymous_answer
    if expected == "ok":
        wanted = {200} if rule.method == "get" else WRITE_LET_THROUGH
        if status not in wanted:
            return f"{said}, expected {sorted(wanted)}"
        done = status == 200 if rule.method == "get" else _write_done(rule, response)
        audited = rule.audited and done and world.users[role] is not None
        if audited and _audit_count(world, role) <= before:
            return f"{said} but wrote no AuditEvent for the patient"
        return None
    if expected == "sign_in":
        location = response.headers.get("Location", "")
        if status != 302 or not any(p in location for p in SIGN_IN_PATHS):
            return f"{said} ({location or 'no redirect'}), expected a redirect to sign in"
    elif expected == "refused":
        if status not in (401, 403):
            return f"{said}, expected 401 or 403"
    elif expected == "not_found":
        if status != 404:
            return f"{said}, expected 404"
    elif status != expected:
        return f"{said}, expected {expected}"
    if PATIENT_NAME.encode() in body:
        return f"{said} and its body names the patient"
    return None


@pytest.mark.parametrize("rule", [_param(r) for r in RULES])
def test_route_answers_each_person(world, rule):
    problems = []
    for role in ROLES:
        with transaction.atomic():
            problem = _check(world, rule, role)
            transaction.set_rollback(True)
        if problem:
            problems.append(problem)
    assert not problems, "\n" + "\n".join(problems)
