"""The daily SMS ceiling per number: notifications stop (logged, audited), the action's
caller is not disturbed, and sign-in codes are never held back by it."""

from __future__ import annotations

import pytest

from sanjeevani.accounts.sms import (
    FileOutboxBackend,
    SMSKind,
    notifications_sent_today,
    send_sms,
)
from sanjeevani.audit.models import AuditEvent

pytestmark = pytest.mark.django_db

NUMBER = "+919812345678"
OTHER = "+919812345679"


@pytest.fixture
def outbox(settings, tmp_path) -> FileOutboxBackend:
    settings.SMS_BACKEND = "file"
    settings.SMS_OUTBOX_DIR = tmp_path / "sms"
    return FileOutboxBackend(tmp_path / "sms")


def test_notifications_stop_at_the_ceiling_and_are_audited(settings, outbox, caplog):
    settings.SMS_DAILY_CEILING_PER_NUMBER = 3
    sent = [send_sms(NUMBER, f"note {n}", kind=SMSKind.NOTIFICATION) for n in range(5)]
    assert sent == [True, True, True, False, False]
    assert [m.body for m in outbox.messages(NUMBER)] == ["note 0", "note 1", "note 2"]
    suppressed = AuditEvent.objects.filter(action="sms.suppressed")
    assert suppressed.count() == 2
    assert suppressed.first().detail["mobile"] == NUMBER
    assert suppressed.first().detail["ceiling"] == 3
    assert "suppressed" in caplog.text
    assert notifications_sent_today(NUMBER) == 5
    # Another number has its own count.
    assert send_sms(OTHER, "hello") is True
    assert len(outbox.messages(OTHER)) == 1


def test_sign_in_codes_pass_the_ceiling_and_are_not_counted(settings, outbox):
    settings.SMS_DAILY_CEILING_PER_NUMBER = 1
    assert send_sms(NUMBER, "note", kind=SMSKind.NOTIFICATION) is True
    assert send_sms(NUMBER, "note again", kind=SMSKind.NOTIFICATION) is False
    for n in range(3):
        assert send_sms(NUMBER, f"{n}23456 is your code", kind=SMSKind.OTP) is True
    assert [m.body for m in outbox.messages(NUMBER)][1:] == [
        "023456 is your code",
        "123456 is your code",
        "223456 is your code",
    ]
    assert notifications_sent_today(NUMBER) == 2


def test_a_failed_code_is_raised_a_failed_notification_is_not(settings):
    settings.SMS_BACKEND = "sanjeevani.accounts.sms.HTTPGatewayBackend"
    settings.SMS_GATEWAY_URL = ""  # the backend refuses to start: a gateway failure
    assert send_sms(NUMBER, "note") is False
    with pytest.raises(ValueError):
        send_sms(NUMBER, "123456 is your code", kind=SMSKind.OTP)


def test_zero_turns_the_ceiling_off(settings, outbox):
    settings.SMS_DAILY_CEILING_PER_NUMBER = 0
    assert all(send_sms(NUMBER, f"note {n}") for n in range(4))
    assert len(outbox.messages(NUMBER)) == 4
    assert not AuditEvent.objects.filter(action="sms.suppressed").exists()
