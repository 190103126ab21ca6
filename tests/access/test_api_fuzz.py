"""Generated requests to every operation of the project's own OpenAPI schema: no input
makes the API answer 5xx, every status an operation answers is one its schema declares,
and every answer has a declared content type and matches its declared body.

The schema comes from drf-spectacular in-process; requests go to Django's WSGI handler in
the test's own transaction, authenticated by token as a patient and as a doctor.
"""

from __future__ import annotations

import json

import pytest
import schemathesis
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, settings
from rest_framework.test import APIClient
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from sanjeevani.accounts.models import DeviceToken
from tests.prescriptions.factories import ConsultationFactory

from .world import World, build_world


def _project_schema() -> dict:
    """The same document /api/schema/ serves, made JSON-plain."""
    document = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(document))


schema = schemathesis.openapi.from_dict(_project_schema())
#: Operations whose answers do not yet match the schema; 5xx is still checked for them.
SCHEMA_DRIFT: set[str] = set()
#: What the schema promises about every answer: a declared status, a declared content type,
#: a body of the declared shape.
CONFORMANCE = [status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def wsgi_app(db):
    """Django's handler, without the per-request connection closing that would end the
    test's transaction (the test client does the same)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield WSGIHandler()
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture(autouse=True)
def _no_rate_limits(settings):
    """Generated requests come from one address at machine speed: with the limits on, most
    writes would stop at 429 before reaching a service. The limits have their own tests
    (tests/limits); that each limited operation declares its 429 is checked in
    test_api_errors.py."""
    settings.RATE_LIMITS_ENABLED = False


@pytest.fixture(params=["patient", "doctor"])
def person(request, db) -> tuple[World, str]:
    return build_world(), request.param


def _real_ids(world: World) -> dict[str, str]:
    """Path parameters pointed at the case's own objects, so that generated bodies reach
    the services instead of stopping at 404 (the route matrix covers the 404s)."""
    return {
        "patient_id": str(world.patient.pk),
        "id": str(world.patient.pk),
        "ticket_id": str(world.ticket.pk),
        "consultation_id": str(world.consultation.pk),
        "prescription_id": str(world.prescription.pk),
        "document_id": str(world.document.pk),
        "message_id": str(world.message.pk),
        "opd_id": str(world.opd.pk),
    }


@schema.parametrize()
@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,
)
def test_no_generated_request_breaks_the_api(case, wsgi_app, person):
    world, role = person
    ids = _real_ids(world)
    for name in list(case.path_parameters or {}):
        if name in ids:
            case.path_parameters[name] = ids[name]
    checks = [not_a_server_error]
    if case.operation.label not in SCHEMA_DRIFT:
        checks.extend(CONFORMANCE)
    response = case.call(app=wsgi_app, headers={"Authorization": f"Token {world.token(role)}"})
    case.validate_response(response, checks=checks)


def test_a_consultation_without_a_ticket_matches_the_schema(wsgi_app, db):
    """The model allows a consultation with no ticket (store-and-forward); the API must
    still answer what its schema promises."""
    consultation = ConsultationFactory(ticket=None)
    operation = schema["/api/v1/opd/consultations/{consultation_id}/"]["GET"]
    case = operation.Case(path_parameters={"consultation_id": str(consultation.pk)})
    token = DeviceToken.objects.issue(consultation.doctor.user).key
    response = case.call(app=wsgi_app, headers={"Authorization": f"Token {token}"})
    assert response.status_code == 200
    case.validate_response(response, checks=CONFORMANCE)


def test_dropping_a_call_when_the_patient_holds_another_token_is_not_a_server_error(world):
    """The fuzz found it; here it is by hand: the patient's own ticket for this consultation
    is closed and they hold a waiting token elsewhere, then the doctor reports a drop."""
    client = APIClient(raise_request_exception=False)
    client.credentials(HTTP_AUTHORIZATION=f"Token {world.token('doctor')}")
    response = client.post(f"/api/v1/opd/consultations/{world.consultation.pk}/drop/")
    assert response.status_code < 500
