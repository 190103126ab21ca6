"""The operator's OPD API: a token with consent, its status, joining the room with the
patient, rejoining after a missed call, cancelling; without consent 400 and nothing done."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from sanjeevani.accounts.models import Role
from sanjeevani.consultations import services as consultations
from sanjeevani.patients import assisted
from sanjeevani.patients.assisted import Consent
from sanjeevani.patients.models import AssistedAction
from sanjeevani.queueing import services as queue
from sanjeevani.queueing.models import Ticket
from tests.factories import DistrictFactory, StaffUserFactory
from tests.opd.pages_support import make_clinic

pytestmark = pytest.mark.django_db

CONSENT = {
    "consent_agreed": True,
    "consent_statement": "I agree that the operator takes a token for me.",
    "consent_given_by": "Ramesh Kumar",
}


@pytest.fixture
def setting(settings, tmp_path):
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
        Consent(True, "I agree.", "Ramesh Kumar"),
    )
    api = APIClient()
    api.force_authenticate(operator)
    take = reverse("opd-api:assisted-take-token", args=[patient.pk, clinic.opd.pk])
    return clinic, operator, patient, api, take


def test_a_token_needs_consent_then_answers_its_status(setting):
    clinic, operator, patient, api, take = setting

    refused = api.post(take, {"complaint": "Cough"}, format="json")
    assert refused.status_code == 400
    assert "consent_agreed" in refused.json()["error"]["fields"]
    assert not Ticket.objects.filter(patient=patient).exists()

    created = api.post(take, {"complaint": "Cough", **CONSENT}, format="json")
    assert created.status_code == 201, created.json()
    ticket = Ticket.objects.get(patient=patient)
    status = api.get(reverse("opd-api:assisted-ticket", args=[ticket.pk])).json()
    assert status["status"] == "waiting" and status["position"] == 1

    again = api.post(take, {"complaint": "Cough", **CONSENT}, format="json")
    assert again.status_code == 409


def test_join_rejoin_and_cancel_through_the_api(setting):
    clinic, operator, patient, api, take = setting
    api.post(take, CONSENT, format="json")
    ticket = Ticket.objects.get(patient=patient)
    queue.go_online(clinic.doctor.user, clinic.opd)
    consultations.call_next_patient(clinic.doctor.user)
    consultations.expire_unanswered_calls(now=timezone.now() + dt.timedelta(minutes=5))

    rejoined = api.post(
        reverse("opd-api:assisted-rejoin", args=[ticket.pk]), CONSENT, format="json"
    )
    assert rejoined.status_code == 200 and rejoined.json()["status"] == "waiting"

    consultations.call_next_patient(clinic.doctor.user)
    join = reverse("opd-api:assisted-join", args=[ticket.pk])
    assert api.post(join, {}, format="json").status_code == 400
    joined = api.post(join, CONSENT, format="json")
    assert joined.status_code == 200, joined.json()
    consultation = ticket.consultations.order_by("-created_at").first()
    assert joined.json()["room_url"] == reverse("realtime:room", args=[consultation.pk])

    other = APIClient()
    other.force_authenticate(StaffUserFactory(role=Role.OPERATOR))
    cancel = reverse("opd-api:assisted-cancel", args=[ticket.pk])
    assert other.post(cancel, CONSENT, format="json").status_code == 404
    patient_api = APIClient()
    patient_api.force_authenticate(patient.account)
    assert patient_api.post(cancel, CONSENT, format="json").status_code == 403
    kinds = set(AssistedAction.objects.filter(operator=operator).values_list("kind", flat=True))
    assert kinds == {"registered", "took_token", "rejoined", "joined_room"}
