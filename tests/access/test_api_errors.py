"""Every error under /api/ is JSON in the API's one shape, and the schema declares the errors
each operation answers (``sanjeevani.config.api_errors``, ``sanjeevani.config.api_schema``).

The generated requests of ``test_api_fuzz.py`` hold every operation to its declared statuses;
these tests pin the paths that fuzzing does not reach (unmatched and malformed addresses,
``DEBUG``'s technical pages, a crash, Django's CSRF failure) and a sample of declarations.
"""

from __future__ import annotations

import json
import uuid

import pytest
from django.http import HttpResponse
from django.test import Client, override_settings
from django.urls import include, path
from django.views.decorators.csrf import csrf_protect
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer

from sanjeevani.accounts.models import DeviceToken, Role
from sanjeevani.consultations.models import Consultation
from tests.factories import DoctorFactory, PatientAccountFactory
from tests.prescriptions.factories import ConsultationFactory


# --- a URLconf with a view that crashes and a plain Django view under /api/ ------------------
def _crash(request):
    raise RuntimeError("secret detail: patient Kamala, token 1234")


@csrf_protect
def _plain_write(request):
    return HttpResponse("ok")


urlpatterns = [
    path("api/v1/test-crash/", _crash),
    path("api/v1/test-plain/", _plain_write),
    path("page-crash/", _crash),
    path("", include("sanjeevani.config.urls")),
]
handler404 = "sanjeevani.portal.views.not_found"
handler500 = "sanjeevani.portal.views.server_error"

URLCONF = "tests.access.test_api_errors"


def _error(response) -> dict:
    assert response["Content-Type"].split(";")[0] == "application/json", response.content[:200]
    body = json.loads(response.content)
    assert set(body) == {"error"}
    assert body["error"]["code"] and body["error"]["message"]
    return body["error"]


@pytest.fixture
def client() -> Client:
    return Client(raise_request_exception=False)


@pytest.fixture
def doctor_client(db) -> Client:
    doctor = DoctorFactory(user__role=Role.DOCTOR)
    client = Client(raise_request_exception=False)
    client.defaults["HTTP_AUTHORIZATION"] = f"Token {DeviceToken.objects.issue(doctor.user).key}"
    return client


# --- JSON for every error --------------------------------------------------------------------
MALFORMED = [
    "/api/v1/opd/consultations/not-a-uuid/",
    "/api/v1/opd/tickets/123/cancel/",
    "/api/v1/prescriptions/%27%20OR%201=1/",
    "/api/v1/realtime/rooms/xyz/files/also-not",
    "/api/v1/patients/documents/0/file/",
    "/api/v1/nothing-here/",
    "/api/v2/",
]


@pytest.mark.parametrize("debug", [False, True], ids=["production", "debug"])
@pytest.mark.parametrize("address", MALFORMED)
def test_a_malformed_or_unknown_api_path_answers_a_json_404(doctor_client, address, debug):
    """With DEBUG on (the embedded default) Django answers HTML technical pages; the API
    still answers its own shape."""
    with override_settings(DEBUG=debug):
        response = doctor_client.get(address)
    assert response.status_code == 404
    assert _error(response)["code"] == "not_found"


def test_a_well_formed_id_of_nothing_answers_the_same_json_404(doctor_client):
    response = doctor_client.get(f"/api/v1/opd/consultations/{uuid.uuid4()}/")
    assert response.status_code == 404
    assert _error(response)["code"] == "not_found"


