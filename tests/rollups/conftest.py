import pytest
from django.utils import timezone

from sanjeevani.prescriptions import signing

from .scenario import Clock, World, build


@pytest.fixture
def clock(monkeypatch) -> Clock:
    """``timezone.now`` (and so every ``auto_now``) on the scenario's clock."""
    at = Clock()
    monkeypatch.setattr(timezone, "now", at)
    return at


@pytest.fixture
def signing_key(settings, tmp_path):
    settings.SIGNING_KEY_FILE = tmp_path / "keys" / "rx.pem"
    settings.SMS_BACKEND = "file"
    settings.SMS_OUTBOX_DIR = tmp_path / "outbox"
    settings.MEDIA_ROOT = tmp_path / "media"
    signing._load_private_key.cache_clear()
    yield
    signing._load_private_key.cache_clear()


@pytest.fixture
def world(db, clock, signing_key) -> World:
    return build(clock)
