"""One request id follows a request: its response header, the audit rows it writes, its
log lines and the live events it causes; a WebSocket connection gets its own."""

from __future__ import annotations

import io
import json
import logging
import uuid

import pytest
from django.conf import settings
from django.urls import reverse
from pythonjsonlogger.json import JsonFormatter

from sanjeevani.audit.models import AuditEvent
from sanjeevani.live import publisher
from sanjeevani.observability import health
from sanjeevani.observability.context import bound_request_id, current_request_id
from sanjeevani.observability.log_records import RequestIdFilter
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

GIVEN = "f3b1c2d4e5a60718293a4b5c6d7e8f90"  # nginx's $request_id: 32 hex digits


def test_a_request_without_an_id_gets_a_new_uuid(client):
    response = client.get(reverse("healthz"))
    assert uuid.UUID(response["X-Request-ID"]).version == 4
    assert current_request_id() == ""  # nothing left behind after the request


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        (GIVEN, True),
        ("0b6d5a9e-8d44-4a57-9a3b-6f3e1b2c4d5e", True),
        ("short", False),
        ("two words here", False),
        ("x" * 65, False),
        ("<script>alert(1)</script>", False),
    ],
)
def test_an_incoming_id_is_kept_only_when_valid(client, given, kept):
    answered = client.get(reverse("healthz"), HTTP_X_REQUEST_ID=given)["X-Request-ID"]
    if kept:
        assert answered == given
    else:
        assert answered != given
        assert uuid.UUID(answered)


def test_the_audit_row_written_during_the_request_carries_its_id(client):
    patient = PatientFactory()
    client.force_login(patient.account)
    url = reverse("patients:edit", kwargs={"patient_id": patient.pk})
    response = client.get(url, HTTP_X_REQUEST_ID=GIVEN)
    assert response.status_code == 200
    rows = AuditEvent.objects.filter(patient_id=patient.pk, actor=patient.account)
    assert rows.exists()
    assert set(rows.values_list("request_id", flat=True)) == {GIVEN}


def test_rows_written_outside_a_request_have_no_id():
    from sanjeevani.audit.services import record_event

    assert record_event(None, "test.outside").request_id == ""


def test_a_json_log_line_names_the_request(client, monkeypatch):
    """The production formatter (LOG_FORMAT=json) as settings.LOGGING configures it."""
    options = dict(settings.LOGGING["formatters"]["json"])
    assert options.pop("()") == "pythonjsonlogger.json.JsonFormatter"
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter(**options))
    handler.addFilter(RequestIdFilter())
    logger = logging.getLogger(health.__name__)
    logger.addHandler(handler)

    def down() -> None:
        raise OSError("connection refused")

    monkeypatch.setattr(health, "check_database", down)
    try:
        response = client.get(reverse("readyz"), HTTP_X_REQUEST_ID=GIVEN)
    finally:
        logger.removeHandler(handler)
    assert response.status_code == 503
    line = json.loads(stream.getvalue().splitlines()[0])
    assert line["request_id"] == GIVEN
    assert line["level"] == "ERROR"
    assert line["logger"] == "sanjeevani.observability.health"
    assert line["message"] == "Readiness check database failed"
    assert line["time"]


def test_live_events_carry_the_id_of_the_request_that_caused_them(
    monkeypatch, django_capture_on_commit_callbacks
):
    sent: list = []
    monkeypatch.setattr(publisher, "publish_now", sent.extend)
    with django_capture_on_commit_callbacks(execute=True):
        with bound_request_id(GIVEN):
            publisher.publish_many_after_commit([("doctor.x", {"type": "consultation.status"})])
        publisher.publish_after_commit("doctor.x", {"type": "presence.changed"})
    assert sent == [
        ("doctor.x", {"type": "consultation.status", "request_id": GIVEN}),
        ("doctor.x", {"type": "presence.changed"}),  # outside a request: no key
    ]


def test_the_claim_audit_row_carries_the_id_on_either_database():
    """PostgreSQL writes the claim's row inside ``queueing_claim_next_ticket`` (through
    ``audit_record_event``); SQLite through ``record_event``."""
    from sanjeevani.consultations import services as consultations
    from sanjeevani.queueing import services as queue
    from tests.factories import DoctorFactory, OnlineOPDFactory

    opd = OnlineOPDFactory()
    doctor = DoctorFactory()
    doctor.opds.add(opd)
    queue.go_online(doctor.user, opd)
    patient = PatientFactory()
    consultations.take_token(patient.account, patient, opd, "fever")
    with bound_request_id(GIVEN):
        ticket = consultations.call_next_patient(doctor.user)
    row = AuditEvent.objects.get(action="ticket.claim", object_id=str(ticket.pk))
    assert row.request_id == GIVEN
    assert "request_id" not in row.detail
    assert row.detail["consultation"] == str(ticket.consultation.pk)
