"""Patient sign-in through the API: /api/v1/accounts/otp/request and otp/verify."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from sanjeevani.accounts.models import OTPChallenge, Role, User
from sanjeevani.accounts.otp import _code_hash
from sanjeevani.audit.models import AuditEvent
from tests.factories import PatientAccountFactory, StaffUserFactory

pytestmark = pytest.mark.django_db

MOBILE = "+919876543210"
REQUEST = "/api/v1/accounts/otp/request"
VERIFY = "/api/v1/accounts/otp/verify"


@pytest.fixture
def api() -> APIClient:
    return APIClient()


def ask(api, mobile=MOBILE, ip="127.0.0.1"):
    return api.post(REQUEST, {"mobile": mobile}, format="json", REMOTE_ADDR=ip)


def answer(api, code, mobile=MOBILE):
    return api.post(VERIFY, {"mobile": mobile, "code": code}, format="json")


def age_challenges(mobile: str, seconds: int) -> None:
    """Move this number's codes into the past, as if ``seconds`` had gone by."""
    for challenge in OTPChallenge.objects.filter(mobile=mobile):
        OTPChallenge.objects.filter(pk=challenge.pk).update(
            created_at=challenge.created_at - timedelta(seconds=seconds),
            expires_at=challenge.expires_at - timedelta(seconds=seconds),
        )


def test_request_then_verify_gives_a_token_for_a_new_patient_account(api, outbox):
    response = ask(api, "98765 43210")
    assert response.status_code == 202, response.content
    sent = response.json()
    challenge = sent.pop("challenge")
    assert sent == {"mobile": MOBILE, "expires_in": 300, "resend_after": 60}
    assert OTPChallenge.objects.get(mobile=MOBILE).pk == uuid.UUID(challenge)

    response = answer(api, outbox.last_code(MOBILE))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["user"]["role"] == "patient"
    assert body["user"]["username"] == MOBILE
    user = User.objects.get(mobile=MOBILE, role=Role.PATIENT)
    assert not user.has_usable_password()
    assert AuditEvent.objects.filter(actor=user, action="auth.otp_sign_in").exists()

    api.credentials(HTTP_AUTHORIZATION=f"Token {body['token']}")
    me = api.get("/api/v1/accounts/me")
    assert me.status_code == 200
    assert me.json()["mobile"] == MOBILE


def test_existing_patient_signs_into_the_same_account(api, outbox):
    existing = PatientAccountFactory(mobile=MOBILE, username=MOBILE)
    ask(api)
    response = answer(api, outbox.last_code(MOBILE))
    assert response.json()["user"]["id"] == str(existing.pk)
    assert User.objects.filter(mobile=MOBILE, role=Role.PATIENT).count() == 1


def test_code_is_single_use(api, outbox):
    ask(api)
    code = outbox.last_code(MOBILE)
    assert answer(api, code).status_code == 200
    again = answer(api, code)
    assert again.status_code == 400
    assert "Ask for a new one" in again.json()["error"]["fields"]["code"][0]


def test_code_is_stored_only_as_a_salted_hash(api, outbox):
    ask(api)
    code = outbox.last_code(MOBILE)
    row = OTPChallenge.objects.get(mobile=MOBILE)
    stored = " ".join(
        str(v) for v in OTPChallenge.objects.filter(pk=row.pk).values().first().values()
    )
    assert code not in stored
    assert len(row.code_hash) == 64
    # The same code for another challenge hashes differently (salted by challenge id).
    assert _code_hash(row.id, code) == row.code_hash
    assert _code_hash("another-challenge", code) != row.code_hash


def test_expired_code_is_refused_with_what_to_do(api, outbox):
    ask(api)
    code = outbox.last_code(MOBILE)
    age_challenges(MOBILE, 301)
    response = answer(api, code)
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "That code has expired. Ask for a new one."


def test_code_still_works_just_before_expiry(api, outbox):
    ask(api)
    code = outbox.last_code(MOBILE)
    age_challenges(MOBILE, 290)
    assert answer(api, code).status_code == 200


def test_wrong_tries_count_down_and_the_fifth_kills_the_code(api, outbox):
    ask(api)
    code = outbox.last_code(MOBILE)
    wrong = f"{(int(code) + 1) % 1000000:06d}"
    messages = [answer(api, wrong).json()["error"]["message"] for _ in range(5)]
    assert messages[:4] == [
        "Wrong code. 4 tries left.",
        "Wrong code. 3 tries left.",
        "Wrong code. 2 tries left.",
        "Wrong code. 1 try left.",
    ]
    assert "last try" in messages[4]
    assert OTPChallenge.objects.get(mobile=MOBILE).attempts == 5
    # Even the right code is now refused.
    response = answer(api, code)
    assert response.status_code == 400
    assert "Too many wrong tries" in response.json()["error"]["message"]
    assert not User.objects.filter(mobile=MOBILE).exists()