def test_pages_keep_their_html_404(client, db):
    response = client.get("/opd/consultations/not-a-uuid/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("debug", [False, True], ids=["production", "debug"])
def test_a_wrong_method_answers_json_405_with_allow(doctor_client, debug):
    with override_settings(DEBUG=debug):
        response = doctor_client.delete("/api/v1/opd/doctor/presence/")
    assert response.status_code == 405
    assert _error(response)["code"] == "method_not_allowed"
    assert "GET" in response["Allow"]


@override_settings(ROOT_URLCONF=URLCONF)
@pytest.mark.parametrize("debug", [False, True], ids=["production", "debug"])
def test_a_crash_answers_a_json_500_without_details(client, db, debug):
    with override_settings(DEBUG=debug):
        response = client.get("/api/v1/test-crash/")
    assert response.status_code == 500
    error = _error(response)
    assert error["code"] == "server_error"
    assert set(error) == {"code", "message"}
    assert b"secret" not in response.content and b"Traceback" not in response.content
    assert b"RuntimeError" not in response.content


@override_settings(ROOT_URLCONF=URLCONF, DEBUG=False)
def test_a_crash_on_a_page_keeps_the_html_500(client, db):
    response = client.get("/page-crash/")
    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/html")


@override_settings(ROOT_URLCONF=URLCONF)
def test_a_csrf_failure_of_a_plain_view_under_api_answers_json_403(db):
    client = Client(enforce_csrf_checks=True, raise_request_exception=False)
    response = client.post("/api/v1/test-plain/", {"a": "b"})
    assert response.status_code == 403
    assert _error(response)["code"] == "permission_denied"


def test_a_session_write_without_the_csrf_token_answers_json_403(db):
    """DRF's own CSRF check for a browser session (apps use a token and need none)."""
    doctor = DoctorFactory(user__role=Role.DOCTOR)
    client = Client(enforce_csrf_checks=True, raise_request_exception=False)
    client.force_login(doctor.user)
    response = client.post("/api/v1/opd/doctor/offline/")
    assert response.status_code == 403
    assert "CSRF" in _error(response)["message"]


def test_a_bad_token_answers_json_on_an_open_reference_list_too(client, db):
    """An invalid credential is refused before permissions run (the schema declares it)."""
    response = client.get("/api/v1/opd/opds/", HTTP_AUTHORIZATION="Token not-a-real-token")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert _error(response)["code"] == "authentication_failed"


def test_a_browser_asking_for_html_gets_the_json_error_with_drfs_message(client, db):
    """DRF's browsable renderer would answer an HTML page; the error stays JSON, and keeps
    the message the exception handler wrote."""
    response = client.get("/api/v1/opd/tickets/", HTTP_ACCEPT="text/html")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    error = _error(response)
    assert error["code"] == "not_authenticated"
    assert error["message"] == "Authentication credentials were not provided."


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1024)
def test_a_body_over_the_size_limit_answers_json_400(doctor_client):
    body = json.dumps({"opd": str(uuid.uuid4()), "padding": "x" * 4096})
    response = doctor_client.post(
        "/api/v1/opd/doctor/online/", data=body, content_type="application/json"
    )
    assert response.status_code == 400
    assert _error(response)["code"] == "bad_request"


def test_an_unreadable_json_body_answers_json_400(doctor_client):
    response = doctor_client.post(
        "/api/v1/opd/doctor/online/", data="{not json", content_type="application/json"
    )
    assert response.status_code == 400
    assert _error(response)["code"] == "parse_error"


def test_an_unsupported_content_type_answers_json_415(doctor_client):
    response = doctor_client.post(
        "/api/v1/opd/doctor/online/", data="<opd/>", content_type="application/xml"
    )
    assert response.status_code == 415
    assert _error(response)["code"] == "unsupported_media_type"


def test_a_refusal_answers_409_with_its_code(doctor_client):
    """A doctor who is not online calls the next patient: the queue refuses (DomainError),
    the view answers 409 through ``AnswersRefusals``, as the schema declares."""
    response = doctor_client.post("/api/v1/opd/doctor/call-next/")
    assert response.status_code == 409
    assert _error(response)["code"] == "not_online"
    declared = _schema()["paths"]["/api/v1/opd/doctor/call-next/"]["post"]["responses"]
    assert "409" in declared


def test_a_join_token_for_an_ended_consultation_answers_the_declared_400(client, db):
    """A read that a service refuses with a ValidationError: declared on the operation."""
    consultation = ConsultationFactory(status=Consultation.Status.ENDED)
    token = DeviceToken.objects.issue(consultation.doctor.user).key
    address = f"/api/v1/realtime/rooms/{consultation.pk}/join-token"
    response = client.get(address, HTTP_AUTHORIZATION=f"Token {token}")
    assert response.status_code == 400
    assert _error(response)["code"] == "validation_error"
    assert "400" in _responses("/api/v1/realtime/rooms/{consultation_id}/join-token", "get")


# --- the schema declares the errors ----------------------------------------------------------
_SCHEMA: dict = {}


