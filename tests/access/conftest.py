"""Fixtures of the access tests: private storage and a signing key per test, the world."""

from __future__ import annotations

import pytest

from sanjeevani.prescriptions import signing

from .world import World, build_world


@pytest.fixture(scope="session")
def _signing_key_file(tmp_path_factory):
    return tmp_path_factory.mktemp("keys") / "rx.pem"


@pytest.fixture(autouse=True)
def _private_files(settings, tmp_path, _signing_key_file):
    """Uploads live in the test's own folder; one throwaway signing key serves the session.
    Passwords are hashed the fast way: nine people sign in for every route."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.SIGNING_KEY_FILE = _signing_key_file
    settings.SMS_BACKEND = "file"
    settings.SMS_OUTBOX_DIR = tmp_path / "sms"
    signing._load_private_key.cache_clear()
    yield
    signing._load_private_key.cache_clear()


@pytest.fixture
def world(db) -> World:
    return build_world()
