"""TURN credentials in coturn's shared-secret scheme, and the room token's expiry."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import uuid
from unittest import mock

import pytest

from sanjeevani.realtime import ice, tokens


@pytest.fixture
def turn(settings):
    settings.ICE_SERVERS = [{"urls": "stun:stun.example.org:3478"}]
    settings.TURN_URLS = ["turn:turn.example.org:3478?transport=udp"]
    settings.TURN_SECRET = "s3cret"
    settings.TURN_CREDENTIAL_TTL_SECONDS = 600
    return settings


def test_turn_credential_is_hmac_sha1_of_expiry_and_user(turn):
    user_id = uuid.uuid4()
    creds = ice.turn_credentials(user_id, now=1_700_000_000)
    assert creds["username"] == f"{1_700_000_600}:{user_id}"
    expected = hmac.new(b"s3cret", creds["username"].encode(), hashlib.sha1).digest()
    assert base64.b64decode(creds["credential"]) == expected
    assert creds["ttl"] == 600


def test_each_participant_gets_fresh_turn_credentials_never_a_fixed_password(turn):
    first, second = uuid.uuid4(), uuid.uuid4()
    servers = ice.ice_servers_for(first)
    assert servers[0] == {"urls": "stun:stun.example.org:3478"}
    relay = servers[1]
    assert relay["urls"] == ["turn:turn.example.org:3478?transport=udp"]
    expiry, user = relay["username"].split(":")
    assert user == str(first)
    assert time.time() + 590 < int(expiry) <= time.time() + 600
    assert relay["credential"] != ice.ice_servers_for(second)[1]["credential"]
    assert relay["credential"] != "s3cret"


def test_no_turn_entry_without_a_secret(settings):
    settings.ICE_SERVERS = []
    settings.TURN_URLS = ["turn:turn.example.org:3478"]
    settings.TURN_SECRET = ""
    assert ice.ice_servers_for(uuid.uuid4()) == []


def test_room_token_is_bound_and_expires(settings):
    settings.ROOM_TOKEN_TTL_SECONDS = 300
    consultation, user = uuid.uuid4(), uuid.uuid4()
    token = tokens.issue_token(consultation, user)
    claims = tokens.read_token(token)
    assert (claims.consultation_id, claims.user_id) == (consultation, user)
    assert claims.jti != tokens.read_token(tokens.issue_token(consultation, user)).jti
    later = time.time() + 301
    with (
        mock.patch("django.core.signing.time.time", lambda: later),
        pytest.raises(tokens.TokenRefused) as refused,
    ):
        tokens.read_token(token)
    assert refused.value.code == "expired"
    with pytest.raises(tokens.TokenRefused):
        tokens.read_token(token.replace(token[5], "x" if token[5] != "x" else "y", 1))
