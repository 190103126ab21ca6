"""Every hub route (``hub.RULES``: the desk, referrals, the doctor's case steps, the
attachments, and the workspace mounted for the hub line) walked by nine people: the
signed-out, the patient, the case's hub doctor, a doctor of another hub, the centre's CHO,
the coordinator of this hub and of another hub, an operator and a state administrator.
Each person's request runs in a savepoint that is rolled back; a read of the patient's
data by the person served leaves an audit row naming the patient."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.urls import reverse
from rest_framework.test import APIClient

from sanjeevani.accounts.models import Role
from sanjeevani.audit.models import AuditEvent
from sanjeevani.hwc import services as hwc
from tests.factories import PostingFactory, StaffUserFactory
from tests.hwc.factories import build_network, send_case
from tests.opd.pages_support import PNG_BYTES

from .hub import CONSULTATION_SCOPED, RULES

pytestmark = pytest.mark.django_db

PEOPLE = (
    "anonymous",
    "patient",
    "hub_doctor",
    "other_hub_doctor",
    "cho",
    "hub_coordinator",
    "other_hub_coordinator",
    "operator",
    "state_admin",
)
#: What a person served may get: a read 200; a write that reached its view (done, or
#: refused for its empty body or the consultation's state).
READ_OK = {200}
WRITE_OK = {200, 201, 202, 204, 302, 400, 409}
SIGN_IN = ("/accounts/staff/", "/accounts/otp/")

#: Methods of the routes that change something (the rest are read with GET).
METHODS: dict[str, str] = {
    "hub:reassign": "post",
    "hub:acknowledge": "post",
    "hub:forward": "post",
    "hub:refer": "post",
    "hub:follow_up": "post",
    "hub-api:reassign": "post",
    "hub-api:referral-acknowledge": "post",
    "hub-api:forward": "post",
    "hub-api:refer": "post",
    "hub-api:follow-up": "post",
    "hub-workspace:presence": "post",
    "hub-workspace:call_next": "post",
    "hub-workspace:confirm_identity": "post",
    "hub-workspace:save_record": "post",
    "hub-workspace:prescribe": "post",
    "hub-workspace:end": "post",
    "hub-workspace:dropped": "post",
    "hub-workspace:hold": "post",
    "hub-workspace-api:consultation-identity": "post",
    "hub-workspace-api:consultation-record": "patch",
    "hub-workspace-api:consultation-hold": "post",
    "hub-workspace-api:consultation-resume": "post",
    "hub-workspace-api:consultation-end": "post",
    "hub-workspace-api:consultation-drop": "post",
    "hub-workspace-api:doctor-online": "post",
    "hub-workspace-api:doctor-offline": "post",
    "hub-workspace-api:doctor-break": "post",
    "hub-workspace-api:doctor-call-next": "post",
}
#: Reads of the patient's data: the person served leaves an audit row naming the patient.
AUDITED = {
    "hub:referral",
    "hub:attachment",
    "hub-api:referral",
    "hub-api:case",
    "hub-workspace:consultation",
    "hub-workspace-api:consultation-detail",
    "hub-workspace-api:consultation-earlier",
}
#: Routes that name one case, consultation, referral or file (the rest are lists or the
#: person's own console).
SCOPED = {
    "hub:reassign",
    "hub:referral",
    "hub:acknowledge",
    "hub:forward",
    "hub:refer",
    "hub:follow_up",
    "hub-api:reassign",
    "hub-api:referral",
    "hub-api:referral-acknowledge",
    "hub-api:case",
    "hub-api:forward",
    "hub-api:refer",
    "hub-api:follow-up",
    *(f"hub-workspace:{n}" for n in CONSULTATION_SCOPED),
    *(f"hub-workspace-api:{n}" for n in CONSULTATION_SCOPED),
}


@pytest.fixture
def world(settings, tmp_path) -> dict[str, Any]:
    """A case in doctor A's care at hub A (store and forward, with a photo), a case waiting
    at hub A, and a referral to hub A from a consultation at hub B."""
    settings.MEDIA_ROOT = tmp_path
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    network = build_network()
    hwc.go_online_at_hub(network.doctor_b.user, network.hub_b, network.general)
    at_b = send_case(network, mode="store_forward", specialty="general-medicine")
    assert at_b.ticket.hub == network.hub_b
    consultation_b = hwc.call_next_case(network.doctor_b.user).consultation
    referral = hwc.refer_patient(
        network.doctor_b.user, consultation_b, network.hub_a, "Needs the PHC", "soon"
    )
    hwc.go_online_at_hub(network.doctor_a.user, network.hub_a, network.general)
    case = send_case(network, mode="store_forward")
    consultation = hwc.call_next_case(network.doctor_a.user).consultation
    upload = SimpleUploadedFile("a.png", PNG_BYTES, content_type="image/png")
    attachment = hwc.attach_to_case(network.cho, case, upload, "photo", "Rash")
    waiting = send_case(network)
    assert waiting.ticket.hub == network.hub_a

    def posted(role: Role, hub) -> Any:
        return PostingFactory(user__role=role, facility=hub, state=hub.state).user

    people = {
        "anonymous": None,
        "patient": case.patient.account,
        "hub_doctor": network.doctor_a.user,
        "other_hub_doctor": network.doctor_b.user,
        "cho": network.cho,
        "hub_coordinator": posted(Role.HUB_COORDINATOR, network.hub_a),
        "other_hub_coordinator": posted(Role.HUB_COORDINATOR, network.hub_b),
        "operator": StaffUserFactory(role=Role.OPERATOR),
        "state_admin": PostingFactory(user__role=Role.STATE_ADMIN, state=network.state).user,
    }
    args = {
        "consultation_id": consultation.pk,
        "case_id": waiting.pk,
        "referral_id": referral.pk,
        "attachment_id": attachment.pk,
    }
    patients = {
        "consultation_id": case.patient_id,
        "referral_id": referral.patient_id,
        "attachment_id": case.patient_id,
    }
    return {"people": people, "args": args, "patients": patients}


def _kwargs(name: str, args: dict[str, Any]) -> dict[str, Any]:
    from tests.access.routes import named_routes

    pattern = named_routes()[name]
    return {key: value for key, value in args.items() if f"<uuid:{key}>" in pattern}


def served(name: str, person: str) -> bool:
    """Whether ``person`` is one the route serves (this hub's coordinator, the case's
    doctor, those in the case's care); a doctor of another hub is served their own lists."""
    audience = RULES[name]
    if audience == "coordinators":
        return person == "hub_coordinator" or (
            person == "other_hub_coordinator" and name not in SCOPED
        )
    if audience == "hub doctors":
        return person == "hub_doctor" or (person == "other_hub_doctor" and name not in SCOPED)
    if audience == "staff":
        return person not in ("anonymous", "patient")
    # The case's care (``consultations.care_team``, view_record): its doctor, the centre's
    # CHO and the patient's own family account.
    return person in ("hub_doctor", "cho", "patient")


def expected_refusal(name: str, person: str) -> str:
    audience = RULES[name]
    is_api = "-api:" in name
    if person == "anonymous":
        if audience == "staff":
            return "not_found"
        return "refused" if is_api else "sign_in"
    if audience == "case's care" or audience == "staff":
        return "not_found"
    if audience == "coordinators" and person == "other_hub_coordinator":
        return "not_found"
    if audience == "hub doctors" and person == "other_hub_doctor":
        return "not_found"
    return "forbidden"


def _check(world: dict[str, Any], name: str, person: str) -> str | None:
    user = world["people"][person]
    kwargs = _kwargs(name, world["args"])
    url = reverse(name, kwargs=kwargs)
    method = METHODS.get(name, "get")
    client = APIClient(raise_request_exception=False)
    if user is not None:
        client.force_login(user)
    patient_id = next((world["patients"][k] for k in kwargs if k in world["patients"]), None)
    before = AuditEvent.objects.filter(actor=user, patient_id=patient_id).count() if user else 0
    send = getattr(client, method)
    response = send(url, {}, format="json") if "-api:" in name and method != "get" else send(url)
    status = response.status_code
    said = f"{method.upper()} {url} ({name}) as {person} gave {status}"
    if status >= 500:
        return f"{said}: a server error"
    if served(name, person):
        wanted = READ_OK if method == "get" else WRITE_OK
        if status not in wanted:
            return f"{said}, expected {sorted(wanted)}"
        if name in AUDITED and method == "get" and patient_id is not None:
            after = AuditEvent.objects.filter(actor=user, patient_id=patient_id).count()
            if after <= before:
                return f"{said} but wrote no AuditEvent naming the patient"
        return None
    refusal = expected_refusal(name, person)
    if refusal == "sign_in":
        location = response.headers.get("Location", "")
        if status != 302 or not any(p in location for p in SIGN_IN):
            return f"{said} ({location or 'no redirect'}), expected a redirect to sign in"
    elif refusal == "refused":
        if status not in (401, 403):
            return f"{said}, expected 401 or 403"
    elif refusal == "not_found":
        if status != 404:
            return f"{said}, expected 404"
    elif status != 403:
        return f"{said}, expected 403"
    return None


@pytest.mark.parametrize("name", sorted(RULES))
def test_hub_route_answers_each_person(world, name):
    problems = []
    for person in PEOPLE:
        with transaction.atomic():
            problem = _check(world, name, person)
            transaction.set_rollback(True)
        if problem:
            problems.append(problem)
    assert not problems, "\n" + "\n".join(problems)


def test_every_hub_route_is_declared():
    from tests.access.routes import named_routes

    names = {
        n
        for n in named_routes()
        if n.split(":")[0] in ("hub", "hub-api", "hub-workspace", "hub-workspace-api")
    }
    assert names == set(RULES)
