"""The centre's JSON API (/api/v1/hwc/centre/): the same steps as the pages for a mobile
app, including the idempotent retry of a case and the duplicate check."""

from __future__ import annotations

import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework.test import APIClient

from sanjeevani.audit.models import AuditEvent
from sanjeevani.hwc.models import Case
from sanjeevani.patients.models import Patient
from tests.factories import DistrictFactory, FacilityFactory, PatientAccountFactory
from tests.hwc.factories import case_data, cho_at, send_case, walk_in

from .test_centre_pages import PNG, prescribed_case

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(network) -> APIClient:
    client = APIClient()
    client.force_authenticate(network.cho)
    return client


def test_find_a_patient_by_mobile(api, network):
    patient = walk_in(network, account=PatientAccountFactory(mobile="+919800011122"))
    found = api.get(reverse("centre-api:patients"), {"q": "9800011122"}).json()
    assert [p["id"] for p in found] == [str(patient.pk)]


def test_register_answers_409_with_duplicates_until_confirmed(api, network):
    district = DistrictFactory(state=network.state)
    walk_in(network, name="Ramesh Kumar", age_years=50, date_of_birth=None)
    body = {
        "name": "Ramesh Kumaar",
        "age_years": 51,
        "sex": "M",
        "mobile": "9811122233",
        "district": district.pk,
    }
    first = api.post(reverse("centre-api:patients"), body, format="json")
    assert first.status_code == 409
    assert first.json()["error"]["code"] == "possible_duplicates"
    second = api.post(
        reverse("centre-api:patients"), {**body, "different_person": True}, format="json"
    )
    assert second.status_code == 201
    assert Patient.objects.get(pk=second.json()["id"]).registered_at_facility_id == network.spoke.pk


def test_a_bad_mobile_number_is_a_field_message(api, network):
    answer = api.post(
        reverse("centre-api:patients"),
        {"name": "A B", "age_years": 30, "sex": "F", "mobile": "12"},
        format="json",
    )
    assert answer.status_code == 400
    assert "mobile" in str(answer.json())


