"""Patient sign-in through the pages at /accounts/otp/."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sanjeevani.accounts.models import OTPChallenge, User

pytestmark = pytest.mark.django_db

URL = "/accounts/otp/"
MOBILE = "+919812345678"


def wait_out_the_resend_interval() -> None:
    created = OTPChallenge.objects.get().created_at
    OTPChallenge.objects.update(created_at=created - timedelta(seconds=61))


def send(client, mobile="98123 45678", next_url=""):
    data = {"action": "send", "mobile": mobile}
    if next_url:
        data["next"] = next_url
    return client.post(URL, data)


def test_mobile_then_code_signs_in_and_goes_to_family_profiles(client, outbox):
    page = client.get(URL)
    assert page.status_code == 200
    assert b'name="mobile"' in page.content

    response = send(client)
    assert response.status_code == 302
    code_page = client.get(response["Location"])
    assert b'name="code"' in code_page.content
    assert b"+91 98123 45678" in code_page.content
    assert b"You can ask for a new code in" in code_page.content

    response = client.post(URL, {"action": "verify", "code": outbox.last_code(MOBILE)})
    assert response.status_code == 302
    assert response["Location"] == "/patients/"
    user = User.objects.get(username=MOBILE)
    assert client.session["_auth_user_id"] == str(user.pk)


def test_safe_next_is_followed_and_unsafe_next_ignored(client, outbox):
    send(client, next_url="/opd/join/")
    response = client.post(
        URL, {"action": "verify", "code": outbox.last_code(MOBILE), "next": "/opd/join/"}
    )
    assert response["Location"] == "/opd/join/"

    client.logout()
    wait_out_the_resend_interval()
    send(client)
    response = client.post(
        URL,
        {"action": "verify", "code": outbox.last_code(MOBILE), "next": "https://evil.example/"},
    )
    assert response["Location"] == "/patients/"


def test_wrong_code_says_how_many_tries_are_left(client, outbox):
    send(client)
    code = outbox.last_code(MOBILE)
    wrong = f"{(int(code) + 7) % 1000000:06d}"
    response = client.post(URL, {"action": "verify", "code": wrong})
    assert response.status_code == 200
    assert b"Wrong code. 4 tries left." in response.content
    assert "_auth_user_id" not in client.session


def test_resend_too_soon_says_how_long_to_wait(client, outbox):
    send(client)
    response = client.post(URL, {"action": "resend"})
    assert response.status_code == 429
    assert b"Please wait" in response.content
    assert b"seconds before asking for a new code." in response.content
    assert int(response["Retry-After"]) <= 60
    assert len(outbox.messages(MOBILE)) == 1


def test_resend_after_the_wait_sends_a_new_code(client, outbox):
    send(client)
    wait_out_the_resend_interval()
    response = client.post(URL, {"action": "resend"})
    assert response.status_code == 302
    assert len(outbox.messages(MOBILE)) == 2


def test_invalid_number_is_explained_on_the_page(client, outbox):
    response = send(client, mobile="12345")
    assert response.status_code == 200
    assert b"Enter a 10-digit Indian mobile number" in response.content
    assert b'name="mobile"' in response.content
    assert outbox.messages() == []


def test_expired_code_on_the_page(client, outbox):
    send(client)
    code = outbox.last_code(MOBILE)
    OTPChallenge.objects.update(expires_at=OTPChallenge.objects.get().created_at)
    response = client.post(URL, {"action": "verify", "code": code})
    assert b"That code has expired. Ask for a new one." in response.content


def test_change_number_returns_to_the_first_step(client, outbox):
    send(client)
    client.post(URL, {"action": "change"})
    assert b'name="mobile"' in client.get(URL).content


def test_logout_is_post_only_and_signs_out(client, outbox):
    send(client)
    client.post(URL, {"action": "verify", "code": outbox.last_code(MOBILE)})
    assert client.get("/accounts/logout/").status_code == 200
    assert "_auth_user_id" in client.session
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


def test_asking_again_from_a_new_session_leads_to_the_code_already_sent(client, outbox):
    send(client)
    code = outbox.last_code(MOBILE)
    client.cookies.clear()
    response = send(client)
    assert response.status_code == 429
    assert b"seconds before asking for a new code." in response.content
    assert b'name="code"' in response.content
    response = client.post(URL, {"action": "verify", "code": code})
    assert response["Location"] == "/patients/"
