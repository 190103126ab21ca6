import pytest
from rest_framework.test import APIClient

from sanjeevani.audit.models import AuditEvent
from sanjeevani.patients.models import Patient
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/patients/"


@pytest.fixture
def api(account):
    client = APIClient()
    client.force_authenticate(account)
    return client


def _body(where, **overrides):
    body = {
        "name": "Fatima Khan",
        "relation": "self",
        "date_of_birth": "1979-02-14",
        "sex": "F",
        "state": where["state"].code,
        "district": where["district"].pk,
        "preferred_language": "ur",
        "abha_number": "12345678901234",
        "abha_address": "fatima.k@abdm",
    }
    body.update(overrides)
    return body


def test_create_list_retrieve_update(api, account, where):
    created = api.post(URL, _body(where), format="json")
    assert created.status_code == 201, created.content
    assert created.data["abha_number"] == "12-3456-7890-1234"
    assert created.data["state"] == where["state"].code
    child = api.post(
        URL,
        _body(where, name="Zoya Khan", relation="child", date_of_birth=None, age_years=6),
        format="json",
    )
    assert child.status_code == 201, child.content

    listed = api.get(URL)
    assert listed.status_code == 200
    assert [p["name"] for p in listed.data] == ["Fatima Khan", "Zoya Khan"]

    pk = created.data["id"]
    one = api.get(f"{URL}{pk}/")
    assert one.status_code == 200 and one.data["name"] == "Fatima Khan"

    patched = api.patch(f"{URL}{pk}/", {"abha_address": ""}, format="json")
    assert patched.status_code == 200, patched.content
    assert Patient.objects.get(pk=pk).abha_address == ""
    assert Patient.objects.get(pk=pk).abha_number == "12345678901234"


def test_reads_are_audited(api, account, where):
    mine = PatientFactory(account=account, state=where["state"])
    sibling = PatientFactory(account=account, state=where["state"], relation="sibling")

    api.get(URL)
    listed = AuditEvent.objects.filter(action="patient.view", detail__via="list")
    assert {e.patient_id for e in listed} == {mine.pk, sibling.pk}

    api.get(f"{URL}{mine.pk}/")
    detail = AuditEvent.objects.get(action="patient.view", detail__via="detail")
    assert detail.patient_id == mine.pk
    assert detail.actor == account
    assert detail.client_ip == "127.0.0.1"


def test_validation_errors_come_in_the_shared_shape(api, where):
    response = api.post(
        URL,
        _body(where, date_of_birth="2999-01-01", district=where["other_district"].pk),
        format="json",
    )

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert "future" in " ".join(error["fields"]["date_of_birth"])
    assert "district" in error["fields"]
    assert error["message"]


def test_another_familys_patient_is_404(api):
    stranger = PatientFactory()

    assert api.get(f"{URL}{stranger.pk}/").status_code == 404
    assert api.patch(f"{URL}{stranger.pk}/", {"name": "X"}, format="json").status_code == 404
    assert api.get(f"{URL}not-a-uuid/").status_code == 404
    assert not AuditEvent.objects.filter(patient_id=stranger.pk).exists()
    stranger.refresh_from_db()
    assert stranger.name != "X"


def test_staff_and_anonymous_are_refused(doctor):
    client = APIClient()
    assert client.get(URL).status_code in (401, 403)
    client.force_authenticate(doctor)
    assert client.get(URL).status_code == 403


def test_the_address_is_kept_and_a_change_that_omits_it_does_not_blank_it(api, where):
    """The prescription prints the address when there is no mobile number, and the signing
    check asks the patient to add one to their profile: the profile must keep it."""
    created = api.post(URL, _body(where, address="  12, Gandhi Nagar,\n Hubballi "), format="json")
    assert created.status_code == 201, created.content
    assert created.data["address"] == "12, Gandhi Nagar, Hubballi"
    pk = created.data["id"]
    assert api.patch(f"{URL}{pk}/", {"name": "Fatima Begum"}, format="json").status_code == 200
    assert api.get(f"{URL}{pk}/").data["address"] == "12, Gandhi Nagar, Hubballi"
    assert api.patch(f"{URL}{pk}/", {"address": ""}, format="json").status_code == 200
    assert Patient.objects.get(pk=pk).address == ""
