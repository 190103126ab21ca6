"""Every fresh database carries the states, districts and specialties (data migration)."""

import pytest
from django.core.management import call_command

from sanjeevani.registry.models import District, Specialty, State

pytestmark = pytest.mark.django_db

BRIEF_CODES = {
    "AP", "AR", "AS", "BR", "CG", "GA", "GJ", "HR", "HP", "JH", "KA", "KL", "MP", "MH", "MN",
    "ML", "MZ", "NL", "OD", "PB", "RJ", "SK", "TN", "TG", "TR", "UP", "UK", "WB",
}  # fmt: skip
UT_CODES = {"AN", "CH", "DH", "DL", "JK", "LA", "LD", "PY"}


def test_all_28_states_and_8_union_territories_are_loaded():
    assert State.objects.filter(kind=State.Kind.STATE).count() == 28
    assert State.objects.filter(kind=State.Kind.UNION_TERRITORY).count() == 8
    assert set(State.objects.filter(kind="state").values_list("code", flat=True)) == BRIEF_CODES
    assert set(State.objects.filter(kind="ut").values_list("code", flat=True)) == UT_CODES
    assert State.objects.get(code="DH").name == "Dadra and Nagar Haveli and Daman and Diu"


@pytest.mark.parametrize(("code", "expected"), [("KA", 31), ("TN", 38), ("UP", 75), ("AP", 26)])
def test_districts_of_the_demo_states(code, expected):
    assert District.objects.filter(state__code=code).count() == expected


def test_specialties_include_the_common_specialist_opds():
    codes = set(Specialty.objects.values_list("code", flat=True))
    assert {
        "general-medicine", "paediatrics", "obg", "dermatology", "psychiatry", "ent",
        "ophthalmology", "orthopaedics", "cardiology",
    } <= codes  # fmt: skip
    assert len(codes) >= 20


def test_reloading_is_an_upsert_that_repeats_nothing():
    before = (State.objects.count(), District.objects.count(), Specialty.objects.count())
    State.objects.filter(code="KA").update(name="Mysore State")
    call_command("load_reference_data", stdout=None)
    after = (State.objects.count(), District.objects.count(), Specialty.objects.count())
    assert after == before
    assert State.objects.get(code="KA").name == "Karnataka"


def test_states_api_is_public_and_lists_codes(client):
    response = client.get("/api/v1/registry/states/")
    assert response.status_code == 200
    body = response.json()
    assert len(body) == 36
    assert {"code": "KA", "name": "Karnataka", "kind": "state"} in body
    assert "max-age=3600" in response["Cache-Control"]


def test_districts_api_by_state_code_in_any_case(client):
    response = client.get("/api/v1/registry/states/tn/districts/")
    assert response.status_code == 200
    names = [row["name"] for row in response.json()]
    assert "Chennai" in names and len(names) == 38


def test_districts_api_unknown_state_is_404_in_the_error_shape(client):
    response = client.get("/api/v1/registry/states/XX/districts/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_specialties_api(client):
    response = client.get("/api/v1/registry/specialties/")
    assert response.status_code == 200
    assert {"code": "obg", "name": "Obstetrics & Gynaecology"} in response.json()


def test_district_list_gives_the_ids_a_patient_profile_needs(client):
    from sanjeevani.registry.models import District

    response = client.get("/api/v1/registry/states/KA/districts/")
    assert response.status_code == 200
    mysuru = next(d for d in response.json() if d["name"] == "Mysuru")
    assert mysuru["id"] == District.objects.get(state__code="KA", name="Mysuru").pk
