"""Fixtures of the access tests: private storage and a signing key per test, the world."""

from __future__ import annotations

import pytest

from sanjeevani.prescriptions import signing

from .world import World, build_world


@pytest.fixture(autouse=True)
def _private_files(settings, tmp_path):
    """Uploads and the prescription signing key live in the test's own folder."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.SIGNING_KEY_FILE = tmp_path / "keys" / "rx.pem"
    settings.SMS_BACKEND = "file"
    settings.SMS_OUTBOX_DIR = tmp_path / "sms"
    signing._load_private_key.cache_clear()
    yield
    signing._load_private_key.cache_clear()


@pytest.fixture
def world(db) -> World:
    return build_world()