def test_send_a_case_twice_with_the_same_key_is_one_case(api, network):
    patient = walk_in(network)
    body = {**case_data(), "patient": str(patient.pk)}
    first = api.post(reverse("centre-api:cases"), body, format="json")
    again = api.post(reverse("centre-api:cases"), body, format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["case"] == again.json()["case"]
    assert Case.objects.count() == 1
    listed = api.get(reverse("centre-api:cases")).json()
    assert listed[0]["status"] == "waiting" and listed[0]["position"] == 1


def test_impossible_vitals_answer_400_by_field(api, network):
    patient = walk_in(network)
    body = {**case_data(vitals={"spo2": 140}), "patient": str(patient.pk)}
    answer = api.post(reverse("centre-api:cases"), body, format="json")
    assert answer.status_code == 400
    assert "vital_spo2" in str(answer.json())
    assert not Case.objects.exists()


def test_attach_a_photo(api, network):
    case = send_case(network)
    upload = SimpleUploadedFile("ecg.png", PNG, content_type="image/png")
    answer = api.post(
        reverse("centre-api:attachments", args=[case.pk]),
        {"file": upload, "kind": "ecg"},
        format="multipart",
    )
    assert answer.status_code == 201
    detail = api.get(reverse("centre-api:case", args=[case.pk])).json()
    assert detail["attachments"][0]["kind"] == "ecg"


def test_stock_and_dispense(api, network):
    case, prescription = prescribed_case(network)
    item = prescription.items.get()
    short = api.post(
        reverse("centre-api:dispense", args=[case.pk, prescription.pk]),
        {"items": {str(item.pk): 2}},
        format="json",
    )
    assert short.status_code == 400
    api.post(
        reverse("centre-api:stock"), {"medicine": "paracetamol", "quantity": 10}, format="json"
    )
    given = api.post(
        reverse("centre-api:dispense", args=[case.pk, prescription.pk]),
        {"items": {str(item.pk): 2}},
        format="json",
    )
    assert given.status_code == 200
    assert given.json()[0]["on_hand"] == 8
    assert api.get(reverse("centre-api:stock")).json()["on_hand"] == {"paracetamol": 8}


def test_another_centres_cho_gets_404_and_other_roles_403(network):
    case = send_case(network)
    other = APIClient()
    other.force_authenticate(cho_at(FacilityFactory(state=network.state)))
    assert other.get(reverse("centre-api:case", args=[case.pk])).status_code == 404
    body = {**case_data(client_key=str(uuid.uuid4())), "patient": str(case.patient_id)}
    assert other.post(reverse("centre-api:cases"), body, format="json").status_code == 404
    doctor = APIClient()
    doctor.force_authenticate(network.doctor_a.user)
    assert doctor.get(reverse("centre-api:cases")).status_code == 403


@pytest.mark.parametrize(
    ("route", "body"),
    [
        ("centre-api:patients", {"name": "X", "sex": "F", "mobile": "98765", "district": 99999}),
        ("centre-api:patients", {"name": "X Y", "sex": "Q", "mobile": "9876543210"}),
        (
            "centre-api:patients",
            {"name": "X Y", "sex": "F", "mobile": "9876543210", "age_years": 300},
        ),
        ("centre-api:cases", {"patient": "not-a-uuid", "client_key": "nope"}),
        ("centre-api:stock", {"medicine": "", "quantity": -4}),
    ],
)
def test_malformed_input_is_a_message_not_a_server_error(api, network, route, body):
    answer = api.post(reverse(route), body, format="json")
    assert answer.status_code == 400, answer.content
    assert answer.json()["error"]["message"]


def test_a_case_full_of_wrong_values_is_refused_field_by_field(api, network):
    patient = walk_in(network)
    body = {
        **case_data(vitals={"pulse": "abc", "spo2": "", "bp_systolic": "-1"}),
        "patient": str(patient.pk),
        "complaints": ["not-a-complaint"],
        "mode": "telepathy",
        "specialty": "astrology",
        "consent": False,
    }
    answer = api.post(reverse("centre-api:cases"), body, format="json")
    assert answer.status_code == 400
    fields = answer.json()["error"]["fields"]
    assert {"vital_pulse", "vital_bp_systolic"} <= set(fields)
    body["vitals"] = {"pulse": "80"}
    fields = api.post(reverse("centre-api:cases"), body, format="json").json()["error"]["fields"]
    assert {"complaints", "mode", "specialty", "consent"} <= set(fields)
    assert not Case.objects.exists()


def test_dispensing_an_item_not_on_the_prescription_is_refused(api, network):
    case, prescription = prescribed_case(network)
    answer = api.post(
        reverse("centre-api:dispense", args=[case.pk, prescription.pk]),
        {"items": {str(uuid.uuid4()): 1}},
        format="json",
    )
    assert answer.status_code == 400


def test_the_status_poll_shows_the_status_only_and_is_not_a_record_read(api, network):
    """An app polls a case's status every few seconds while it waits: the list's fields,
    no vitals or files, and no audit row each time; the case itself stays audited."""
    case = send_case(network)
    reads = AuditEvent.objects.filter(action="hwc.case.view", patient_id=case.patient_id)
    polled = api.get(reverse("centre-api:case-status", args=[case.pk]))
    assert polled.status_code == 200
    body = polled.json()
    assert body["status"] == "waiting" and body["position"] == 1
    assert "vitals" not in body and "attachments" not in body
    assert reads.count() == 0
    assert "vitals" in api.get(reverse("centre-api:case", args=[case.pk])).json()
    assert reads.count() == 1


def test_a_registered_patients_address_is_kept_and_found(api, network):
    """The village typed at registration is what the prescription prints and what the
    duplicate check compares; it used to be dropped on the way to the database."""
    body = {
        "name": "Lakshmi Gowda",
        "age_years": 41,
        "sex": "F",
        "mobile": "9811122244",
        "address": "Bilikere, Hunsur taluk",
        "district": DistrictFactory(state=network.state).pk,
    }
    created = api.post(reverse("centre-api:patients"), body, format="json")
    assert created.status_code == 201, created.content
    assert Patient.objects.get(pk=created.json()["id"]).address == "Bilikere, Hunsur taluk"
    found = api.get(reverse("centre-api:patients"), {"q": "9811122244"}).json()
    assert found[0]["address"] == "Bilikere, Hunsur taluk"
    again = api.post(
        reverse("centre-api:patients"),
        {**body, "name": "Lakshmi Gowdaa", "mobile": "9811122255"},
        format="json",
    )
    assert again.status_code == 409
    reasons = str(again.json()["error"])
    assert "Bilikere" in reasons and "village" in reasons.lower()
