"""Sign-in limits protect the person, not the attacker (issue 10, item 2).

Each test plays the attack through HTTP from many addresses, then checks that the real
patient or doctor still gets in: at once from the device they signed in from before (the
trusted-device cookie), and after a bounded wait from a fresh device.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.hashers import Argon2PasswordHasher
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from sanjeevani.accounts.models import OTPChallenge, SignInCounter
from sanjeevani.audit.models import AuditEvent
from tests.accounts.conftest import fresh_totp
from tests.factories import PASSWORD, StaffUserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def slow_backoff(settings):
    """A first wait of 30 s once the free tries are used, so a test's counts do not depend on
    how fast this machine hashes passwords (the cap stays at its default)."""
    settings.SIGN_IN_BACKOFF_BASE_SECONDS = 30
    return settings


MOBILE = "+919845012345"
REQUEST = "/api/v1/accounts/otp/request"
VERIFY = "/api/v1/accounts/otp/verify"
LOGIN = "/accounts/staff/"
TOKEN = "/api/v1/accounts/staff/token"
PHONE = "198.51.100.7"
ATTACKERS = [f"203.0.113.{n}" for n in range(1, 11)]


def ask(api, ip, mobile=MOBILE):
    return api.post(REQUEST, {"mobile": mobile}, format="json", REMOTE_ADDR=ip)


def answer(api, ip, code, challenge=None, mobile=MOBILE):
    data = {"mobile": mobile, "code": code}
    if challenge:
        data["challenge"] = challenge
    return api.post(VERIFY, data, format="json", REMOTE_ADDR=ip)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1000000:06d}"


def pass_time(seconds: float) -> None:
    """Move every code and counter into the past, as if ``seconds`` had gone by."""
    delta = timedelta(seconds=seconds)
    for challenge in OTPChallenge.objects.all():
        OTPChallenge.objects.filter(pk=challenge.pk).update(
            created_at=challenge.created_at - delta, expires_at=challenge.expires_at - delta
        )
    for counter in SignInCounter.objects.exclude(last_failure_at=None):
        SignInCounter.objects.filter(pk=counter.pk).update(
            last_failure_at=counter.last_failure_at - delta
        )


def otp_attack(outbox, *, rounds: int = 3) -> list[int]:
    """From ten addresses, ``rounds`` times: ask for a code for the victim's number and try
    five wrong codes (the attacker never sees the SMS). Returns every status answered."""
    statuses = []
    for round_number in range(rounds):
        if round_number:
            pass_time(61)  # each address may ask again after the resend interval
        for ip in ATTACKERS:
            attacker = APIClient()
            response = ask(attacker, ip)
            statuses.append(response.status_code)
            for _ in range(5):
                statuses.append(answer(attacker, ip, "000000").status_code)
    return statuses


# --- patients -----------------------------------------------------------------------------


def test_otp_attack_from_many_addresses_does_not_stop_the_patient(outbox):
    phone = APIClient()
    first = ask(phone, PHONE).json()
    signed_in = answer(phone, PHONE, outbox.last_code(MOBILE), first["challenge"])
    assert signed_in.status_code == 200
    assert django_settings.TRUSTED_DEVICE_COOKIE in phone.cookies

    statuses = otp_attack(outbox)
    assert len(statuses) == 180
    assert 429 in statuses  # the attack was slowed ...
    sent_to_victim = len(outbox.messages(MOBILE))
    assert sent_to_victim <= 1 + django_settings.OTP_NUMBER_FREE_PER_HOUR + 3

    # ... and the patient on their own phone signs in at once.
    response = ask(phone, PHONE)
    assert response.status_code == 202, response.content
    code = outbox.last_code(MOBILE)
    assert answer(phone, PHONE, code, response.json()["challenge"]).status_code == 200


def test_a_fresh_device_is_only_slowed_within_a_bounded_wait(outbox):
    otp_attack(outbox)
    fresh = APIClient()
    refused = ask(fresh, "198.51.100.99")
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "number_slowed"
    wait = int(refused["Retry-After"])
    assert 0 < wait <= django_settings.OTP_NUMBER_BACKOFF_CAP_SECONDS

    pass_time(wait)
    sent = ask(fresh, "198.51.100.99")
    assert sent.status_code == 202, sent.content
    code = outbox.last_code(MOBILE)
    # The attackers' 150 wrong codes slow wrong-code tries for this number too, by at most
    # a minute; the patient's own code was never touched by them.
    response = answer(fresh, "198.51.100.99", code, sent.json()["challenge"])
    if response.status_code == 429:
        wait = int(response["Retry-After"])
        assert wait <= django_settings.OTP_WRONG_CODE_BACKOFF_CAP_SECONDS
        pass_time(wait)
        response = answer(fresh, "198.51.100.99", code, sent.json()["challenge"])
    assert response.status_code == 200, response.content
    assert OTPChallenge.objects.get(pk=sent.json()["challenge"]).attempts == 0


def test_wrong_tries_from_elsewhere_never_use_up_the_patients_code(outbox):
    phone = APIClient()
    sent = ask(phone, PHONE).json()
    code = outbox.last_code(MOBILE)
    attacker = APIClient()
    for ip in ATTACKERS[:3]:
        for _ in range(5):
            # Without the challenge, a try is checked against codes asked for from that
            # address: here, none.
            response = answer(attacker, ip, wrong(code))
            assert response.status_code == 400
            assert "No code is waiting" in response.json()["error"]["message"]
    assert OTPChallenge.objects.get(pk=sent["challenge"]).attempts == 0
    assert answer(phone, PHONE, code, sent["challenge"]).status_code == 200


def test_a_burnt_code_does_not_stop_asking_for_a_new_one_at_once(outbox):
    phone = APIClient()
    sent = ask(phone, PHONE).json()
    code = outbox.last_code(MOBILE)
    for _ in range(5):
        answer(phone, PHONE, wrong(code), sent["challenge"])
    assert answer(phone, PHONE, code, sent["challenge"]).status_code == 400

    again = ask(phone, PHONE)
    assert again.status_code == 202, again.content
    new_code = outbox.last_code(MOBILE)
    assert answer(phone, PHONE, new_code, again.json()["challenge"]).status_code == 200


def test_the_trusted_device_cookie_is_signed_and_per_number(outbox):
    phone = APIClient()
    sent = ask(phone, PHONE).json()
    answer(phone, PHONE, outbox.last_code(MOBILE), sent["challenge"])
    otp_attack(outbox, rounds=1)
    other_number = "+919845099999"
    for ip in ATTACKERS[:6]:
        ask(APIClient(), ip, other_number)
    # Trusted for MOBILE only: another number is slowed for this device as for anyone.
    assert ask(phone, PHONE, other_number).status_code == 429
    # A forged cookie is ignored.
    forger = APIClient()
    forger.cookies[django_settings.TRUSTED_DEVICE_COOKIE] = "forged:value"
    assert ask(forger, "198.51.100.50").status_code == 429
    assert ask(phone, PHONE).status_code == 202


def test_the_pages_remember_the_device_too(client, outbox):
    client.post("/accounts/otp/", {"action": "send", "mobile": MOBILE}, REMOTE_ADDR=PHONE)
    code = outbox.last_code(MOBILE)
    response = client.post("/accounts/otp/", {"action": "verify", "code": code}, REMOTE_ADDR=PHONE)
    assert response.status_code == 302
    client.post("/accounts/logout/")
    otp_attack(outbox)

    response = client.post(
        "/accounts/otp/", {"action": "send", "mobile": MOBILE}, REMOTE_ADDR=PHONE
    )
    assert response.status_code == 302, response.content
    code = outbox.last_code(MOBILE)
    response = client.post(
        "/accounts/otp/", {"action": "verify", "code": code}, REMOTE_ADDR="198.51.100.8"
    )
    assert response["Location"] == "/patients/"

    fresh = Client()
    page = fresh.post(
        "/accounts/otp/", {"action": "send", "mobile": MOBILE}, REMOTE_ADDR="198.51.100.9"
    )
    assert page.status_code == 429
    assert 0 < int(page["Retry-After"]) <= django_settings.OTP_NUMBER_BACKOFF_CAP_SECONDS
    assert b"Please wait" in page.content


# --- staff --------------------------------------------------------------------------------


def staff_sign_in(client, username, password, ip, totp=""):
    return client.post(
        LOGIN, {"username": username, "password": password, "totp": totp}, REMOTE_ADDR=ip
    )


def password_attack(username: str, *, per_address: int = 3) -> list[tuple]:
    """Wrong passwords for ``username`` from ten addresses; what each answer said."""
    seen = []
    for ip in ATTACKERS:
        attacker = Client()
        for _ in range(per_address):
            response = staff_sign_in(attacker, username, "wrong password 1", ip)
            seen.append((response.status_code, response.get("Retry-After")))
    return seen


def test_password_attack_from_many_addresses_does_not_stop_the_doctor(require_2fa, slow_backoff):
    doctor = StaffUserFactory()
    device = TOTPDevice.objects.create(user=doctor, name="phone", confirmed=True)
    own = Client()
    first = staff_sign_in(own, doctor.username, PASSWORD, PHONE, fresh_totp(device))
    assert first.status_code == 302
    assert django_settings.TRUSTED_DEVICE_COOKIE in own.cookies
    own.post("/accounts/logout/")

    seen = password_attack(doctor.username)
    assert [status for status, _ in seen].count(429) == 20
    assert all(int(wait) <= 60 for status, wait in seen if status == 429)

    # The doctor's own browser is not slowed by what other addresses did.
    response = staff_sign_in(own, doctor.username, PASSWORD, PHONE, fresh_totp(device))
    assert response.status_code == 302
    assert own.session["_auth_user_id"] == str(doctor.pk)

    # From a new device: a wait of at most a minute, then in.
    fresh = Client()
    slowed = staff_sign_in(fresh, doctor.username, PASSWORD, "198.51.100.60", fresh_totp(device))
    assert slowed.status_code == 429
    wait = int(slowed["Retry-After"])
    assert 0 < wait <= django_settings.STAFF_PASSWORD_BACKOFF_CAP_SECONDS
    pass_time(wait)
    response = staff_sign_in(fresh, doctor.username, PASSWORD, "198.51.100.60", fresh_totp(device))
    assert response.status_code == 302


def test_the_api_remembers_the_staff_device_too(require_2fa, slow_backoff):
    doctor = StaffUserFactory()
    device = TOTPDevice.objects.create(user=doctor, name="phone", confirmed=True)
    app = APIClient()
    data = {"username": doctor.username, "password": PASSWORD, "totp": fresh_totp(device)}
    assert app.post(TOKEN, data, format="json", REMOTE_ADDR=PHONE).status_code == 200
    password_attack(doctor.username)
    data["totp"] = fresh_totp(device)
    assert app.post(TOKEN, data, format="json", REMOTE_ADDR=PHONE).status_code == 200
    stranger = APIClient().post(TOKEN, data, format="json", REMOTE_ADDR="198.51.100.61")
    assert stranger.status_code == 429
    assert int(stranger["Retry-After"]) <= 60


def test_one_address_is_held_back_longer_than_the_shared_ceiling(slow_backoff):
    doctor = StaffUserFactory()
    attacker = Client()
    answers = [
        staff_sign_in(attacker, doctor.username, "nope", ATTACKERS[0]).status_code for _ in range(7)
    ]
    assert answers[:5] == [200] * 5  # "Wrong username or password." on the page
    assert answers[5:] == [429, 429]
    # Another address is not held back by that one.
    assert staff_sign_in(Client(), doctor.username, PASSWORD, PHONE).status_code == 302


class HasherCalls:
    def __init__(self, monkeypatch) -> None:
        self.count = 0
        real_verify, real_encode = Argon2PasswordHasher.verify, Argon2PasswordHasher.encode

        def verify(hasher, password, encoded):
            self.count += 1
            return real_verify(hasher, password, encoded)

        def encode(hasher, password, salt):
            self.count += 1
            return real_encode(hasher, password, salt)

        monkeypatch.setattr(Argon2PasswordHasher, "verify", verify)
        monkeypatch.setattr(Argon2PasswordHasher, "encode", encode)


def test_unknown_and_known_usernames_get_the_same_answers_and_limits(monkeypatch, slow_backoff):
    doctor = StaffUserFactory(username="dr.known")
    hashes = HasherCalls(monkeypatch)

    def attack(username):
        before = hashes.count
        answers = []
        for ip in ATTACKERS[:4]:
            client = Client()
            for _ in range(4):
                response = staff_sign_in(client, username, "wrong password 1", ip)
                found = re.search(r'class="error"[^>]*>(.*?)</p>', response.content.decode())
                # The wait in the message is compared above, through Retry-After.
                message = re.sub(r"\d+", "N", found.group(1)) if found else ""
                answers.append((response.status_code, response.get("Retry-After"), message))
        return answers, hashes.count - before

    known, known_hashes = attack(doctor.username)
    unknown, unknown_hashes = attack("dr.nobody")
    assert [a[0] for a in known] == [a[0] for a in unknown]
    for (_, known_wait, _), (_, unknown_wait, _) in zip(known, unknown, strict=True):
        # The same wait, give or take how long the last password hash took (seconds on a
        # loaded machine): both count from the last failure.
        assert (known_wait is None) == (unknown_wait is None)
        if known_wait is not None:
            assert 0 < int(known_wait) <= 30 and 0 < int(unknown_wait) <= 30
            assert abs(int(known_wait) - int(unknown_wait)) <= 10
    assert [a[2] for a in known] == [a[2] for a in unknown]
    assert known[0][2] == "Wrong username or password."
    assert (
        known[-1][2] == "Too many wrong passwords for this account. Wait N seconds and try again."
    )
    assert [a[0] for a in known].count(429) == 6  # 10 free, then slowed
    # The hasher runs once per try that is not refused, whether the name exists or not.
    assert known_hashes == unknown_hashes == 10
    assert AuditEvent.objects.filter(action="auth.staff_password_failed").count() == 20