def _schema() -> dict:
    if not _SCHEMA:
        document = SchemaGenerator().get_schema(request=None, public=True)
        _SCHEMA.update(json.loads(OpenApiJsonRenderer().render(document)))
    return _SCHEMA


def _responses(address: str, method: str) -> dict:
    return _schema()["paths"][address][method]["responses"]


ERROR_REF = "#/components/schemas/APIError"
VERIFY = "/api/v1/prescriptions/verify/{code}/"

#: (path, method, statuses it must declare, statuses it must not declare)
SAMPLE = [
    # a write with a body, a path id, a service that refuses, a rate limit
    (
        "/api/v1/opd/opds/{opd_id}/tickets/",
        "post",
        {"400", "401", "403", "404", "409", "415", "429"},
        set(),
    ),
    ("/api/v1/opd/consultations/{consultation_id}/record/", "patch", {"400", "404", "409"}, set()),
    # a write without a body: no 400, but the queue may refuse and the limit counts it
    ("/api/v1/opd/tickets/{ticket_id}/cancel/", "post", {"404", "409", "429"}, {"400"}),
    # a body naming another object by id (the OPD): unknown or foreign answers 404
    ("/api/v1/opd/doctor/online/", "post", {"400", "404", "409"}, set()),
    # reads: never refused with 409, never rate-limited by the write limits
    ("/api/v1/opd/tickets/{ticket_id}/", "get", {"403", "404"}, {"400", "409", "429"}),
    ("/api/v1/opd/doctor/queue/", "get", {"403"}, {"404", "409", "429"}),
    # token first: not signed in is 401 with WWW-Authenticate, never 403 for a read
    ("/api/v1/accounts/me", "get", {"401"}, {"403", "404"}),
    # public and unauthenticated: nothing to refuse but the address
    ("/api/v1/registry/states/", "get", set(), {"400", "401", "403", "404", "429"}),
    ("/api/v1/registry/states/{code}/districts/", "get", {"404"}, {"401", "403"}),
    # the public verification: its own throttle answers 429 on a read
    ("/api/v1/prescriptions/verify/{code}/", "get", {"404", "429"}, {"401", "403"}),
    # a service outside the OPD: no DomainError, so no 409
    ("/api/v1/patients/", "post", {"400", "403", "429"}, {"409"}),
    ("/api/v1/realtime/rooms/{consultation_id}/files", "post", {"400", "404", "429"}, {"409"}),
]


@pytest.mark.parametrize(("address", "method", "declared", "absent"), SAMPLE)
def test_operations_declare_the_errors_they_answer(address, method, declared, absent):
    responses = _responses(address, method)
    assert declared <= set(responses), sorted(responses)
    assert not absent & set(responses), sorted(responses)


def test_the_schema_generates_without_warnings_or_errors():
    """A warning is a schema that lies: two serializers under one component name (one
    operation then validates against the other's shape), an unresolvable field, a choice
    set under two names. ``manage.py spectacular --fail-on-warn`` gives the details."""
    GENERATOR_STATS.reset()
    with GENERATOR_STATS.silence():
        SchemaGenerator().get_schema(request=None, public=True)
    warnings, errors = dict(GENERATOR_STATS._warn_cache), dict(GENERATOR_STATS._error_cache)
    GENERATOR_STATS.reset()
    assert not warnings and not errors, (warnings, errors)


def test_every_declared_error_has_the_api_error_body():
    """Except the verification's 404, which is its own documented answer (``not_found``)."""
    for address, operations in _schema()["paths"].items():
        for method, operation in operations.items():
            for code, response in operation["responses"].items():
                if int(code) < 400:
                    continue
                schema = response["content"]["application/json"]["schema"]
                if (address, method, code) == (VERIFY, "get", "404"):
                    assert schema["$ref"].endswith("/Verification")
                    continue
                assert schema == {"$ref": ERROR_REF}, (address, method, code)
                if code == "429":
                    assert "Retry-After" in response["headers"], (address, method)


def test_explicit_declarations_keep_their_words():
    responses = _responses("/api/v1/prescriptions/", "post")
    assert responses["400"]["description"] == "Guideline refusals, one message per medicine"
    assert responses["400"]["content"]["application/json"]["schema"] == {"$ref": ERROR_REF}
    assert "503" in _responses("/api/v1/accounts/otp/request", "post")


