"""Indian mobile numbers in the forms people type them."""

from __future__ import annotations

import pytest

from sanjeevani.accounts.services import SignInError, normalise_mobile


@pytest.mark.parametrize(
    "typed",
    ["9876543210", "98765 43210", "+91 98765-43210", "098765 43210", "+919876543210"],
)
def test_common_ways_of_typing_a_number_become_e164(typed):
    assert normalise_mobile(typed) == "+919876543210"


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("   ", "Enter your mobile number."),
        ("not a number", "Enter a 10-digit Indian mobile number, for example 98765 43210."),
        ("98765", "Enter a 10-digit Indian mobile number, for example 98765 43210."),
        ("+44 7911 123456", "Only Indian mobile numbers (+91) can be used here."),
        ("+91 80 2222 3333", "That looks like a landline."),
    ],
)
def test_numbers_that_cannot_receive_our_sms_are_explained(typed, message):
    with pytest.raises(SignInError) as caught:
        normalise_mobile(typed)
    assert caught.value.message.startswith(message)
    assert caught.value.field == "mobile"


def test_schema_documents_every_accounts_endpoint(client, db):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    paths = {p for p in schema["paths"] if p.startswith("/api/v1/accounts/")}
    assert paths == {
        "/api/v1/accounts/otp/request",
        "/api/v1/accounts/otp/verify",
        "/api/v1/accounts/staff/token",
        "/api/v1/accounts/me",
        "/api/v1/accounts/logout",
        "/api/v1/accounts/logout/everywhere",
        "/api/v1/accounts/devices",
        "/api/v1/accounts/devices/{id}",
    }
    request = schema["paths"]["/api/v1/accounts/otp/request"]["post"]
    assert {"202", "400", "429"} <= set(request["responses"])
