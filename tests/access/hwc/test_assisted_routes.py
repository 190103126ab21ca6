"""Every assisted-registration route walked by eight people: the signed-out, the patient's
own account, another patient, a doctor, a CHO, the operator who registered the patient and
took the token, another operator, and a state administrator. Declared audiences are in
``assisted.RULES``; a read of the patient by the operator leaves an audit row naming them."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from sanjeevani.accounts.models import Role
from sanjeevani.audit.models import AuditEvent
from sanjeevani.consultations import services as consultations
from sanjeevani.opd import assisted as opd_assisted
from sanjeevani.patients import assisted
from sanjeevani.patients.assisted import Consent
from sanjeevani.patients.models import AssistedAction
from sanjeevani.queueing import services as queue
from sanjeevani.queueing.models import Ticket
from tests.factories import DistrictFactory, PatientFactory, PostingFactory, StaffUserFactory
from tests.opd.pages_support import make_clinic

from .assisted import ASSISTING_OPERATOR, OPERATOR, RULES

pytestmark = pytest.mark.django_db

PEOPLE = (
    "anonymous",
    "own_patient",
    "other_patient",
    "doctor",
    "cho",
    "operator",
    "other_operator",
    "state_admin",
)
POST_ONLY = {
    "opd:assisted_join",
    "opd:assisted_rejoin",
    "opd:assisted_cancel",
    "opd-api:assisted-take-token",
    "opd-api:assisted-join",
    "opd-api:assisted-rejoin",
    "opd-api:assisted-cancel",
}
#: Frequent polls that show no more than the queue's figures (as the patient's own poll).
NOT_AUDITED = {"opd:assisted_ticket_status"}
AGREED = Consent(True, "I agree.", "Ramesh Kumar")


@pytest.fixture
def world(settings, tmp_path) -> dict[str, Any]:
    settings.SMS_BACKEND = "file"
    settings.SMS_OUTBOX_DIR = tmp_path / "outbox"
    clinic = make_clinic()
    operator = StaffUserFactory(role=Role.OPERATOR)
    patient = assisted.register_patient(
        operator,
        "98450 12345",
        {
            "name": "Ramesh Kumar",
            "age_years": 67,
            "sex": "M",
            "state": clinic.state.pk,
            "district": DistrictFactory(state=clinic.state).pk,
        },
        AGREED,
    )
    ticket = opd_assisted.take_token_for(operator, patient, clinic.opd, AGREED)
    queue.go_online(clinic.doctor.user, clinic.opd)
    consultations.call_next_patient(clinic.doctor.user)
    return {
        "clinic": clinic,
        "patient": patient,
        "ticket": ticket,
        "people": {
            "anonymous": None,
            "own_patient": patient.account,
            "other_patient": PatientFactory(state=clinic.state).account,
            "doctor": clinic.doctor.user,
            "cho": PostingFactory(user__role=Role.CHO, state=clinic.state).user,
            "operator": operator,
            "other_operator": StaffUserFactory(role=Role.OPERATOR),
            "state_admin": PostingFactory(user__role=Role.STATE_ADMIN, state=clinic.state).user,
        },
    }


def _url(route: str, world: dict[str, Any]) -> str:
    patient, ticket = world["patient"], world["ticket"]
    if route in ("opd:assisted_take_token", "opd-api:assisted-take-token"):
        return reverse(route, args=[patient.pk, world["clinic"].opd.pk])
    if route in ("assisted-api:patient", "opd:assisted_patient", "opd:assisted_opd_list"):
        return reverse(route, args=[patient.pk])
    if route.startswith(("opd:assisted_", "opd-api:assisted-")):
        return reverse(route, args=[ticket.pk])
    return reverse(route)


def _expected(route: str, who: str) -> set[int]:
    api = route.startswith(("assisted-api:", "opd-api:"))
    if who == "anonymous":
        return {401, 403} if api else {302}
    if who not in ("operator", "other_operator"):
        return {403}
    if who == "other_operator" and RULES[route] == ASSISTING_OPERATOR:
        return {404}
    # The operator's write without the patient's consent re-shows the form (a page) or
    # answers 400 (the API): nothing done.
    return {400} if api and route in POST_ONLY else {200}


@pytest.mark.parametrize("route", sorted(RULES))
def test_each_person_on_each_assisted_route(world, route):
    problems = []
    patient = world["patient"]
    for who in PEOPLE:
        user = world["people"][who]
        client = APIClient(raise_request_exception=False)
        if user is not None:
            client.force_login(user)
        before = AuditEvent.objects.filter(patient_id=patient.pk).count()
        url = _url(route, world)
        response = client.post(url, {}) if route in POST_ONLY else client.get(url)
        expected = _expected(route, who)
        if response.status_code not in expected:
            problems.append(f"{route} as {who} gave {response.status_code}, expected {expected}")
        shown = response.status_code == 200 and patient.name in response.content.decode()
        if who != "operator" and shown:
            problems.append(f"{route} as {who} showed the patient")
        audited = AuditEvent.objects.filter(patient_id=patient.pk).count() > before
        if shown and route not in NOT_AUDITED and not audited:
            problems.append(f"{route} as {who} showed the patient without an audit row")
    assert not problems, "\n" + "\n".join(problems)
    ticket = Ticket.objects.get(pk=world["ticket"].pk)
    assert ticket.status == Ticket.Status.CALLED, "a refused or consent-less write changed it"
    assert not AssistedAction.objects.exclude(
        kind__in=[AssistedAction.Kind.REGISTERED, AssistedAction.Kind.TOOK_TOKEN]
    ).exists()


def test_the_declared_audiences_are_the_two_known_ones():
    assert set(RULES.values()) <= {OPERATOR, ASSISTING_OPERATOR}
