"""Sign-in fixtures: SMS goes to a file outbox in a temporary folder, read back by tests."""

from __future__ import annotations

import re

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from sanjeevani.accounts.sms import FileOutboxBackend


class Outbox:
    def __init__(self, directory) -> None:
        self.backend = FileOutboxBackend(directory)

    def messages(self, to: str | None = None):
        return self.backend.messages(to)

    def last_code(self, to: str) -> str:
        found = self.messages(to)
        assert found, f"no SMS was sent to {to}"
        match = re.search(r"\b(\d{6})\b", found[-1].body)
        assert match, found[-1].body
        return match.group(1)


@pytest.fixture
def outbox(settings, tmp_path) -> Outbox:
    settings.SMS_BACKEND = "file"
    settings.SMS_OUTBOX_DIR = tmp_path / "outbox"
    return Outbox(settings.SMS_OUTBOX_DIR)


@pytest.fixture
def require_2fa(settings):
    settings.REQUIRE_STAFF_2FA = True
    return settings


def current_totp(device: TOTPDevice) -> str:
    """The code an authenticator app would show now for this device."""
    device.refresh_from_db()
    value = totp(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{value:0{device.digits}d}"


def fresh_totp(device: TOTPDevice) -> str:
    """A currently valid code that the device has not accepted before (codes are single-use
    within a time step, and a test may use two in the same step)."""
    TOTPDevice.objects.filter(pk=device.pk).update(last_t=-1)
    return current_totp(device)


def wrong_totp(device: TOTPDevice) -> str:
    right = int(current_totp(device))
    return f"{(right + 500000) % 1000000:06d}"