def test_the_record_autosave_requires_its_base_revision():
    """A plain PATCH view validates the whole serializer: ``base_revision`` is required."""
    body = _schema()["paths"]["/api/v1/opd/consultations/{consultation_id}/record/"]["patch"]
    ref = body["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    component = _schema()["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert component["required"] == ["base_revision"]
    assert body["requestBody"]["required"] is True


def test_a_viewsets_partial_update_stays_partial():
    body = _schema()["paths"]["/api/v1/patients/{id}/"]["patch"]["requestBody"]
    ref = body["content"]["application/json"]["schema"]["$ref"]
    assert "required" not in _schema()["components"]["schemas"][ref.rsplit("/", 1)[1]]


def test_a_patient_is_refused_a_doctors_operation_as_declared(db, client):
    """403 declared for a role-restricted read, and answered in the error shape."""
    account = PatientAccountFactory()
    token = DeviceToken.objects.issue(account).key
    response = client.get("/api/v1/opd/doctor/queue/", HTTP_AUTHORIZATION=f"Token {token}")
    assert response.status_code == 403
    assert _error(response)["code"] == "permission_denied"
    assert "403" in _responses("/api/v1/opd/doctor/queue/", "get")


# --- a sweep of the requests generated fuzzing does not make ----------------------------------
def _sweep_ids(world) -> dict[str, str]:
    return {
        "patient_id": str(world.patient.pk),
        "id": str(world.patient.pk),
        "ticket_id": str(world.ticket.pk),
        "consultation_id": str(world.consultation.pk),
        "prescription_id": str(world.prescription.pk),
        "document_id": str(world.document.pk),
        "message_id": str(world.message.pk),
        "opd_id": str(world.opd.pk),
        "code": world.state.code,
        # hub-and-spoke ids: the OPD world has none, so a patient's id stands in (a 404)
        "case_id": str(world.patient.pk),
        "referral_id": str(world.patient.pk),
        "attachment_id": str(world.patient.pk),
    }


def _requests(operation: dict) -> list[tuple[str, str | None, str]]:
    """(content type, body, what) for one operation: none for a read, else the wrong ones."""
    if "requestBody" not in operation:
        return [("", None, "no body")]
    return [
        ("application/json", "{}", "empty object"),
        ("application/json", "{not json", "unreadable JSON"),
        ("application/xml", "<a/>", "unsupported type"),
    ]


def test_wrong_requests_to_every_operation_answer_declared_json_errors(world):
    """Every operation, asked wrongly the ways a client does (no token, a bad token, the
    other kind of account, ids of nothing, empty, unreadable and unsupported bodies): each
    answer is a declared status and, for an error, the API's JSON shape. Fuzzing sends
    well-formed requests; this sends the rest."""
    ids = _sweep_ids(world)
    nowhere = {name: str(uuid.uuid4()) for name in ids} | {"code": "ZZ"}
    credentials = {
        "anonymous": None,
        "bad token": "Token 0000000000000000000000000000000000000000",
        "patient": f"Token {world.token('patient')}",
        "doctor": f"Token {world.token('doctor')}",
    }
    undeclared, not_json, sent = [], [], 0
    for template, operations in _schema()["paths"].items():
        for method, operation in operations.items():
            declared = set(operation["responses"])
            for who, authorization in credentials.items():
                signed_in = who in {"patient", "doctor"}
                # No credentials are refused before any lookup or parsing: one request each.
                for where in (ids, nowhere) if signed_in else (ids,):
                    address = template.format(**where)
                    wrong = _requests(operation)
                    for content_type, body, what in wrong if signed_in else wrong[:1]:
                        client = Client(raise_request_exception=False)
                        extra = {"HTTP_AUTHORIZATION": authorization} if authorization else {}
                        response = getattr(client, method)(
                            address, data=body, content_type=content_type, **extra
                        )
                        sent += 1
                        case = f"{method.upper()} {template} as {who}, {what}"
                        if str(response.status_code) not in declared:
                            undeclared.append(f"{case}: {response.status_code}")
                        if response.status_code >= 400 and not response["Content-Type"].startswith(
                            "application/json"
                        ):
                            not_json.append(f"{case}: {response['Content-Type']}")
    assert sent > 400
    assert not undeclared, "\n".join(undeclared)
    assert not not_json, "\n".join(not_json)
