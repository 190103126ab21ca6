"""A NUL character in the query string never reaches a database filter (PostgreSQL refuses
it with an error, which would be a 500): it is dropped, and the request answers as without it.
Found by the API fuzz on PostgreSQL (``GET /api/v1/opd/opds/?state=...%00...``)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.factories import DoctorFactory, OnlineOPDFactory, PatientFactory

pytestmark = pytest.mark.django_db


def _api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_the_opd_list_answers_a_state_with_a_nul_as_without_it():
    opd = OnlineOPDFactory()
    api = _api(PatientFactory().account)
    code = opd.state.code
    plain = api.get("/api/v1/opd/opds/", {"state": code})
    with_nul = api.get(f"/api/v1/opd/opds/?state={code[:1]}%00{code[1:]}")
    raw_nul = api.get("/api/v1/opd/opds/", {"state": f"{code}\x00"})
    assert plain.status_code == with_nul.status_code == raw_nul.status_code == 200
    assert plain.json() == with_nul.json() == raw_nul.json()
    assert str(opd.pk) in {row["id"] for row in plain.json()}


def test_a_medicine_search_with_a_nul_searches_what_remains():
    api = _api(DoctorFactory().user)
    plain = api.get("/api/v1/prescriptions/medicines/", {"q": "para"})
    with_nul = api.get("/api/v1/prescriptions/medicines/?q=pa%00ra")
    assert plain.status_code == with_nul.status_code == 200
    assert plain.json() == with_nul.json()


def test_an_encoded_percent_sign_is_not_a_nul(client):
    """``%2500`` is the text "%00", not a NUL: it is left alone."""
    response = client.get("/api/v1/opd/opds/?state=%2500")
    assert response.status_code in (200, 401, 403)
    assert response.wsgi_request.GET["state"] == "%00"
