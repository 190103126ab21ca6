"""Rate limits through HTTP: the API answers 429 with Retry-After in its error shape, the
pages a friendly 429 page (or JSON for their scripts), per user and per address; the SMS
a burst would have sent stays within the daily ceiling and sign-in codes still go out."""

from __future__ import annotations

import re

import pytest
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from sanjeevani.audit.models import AuditEvent
from sanjeevani.queueing.models import Ticket
from tests.factories import OnlineOPDFactory, PatientFactory
from tests.queueing.factories import (  # noqa: F401 - fixtures
    API,
    doctor_fixture,
    go_online,
    opd_fixture,
    outbox_fixture,
    patient_fixture,
)
from tests.realtime.factories import ConsultationFactory

pytestmark = pytest.mark.django_db

HOME = "203.0.113.5"
ELSEWHERE = "198.51.100.7"


def api(user=None, address: str = HOME) -> APIClient:
    client = APIClient(REMOTE_ADDR=address)
    if user is not None:
        client.force_authenticate(user)
    return client


def assert_refused(response) -> int:
    """A 429 in the API's error shape with a Retry-After that says the same; its seconds."""
    assert response.status_code == 429, response.content
    wait = int(response["Retry-After"])
    assert wait > 0
    error = response.json()["error"]
    assert error["code"] == "rate_limited"
    assert error["retry_after_seconds"] == wait
    assert "wait" in error["message"]
    return wait


def test_token_burst_is_stopped_and_sms_stay_within_the_ceiling(
    settings, opd, doctor, patient, outbox, django_capture_on_commit_callbacks
):
    settings.RATE_LIMITS = {"queue.join": {"user": "4/hour"}, "queue.cancel": {"user": "3/hour"}}
    settings.SMS_DAILY_CEILING_PER_NUMBER = 5
    go_online(doctor, opd)
    number = patient.account.mobile
    client = api(patient.account)
    taken, cancelled, refused = 0, 0, []
    for _ in range(10):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                f"{API}/opds/{opd.pk}/tickets/", {"patient": str(patient.pk)}, format="json"
            )
        if response.status_code == 429:
            refused.append(assert_refused(response))
            continue
        assert response.status_code == 201, response.content
        taken += 1
        ticket_id = response.json()["id"]
        response = client.post(f"{API}/tickets/{ticket_id}/cancel/")
        if response.status_code == 429:
            refused.append(assert_refused(response))
        else:
            assert response.status_code == 200, response.content
            cancelled += 1
    assert (taken, cancelled) == (4, 3)
    assert len(refused) == 7  # the 4th cancellation, then every token after the 4th
    assert Ticket.objects.filter(patient=patient).count() == 4
    # Each token sent two notifications (token, turn near: first in line): 8 asked for,
    # 5 sent, 3 suppressed and audited.
    assert len(outbox.messages(number)) == 5
    assert AuditEvent.objects.filter(action="sms.suppressed").count() == 3

    # The same number can still sign in on a new device: its code is sent.
    response = api(address=ELSEWHERE).post(
        "/api/v1/accounts/otp/request", {"mobile": number}, format="json"
    )
    assert response.status_code == 202, response.content
    assert re.search(r"\b\d{6}\b", outbox.messages(number)[-1].body)
    assert len(outbox.messages(number)) == 6


def test_limits_are_per_user_and_per_address(settings):
    settings.RATE_LIMITS = {"family.write": {"user": "2/hour", "address": "3/hour"}}
    a, b, c = (PatientFactory().account for _ in range(3))

    def add(user, address):
        return api(user, address).post("/api/v1/patients/", {}, format="json")

    assert add(a, HOME).status_code == 400  # counted, then refused by validation
    assert add(a, HOME).status_code == 400
    assert_refused(add(a, HOME))  # a's own limit
    assert add(b, HOME).status_code == 400  # a's refused tries did not use up the address
    assert_refused(add(c, HOME))  # the address's limit: 3 counted from HOME
    assert add(c, ELSEWHERE).status_code == 400  # c elsewhere is not affected
    assert_refused(add(a, ELSEWHERE))  # a is limited from any address
    # Reads are never counted.
    assert api(a, HOME).get("/api/v1/patients/").status_code == 200


