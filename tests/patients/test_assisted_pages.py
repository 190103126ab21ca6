"""The operator's way through the pages and the API: register a patient with their consent,
find them, take an Online OPD token, wait, join the room with the patient when the doctor
calls. Each step without consent is refused with a message; nothing is done."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from sanjeevani.accounts.models import Role
from sanjeevani.audit.models import AuditEvent
from sanjeevani.consultations import services as consultations
from sanjeevani.consultations.models import Consultation
from sanjeevani.patients.models import AssistedAction, Patient
from sanjeevani.prescriptions.services import issue_prescription
from sanjeevani.queueing import services as queue
from sanjeevani.queueing.models import Ticket
from tests.access.world import _paracetamol
from tests.factories import PASSWORD, DistrictFactory, StaffUserFactory
from tests.opd.pages_support import make_clinic

pytestmark = pytest.mark.django_db

Kind = AssistedAction.Kind
STATEMENT = "I agree that the operator registers me and takes a token for me."


@pytest.fixture(autouse=True)
def _outbox(settings, tmp_path):
    settings.SMS_BACKEND = "file"
    settings.SMS_OUTBOX_DIR = tmp_path / "outbox"


@pytest.fixture
def clinic():
    return make_clinic()


@pytest.fixture
def operator():
    return StaffUserFactory(role=Role.OPERATOR)


@pytest.fixture
def operator_client(client, operator):
    client.force_login(operator)
    return client


def consent(prefix: str = "", agreed: bool = True) -> dict[str, str]:
    fields = {
        "consent_statement": STATEMENT,
        "consent_given_by": "Ramesh Kumar",
        **({"consent_agreed": "on"} if agreed else {}),
    }
    return {f"{prefix}-{k}" if prefix else k: v for k, v in fields.items()}


def registration(clinic, **overrides) -> dict[str, str]:
    data = {
        "mobile": "98450 12345",
        "relation": "self",
        "name": "Ramesh Kumar",
        "age_years": "67",
        "sex": "M",
        "state": str(clinic.state.pk),
        "district": str(DistrictFactory(state=clinic.state).pk),
        "preferred_language": "hi",
        **consent(),
    }
    data.update(overrides)
    return data


def register(client, clinic) -> Patient:
    response = client.post(reverse("assisted:register"), registration(clinic))
    assert response.status_code == 302, response.content.decode()[:2000]
    patient = Patient.objects.get(name="Ramesh Kumar")
    assert response["Location"] == reverse("opd:assisted_patient", args=[patient.pk])
    return patient


def test_the_desk_offers_registration_and_search(operator_client):
    page = operator_client.get(reverse("assisted:desk")).content.decode()
    assert reverse("assisted:register") in page
    assert 'role="search"' in page


def test_registering_on_the_page_records_the_consent(operator_client, operator, clinic):
    patient = register(operator_client, clinic)

    action = AssistedAction.objects.get(patient=patient)
    assert (action.operator, action.kind, action.consent_statement) == (
        operator,
        Kind.REGISTERED,
        STATEMENT,
    )
    page = operator_client.get(reverse("opd:assisted_patient", args=[patient.pk]))
    assert patient.patient_number in page.content.decode()
    assert AuditEvent.objects.filter(action="patient.view", patient_id=patient.pk).exists()


def test_registering_without_consent_says_what_to_do(operator_client, clinic):
    response = operator_client.post(
        reverse("assisted:register"), registration(clinic, consent_agreed="")
    )
    assert response.status_code == 200
    assert "tick the box once they agree" in response.content.decode()
    assert not Patient.objects.filter(name="Ramesh Kumar").exists()


def test_the_list_finds_the_operator_s_patient_by_mobile(operator_client, clinic):
    patient = register(operator_client, clinic)
    page = operator_client.get(reverse("assisted:patients"), {"q": "9845012345"})
    assert patient.name in page.content.decode()
    nothing = operator_client.get(reverse("assisted:patients"), {"q": clinic.patient.name})
    assert 'id="no-match"' in nothing.content.decode()
    assert reverse("opd:assisted_patient", args=[clinic.patient.pk]) not in nothing.content.decode()


def test_token_wait_call_and_join_with_the_patient(operator_client, operator, clinic):
    patient = register(operator_client, clinic)
    listing = operator_client.get(
        reverse("opd:assisted_opd_list", args=[patient.pk]), {"state": clinic.state.code}
    )
    take_url = reverse("opd:assisted_take_token", args=[patient.pk, clinic.opd.pk])
    assert take_url in listing.content.decode()

    refused = operator_client.post(take_url, {"complaint": "Cough", **consent(agreed=False)})
    assert refused.status_code == 200 and not Ticket.objects.exists()

    taken = operator_client.post(take_url, {"complaint": "Cough", **consent()})
    ticket = Ticket.objects.get(patient=patient)
    assert taken["Location"] == reverse("opd:assisted_ticket", args=[ticket.pk])
    waiting = operator_client.get(taken["Location"]).content.decode()
    assert "Join with the patient" not in waiting
    status = operator_client.get(reverse("opd:assisted_ticket_status", args=[ticket.pk])).json()
    assert status["status"] == "waiting" and status["position"] == 1

    queue.go_online(clinic.doctor.user, clinic.opd)
    consultations.call_next_patient(clinic.doctor.user)
    calling = operator_client.get(taken["Location"]).content.decode()
    assert "Join with the patient" in calling

    joined = operator_client.post(
        reverse("opd:assisted_join", args=[ticket.pk]), consent(prefix="join")
    )
    consultation = ticket.consultations.get()
    assert joined["Location"] == reverse("realtime:room", args=[consultation.pk])
    assert operator_client.get(joined["Location"]).status_code == 200
    kinds = set(AssistedAction.objects.filter(operator=operator).values_list("kind", flat=True))
    assert kinds == {Kind.REGISTERED, Kind.TOOK_TOKEN, Kind.JOINED_ROOM}


def test_cancelling_needs_the_patient_s_consent_too(operator_client, clinic):
    patient = register(operator_client, clinic)
    operator_client.post(
        reverse("opd:assisted_take_token", args=[patient.pk, clinic.opd.pk]), consent()
    )
    ticket = Ticket.objects.get(patient=patient)
    cancel = reverse("opd:assisted_cancel", args=[ticket.pk])

    refused = operator_client.post(cancel, consent(prefix="cancel", agreed=False))
    assert refused.status_code == 200
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.WAITING

    done = operator_client.post(cancel, consent(prefix="cancel"))
    assert done["Location"] == reverse("opd:assisted_patient", args=[patient.pk])
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.CANCELLED


def test_the_api_registers_lists_and_reads_the_operator_s_patients(operator, clinic):
    api = APIClient()
    api.force_authenticate(operator)
    url = reverse("assisted-api:patients")

    refused = api.post(url, registration(clinic, consent_agreed=False), format="json")
    assert refused.status_code == 400, refused.json()
    assert "consent_agreed" in refused.json()["error"]["fields"]

    body = registration(clinic)
    body["consent_agreed"] = True
    created = api.post(url, body, format="json")
    assert created.status_code == 201, created.json()
    patient_id = created.json()["id"]

    assert [p["id"] for p in api.get(url, {"q": "Ramesh"}).json()] == [patient_id]
    one = api.get(reverse("assisted-api:patient", args=[patient_id])).json()
    assert one["assisted_actions"][0]["kind"] == Kind.REGISTERED
    assert one["assisted_actions"][0]["consent_statement"] == STATEMENT

    stranger = APIClient()
    stranger.force_authenticate(StaffUserFactory(role=Role.OPERATOR))
    assert stranger.get(reverse("assisted-api:patient", args=[patient_id])).status_code == 404
    cho = APIClient()
    cho.force_authenticate(StaffUserFactory(role=Role.CHO))
    assert cho.get(url).status_code == 403


def test_the_operator_opens_the_prescription_of_the_consultation_they_joined(
    operator_client, operator, clinic
):
    patient = register(operator_client, clinic)
    operator_client.post(
        reverse("opd:assisted_take_token", args=[patient.pk, clinic.opd.pk]), consent()
    )
    ticket = Ticket.objects.get(patient=patient)
    queue.go_online(clinic.doctor.user, clinic.opd)
    consultations.call_next_patient(clinic.doctor.user)
    operator_client.post(reverse("opd:assisted_join", args=[ticket.pk]), consent(prefix="join"))
    consultation = ticket.consultations.get()
    # What the doctor's workspace records before signing (identity, mode, the record).
    Consultation.objects.filter(pk=consultation.pk).update(
        identity_confirmed_at=timezone.now(),
        identity_method="Aadhaar card shown to the camera",
        confirmed_age_years=67,
        mode=Consultation.Mode.AUDIO,
        observed_mode=Consultation.Mode.AUDIO,
        mode_confirmed_at=timezone.now(),
        complaints="Cough for a week",
        diagnoses=[{"code": "R05", "label": "Cough"}],
    )
    consultation.refresh_from_db()
    prescription = issue_prescription(
        clinic.doctor.user, consultation, items=[_paracetamol()], password=PASSWORD
    )

    page = operator_client.get(reverse("opd:assisted_ticket", args=[ticket.pk])).content
    detail = reverse("prescriptions:detail", args=[prescription.pk])
    assert detail.encode() in page
    assert operator_client.get(detail).status_code == 200
    assert AuditEvent.objects.filter(
        actor=operator, action="prescription.view", patient_id=patient.pk
    ).exists()
    stranger = APIClient(raise_request_exception=False)
    stranger.force_login(StaffUserFactory(role=Role.OPERATOR))
    assert stranger.get(detail).status_code == 404
