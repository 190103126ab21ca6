"""A hub-and-spoke case through the routes and the record's selector: the centre that
asked for the consultation reads it and its prescription alike (issue 11: a CHO could open
the prescription but not the consultation it came from); another centre's CHO, another
hub's doctor, the hub coordinator, the operator and the state administrator get 404. Every
answer comes from ``consultations.care_team``."""

from __future__ import annotations

from typing import Any

import pytest
from django.http import Http404
from django.urls import reverse
from rest_framework.test import APIClient

from sanjeevani.accounts.models import Role
from sanjeevani.audit.models import AuditEvent
from sanjeevani.consultations.models import Consultation
from sanjeevani.consultations.selectors import consultation_for_user
from sanjeevani.patients.documents import upload_document
from sanjeevani.patients.models import PatientDocument
from sanjeevani.prescriptions.services import issue_prescription
from tests.factories import (
    PASSWORD,
    DoctorFactory,
    FacilityFactory,
    HubFactory,
    PatientFactory,
    PostingFactory,
    StaffUserFactory,
)
from tests.prescriptions.factories import VideoConsultationFactory

from .world import _paracetamol, pdf_upload

pytestmark = pytest.mark.django_db

PRESCRIPTION_PAGE = "prescriptions:detail"
PRESCRIPTION_API = "prescriptions-api:detail"
JOIN = "realtime-api:join-token"
DOCUMENTS = "patient-documents-api:list"
DOCUMENT_FILE = "patient-documents-api:file"

#: Who gets 200 on each route; everyone else 404.
SERVED: dict[str, set[str]] = {
    PRESCRIPTION_PAGE: {"family", "doctor", "requester", "centre_cho"},
    PRESCRIPTION_API: {"family", "doctor", "requester", "centre_cho"},
    JOIN: {"family", "doctor", "requester"},
    DOCUMENTS: {"family", "doctor"},
    DOCUMENT_FILE: {"family", "doctor"},
}
PEOPLE = (
    "family",
    "doctor",
    "requester",
    "centre_cho",
    "other_centre_cho",
    "hub_coordinator",
    "other_hub_doctor",
    "operator",
    "state_admin",
)


@pytest.fixture
def case(settings, tmp_path) -> dict[str, Any]:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    hub, other_hub = HubFactory(), HubFactory()
    spoke = FacilityFactory(state=hub.state)
    requester = PostingFactory(user__role=Role.CHO, facility=spoke, state=spoke.state).user
    consultation = VideoConsultationFactory(
        service_line=Consultation.ServiceLine.HUB_SPOKE,
        opd=None,
        hub=hub,
        spoke=spoke,
        requested_by=requester,
        patient=PatientFactory(state=hub.state),
    )
    prescription = issue_prescription(
        consultation.doctor.user, consultation, items=[_paracetamol()], password=PASSWORD
    )
    patient = consultation.patient
    document = upload_document(
        patient.account, patient, pdf_upload(), "Old report", PatientDocument.Kind.REPORT
    )
    other_hub_doctor = DoctorFactory()
    other_hub_doctor.hubs.add(other_hub)

    def posted(role: Role, **where) -> Any:
        return PostingFactory(user__role=role, **where).user

    return {
        "consultation": consultation,
        "prescription": prescription,
        "document": document,
        "people": {
            "family": patient.account,
            "doctor": consultation.doctor.user,
            "requester": requester,
            "centre_cho": posted(Role.CHO, facility=spoke, state=spoke.state),
            "other_centre_cho": posted(
                Role.CHO, facility=FacilityFactory(state=hub.state), state=hub.state
            ),
            "hub_coordinator": posted(Role.HUB_COORDINATOR, facility=hub, state=hub.state),
            "other_hub_doctor": other_hub_doctor.user,
            "operator": StaffUserFactory(role=Role.OPERATOR),
            "state_admin": posted(Role.STATE_ADMIN, state=hub.state),
        },
    }


def _url(route: str, case: dict[str, Any]) -> str:
    if route in (PRESCRIPTION_PAGE, PRESCRIPTION_API):
        return reverse(route, kwargs={"prescription_id": case["prescription"].pk})
    if route == DOCUMENTS:
        return reverse(route, kwargs={"patient_id": case["consultation"].patient_id})
    if route == DOCUMENT_FILE:
        return reverse(route, kwargs={"document_id": case["document"].pk})
    return reverse(route, kwargs={"consultation_id": case["consultation"].pk})


@pytest.mark.parametrize("who", PEOPLE)
def test_the_consultation_record_agrees_with_its_prescription(case, who):
    """No page mounts hub-and-spoke consultations yet (the workspace is mounted for the OPD
    line only), so the record is read through the selector every mount uses."""
    consultation = case["consultation"]
    user = case["people"][who]
    try:
        found = consultation_for_user(user, consultation.pk)
    except Http404:
        found = None
    assert (found is not None) == (who in SERVED[PRESCRIPTION_API])
    audited = AuditEvent.objects.filter(actor=user, patient_id=consultation.patient_id)
    assert audited.exists() == (found is not None)


@pytest.mark.parametrize("route", list(SERVED))
def test_each_person_on_a_hub_and_spoke_case(case, route):
    problems = []
    patient_id = case["consultation"].patient_id
    for who in PEOPLE:
        user = case["people"][who]
        client = APIClient(raise_request_exception=False)
        if route == PRESCRIPTION_PAGE:
            client.force_login(user)
        else:
            client.force_authenticate(user)
        before = AuditEvent.objects.filter(actor=user, patient_id=patient_id).count()
        status = client.get(_url(route, case)).status_code
        expected = 200 if who in SERVED[route] else 404
        if status != expected:
            problems.append(f"{route} as {who} gave {status}, expected {expected}")
        audited = AuditEvent.objects.filter(actor=user, patient_id=patient_id).count() > before
        if status == 200 and route != JOIN and not audited:
            problems.append(f"{route} as {who} wrote no AuditEvent for the patient")
    assert not problems, "\n" + "\n".join(problems)


@pytest.mark.parametrize("who", PEOPLE)
def test_the_prescription_list_agrees_with_the_detail(case, who):
    client = APIClient()
    client.force_authenticate(case["people"][who])
    listed = {row["id"] for row in client.get(reverse("prescriptions-api:list")).json()}
    assert (str(case["prescription"].pk) in listed) == (who in SERVED[PRESCRIPTION_API])