def test_a_new_code_replaces_the_old_one(api, outbox):
    ask(api)
    first = outbox.last_code(MOBILE)
    age_challenges(MOBILE, 61)
    assert ask(api).status_code == 202
    second = outbox.last_code(MOBILE)
    if first != second:
        assert answer(api, first).status_code == 400
    assert answer(api, second).status_code == 200


def test_resend_too_soon_is_429_with_seconds_to_wait(api, outbox):
    assert ask(api).status_code == 202
    age_challenges(MOBILE, 18)
    response = ask(api)
    assert response.status_code == 429
    error = response.json()["error"]
    assert error["message"] == "Please wait 42 seconds before asking for a new code."
    assert error["retry_after_seconds"] == 42
    assert response["Retry-After"] == "42"
    assert len(outbox.messages(MOBILE)) == 1


def test_per_number_hourly_limit(api, outbox, settings):
    settings.OTP_MAX_PER_NUMBER_PER_HOUR = 3
    for _ in range(3):
        assert ask(api).status_code == 202
        age_challenges(MOBILE, 61)
    response = ask(api)
    assert response.status_code == 429
    assert "Too many codes were sent to this number" in response.json()["error"]["message"]
    assert int(response["Retry-After"]) > 60
    # An hour after the oldest, one more is allowed.
    age_challenges(MOBILE, 3600 - 3 * 61)
    assert ask(api).status_code == 202


def test_per_client_address_hourly_limit(api, outbox, settings):
    settings.OTP_MAX_PER_CLIENT_PER_HOUR = 3
    for n in range(3):
        assert ask(api, f"+91987654320{n}", ip="203.0.113.7").status_code == 202
    response = ask(api, "+919876543209", ip="203.0.113.7")
    assert response.status_code == 429
    assert "from this network" in response.json()["error"]["message"]
    # Another address is not held back.
    assert ask(api, "+919876543209", ip="203.0.113.8").status_code == 202


@pytest.mark.parametrize(
    ("mobile", "expected"),
    [
        ("", "This field may not be blank."),
        ("12345", "Enter a 10-digit Indian mobile number"),
        ("+14155552671", "Only Indian mobile numbers"),
        ("080 2222 3333", "That looks like a landline"),
    ],
)
def test_invalid_numbers_get_a_readable_400(api, outbox, mobile, expected):
    response = ask(api, mobile)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert error["fields"]["mobile"][0].startswith(expected)
    assert outbox.messages() == []


def test_malformed_code_is_400(api, outbox):
    ask(api)
    response = answer(api, "12ab")
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["code"] == ["Enter the 6-digit code from the SMS."]


def test_sms_failure_is_reported_not_swallowed(api, settings):
    settings.SMS_BACKEND = "tests.accounts.test_otp_api.BrokenGateway"
    response = ask(api)
    assert response.status_code == 503
    assert "could not send the SMS" in response.json()["error"]["message"]
    # The failed send does not make the person wait before trying again.
    assert not OTPChallenge.objects.filter(mobile=MOBILE).exists()


class BrokenGateway:
    def send(self, message):
        raise ConnectionError("gateway down")


def test_staff_username_cannot_be_reached_by_otp(api, outbox):
    StaffUserFactory(username=MOBILE, role=Role.DOCTOR)
    response = ask(api)
    assert response.status_code == 403
    assert "staff account" in response.json()["error"]["message"]
    assert outbox.messages() == []


def test_logout_deletes_the_token(api, outbox):
    ask(api)
    token = answer(api, outbox.last_code(MOBILE)).json()["token"]
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.post("/api/v1/accounts/logout").status_code == 204
    assert api.get("/api/v1/accounts/me").status_code == 401


def test_me_without_credentials_is_401(api):
    response = api.get("/api/v1/accounts/me")
    assert response.status_code == 401
    assert "error" in response.json()


def test_request_is_audited_without_the_code(api, outbox):
    ask(api)
    code = outbox.last_code(MOBILE)
    event = AuditEvent.objects.get(action="auth.otp_requested")
    assert event.detail == {"mobile": MOBILE}
    assert code not in str(event.detail)
    assert event.at <= timezone.now()


def test_a_code_request_reads_its_hour_limits_in_one_statement(api, outbox):
    """The pair's, the number's and the address's codes of the last hour are counted in
    one read (each limit's refusal has its own test above)."""
    with CaptureQueriesContext(connection) as queries:
        assert ask(api).status_code == 202
    counts = [q["sql"] for q in queries if "COUNT(" in q["sql"] and "otpchallenge" in q["sql"]]
    assert len(counts) == 1, counts