def test_a_forged_forwarded_header_does_not_move_the_limit(settings):
    settings.RATE_LIMITS = {"family.write": {"user": None, "address": "2/hour"}}
    users = [PatientFactory().account for _ in range(3)]
    for n, user in enumerate(users):
        response = api(user, HOME).post(
            "/api/v1/patients/", {}, format="json", HTTP_X_FORWARDED_FOR=f"10.9.9.{n}"
        )
        if n < 2:
            assert response.status_code == 400
        else:
            assert_refused(response)


def test_document_uploads_are_limited(settings, patient):
    settings.RATE_LIMITS = {"documents.upload": {"user": "2/hour"}}
    client = api(patient.account)
    url = f"/api/v1/patients/{patient.pk}/documents/"
    assert client.post(url, {}, format="multipart").status_code == 400
    assert client.post(url, {}, format="multipart").status_code == 400
    assert_refused(client.post(url, {}, format="multipart"))
    assert client.get(url).status_code == 200


def test_room_files_are_limited(settings):
    settings.RATE_LIMITS = {"room.file": {"user": "1/hour"}}
    consultation = ConsultationFactory()
    client = api(consultation.patient.account)
    url = f"/api/v1/realtime/rooms/{consultation.pk}/files"
    assert client.post(url, {}, format="multipart").status_code == 400
    assert_refused(client.post(url, {}, format="multipart"))


def test_page_token_refusal_is_a_friendly_page_or_json(settings, client, patient):
    settings.RATE_LIMITS = {"queue.join": {"user": "1/hour"}}
    opd = OnlineOPDFactory()
    client.force_login(patient.account)
    url = f"/opd/{opd.pk}/token"
    first = client.post(url, {"patient": str(patient.pk), "complaint": "cough"})
    assert first.status_code == 302
    back = f"http://testserver/opd/{opd.pk}/?patient={patient.pk}"
    page = client.post(url, {"patient": str(patient.pk)}, HTTP_REFERER=back)
    assert page.status_code == 429
    assert int(page["Retry-After"]) > 0
    text = page.content.decode()
    assert "You have done this too often" in text and "minutes" in text
    assert f'href="{back}"' in text
    as_json = client.post(url, {"patient": str(patient.pk)}, HTTP_ACCEPT="application/json")
    assert as_json.status_code == 429
    assert as_json.json()["code"] == "rate_limited"
    assert as_json.json()["retry_after_seconds"] == int(as_json["Retry-After"])
    assert Ticket.objects.filter(patient=patient).count() == 1


def test_page_upload_is_limited(settings, client, patient):
    settings.RATE_LIMITS = {"documents.upload": {"user": "1/hour"}}
    client.force_login(patient.account)
    url = f"/opd/patients/{patient.pk}/documents/"
    assert client.post(url, {}).status_code == 302  # no file: a form error, counted
    refused = client.post(url, {}, HTTP_REFERER="https://evil.example/")
    assert refused.status_code == 429
    assert 'href="/"' in refused.content.decode()  # never back to another site


def test_schema_declares_429_on_limited_operations_only():
    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    take = paths["/api/v1/opd/opds/{opd_id}/tickets/"]["post"]["responses"]["429"]
    assert "Retry-After" in take["headers"]
    assert "429" in paths["/api/v1/opd/tickets/{ticket_id}/cancel/"]["post"]["responses"]
    assert "429" in paths["/api/v1/patients/{patient_id}/documents/"]["post"]["responses"]
    assert "429" in paths["/api/v1/realtime/rooms/{consultation_id}/files"]["post"]["responses"]
    assert "429" in paths["/api/v1/patients/"]["post"]["responses"]
    assert "429" not in paths["/api/v1/patients/{patient_id}/documents/"]["get"]["responses"]
    assert "429" not in paths["/api/v1/opd/opds/"]["get"]["responses"]
