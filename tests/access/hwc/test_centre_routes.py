"""Every centre route (``centre.RULES``) walked by eight people: the signed-out, a patient,
a doctor, the CHO of the centre, a CHO of another centre, a hub coordinator, an operator
and a state administrator. Only CHOs are served; another centre's CHO gets 404 on this
centre's patient and case; each read of patient data by the centre's CHO leaves an audit
row naming the patient."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework.test import APIClient

from sanjeevani.accounts.models import Role
from sanjeevani.audit.models import AuditEvent
from sanjeevani.hwc import services as hwc
from tests.factories import FacilityFactory, PostingFactory, StaffUserFactory
from tests.hwc.factories import build_network, cho_at
from tests.hwc.test_centre_pages import PNG, prescribed_case

from .centre import RULES

pytestmark = pytest.mark.django_db

PEOPLE = (
    "anonymous",
    "patient",
    "doctor",
    "centre_cho",
    "other_centre_cho",
    "hub_coordinator",
    "operator",
    "state_admin",
)


@dataclass(frozen=True)
class Route:
    method: str = "get"
    #: Names this centre's patient or case: another centre's CHO gets 404.
    scoped: bool = True
    #: The centre's CHO reading it leaves an audit row naming the patient.
    audited: bool = False
    #: What the centre's CHO gets (a POST that redirects back, an API POST refused as 400
    #: for its empty body: either way it reached the view).
    served: tuple[int, ...] = (200,)


ROUTES: dict[str, Route] = {
    "centre:workspace": Route(scoped=False),
    "centre:status": Route(scoped=False),
    "centre:find": Route(scoped=False),
    "centre:register": Route(scoped=False),
    "centre:patient": Route(audited=True),
    "centre:case_new": Route(audited=True),
    "centre:suggest": Route(),
    "centre:case": Route(audited=True),
    "centre:attach": Route(method="post", served=(302,), audited=True),
    "centre:attachment": Route(audited=True),
    "centre:join": Route(method="post", served=(302,)),
    "centre:thermal": Route(audited=True),
    "centre:dispense": Route(audited=True),
    "centre:stock": Route(scoped=False),
    "centre-api:patients": Route(scoped=False),
    "centre-api:patient": Route(audited=True),
    "centre-api:suggestion": Route(method="post"),
    "centre-api:cases": Route(scoped=False),
    "centre-api:case": Route(audited=True),
    "centre-api:case-status": Route(),
    "centre-api:attachments": Route(method="post", served=(201,), audited=True),
    "centre-api:join": Route(method="post", served=(409,)),
    "centre-api:dispense": Route(method="post", served=(400,)),
    "centre-api:stock": Route(scoped=False),
}


@pytest.fixture
def world(settings, tmp_path) -> dict[str, Any]:
    settings.MEDIA_ROOT = tmp_path
    network = build_network()
    case, prescription = prescribed_case(network)
    attachment = hwc.attach_to_case(
        network.cho, case, SimpleUploadedFile("a.png", PNG, content_type="image/png"), "photo", ""
    )
    hub = network.hub_a

    def posted(role: Role, **where) -> Any:
        return PostingFactory(user__role=role, **where).user

    people = {
        "anonymous": None,
        "patient": case.patient.account,
        "doctor": network.doctor_a.user,
        "centre_cho": network.cho,
        "other_centre_cho": cho_at(FacilityFactory(state=network.state)),
        "hub_coordinator": posted(Role.HUB_COORDINATOR, facility=hub, state=hub.state),
        "operator": StaffUserFactory(role=Role.OPERATOR),
        "state_admin": posted(Role.STATE_ADMIN, state=hub.state),
    }
    args = {
        "patient_id": case.patient_id,
        "case_id": case.pk,
        "attachment_id": attachment.pk,
        "prescription_id": prescription.pk,
    }
    return {"case": case, "people": people, "args": args}


#: The identifiers each route takes.
ARGS: dict[str, tuple[str, ...]] = {
    "centre:patient": ("patient_id",),
    "centre:case_new": ("patient_id",),
    "centre:suggest": ("patient_id",),
    "centre-api:patient": ("patient_id",),
    "centre-api:suggestion": ("patient_id",),
    "centre:case": ("case_id",),
    "centre:attach": ("case_id",),
    "centre:join": ("case_id",),
    "centre-api:case": ("case_id",),
    "centre-api:case-status": ("case_id",),
    "centre-api:attachments": ("case_id",),
    "centre-api:join": ("case_id",),
    "centre:attachment": ("case_id", "attachment_id"),
    "centre:thermal": ("case_id", "prescription_id"),
    "centre:dispense": ("case_id", "prescription_id"),
    "centre-api:dispense": ("case_id", "prescription_id"),
}


def _url(name: str, args: dict[str, Any]) -> str:
    return reverse(name, kwargs={key: args[key] for key in ARGS.get(name, ())})


def _payload(name: str) -> dict[str, Any]:
    if name in ("centre:attach", "centre-api:attachments"):
        return {
            "file": SimpleUploadedFile("b.png", PNG, content_type="image/png"),
            "kind": "photo",
        }
    return {}


def _client(name: str, user: Any):
    client = APIClient(raise_request_exception=False)
    if user is not None:
        if name.startswith("centre-api:"):
            client.force_authenticate(user)
        else:
            client.force_login(user)
    return client


def expected(name: str, who: str) -> tuple[int, ...]:
    route, is_api = ROUTES[name], name.startswith("centre-api:")
    if who == "anonymous":
        return (401, 403) if is_api else (302,)
    if who == "centre_cho":
        return route.served
    if who == "other_centre_cho":
        return (404,) if route.scoped else route.served
    return (403,)


def test_every_centre_route_is_walked():
    assert set(ROUTES) == set(RULES)


@pytest.mark.parametrize("name", sorted(RULES))
def test_each_person_on_a_centre_route(world, name):
    route = ROUTES[name]
    patient_id = world["case"].patient_id
    problems = []
    for who in PEOPLE:
        user = world["people"][who]
        client = _client(name, user)
        before = AuditEvent.objects.filter(patient_id=patient_id).count()
        url = _url(name, world["args"])
        if route.method == "get":
            status = client.get(url).status_code
        else:
            status = client.post(url, _payload(name), format="multipart").status_code
        if status not in expected(name, who):
            problems.append(f"{name} as {who} gave {status}, expected {expected(name, who)}")
        if who == "anonymous" and status == 302:
            location = client.get(url).get("Location", "") if route.method == "get" else ""
            if route.method == "get" and "next=" not in location:
                problems.append(f"{name} sent the signed-out to {location}, not sign-in")
        after = AuditEvent.objects.filter(patient_id=patient_id).count()
        if who == "centre_cho" and route.audited and after == before:
            problems.append(f"{name} as the centre's CHO wrote no AuditEvent for the patient")
        if who not in ("centre_cho",) and route.scoped and after != before:
            problems.append(f"{name} as {who} wrote an AuditEvent for a patient it may not see")
    assert not problems, "\n" + "\n".join(problems)
