"""Rate limits hold when requests for one number arrive at the same moment, as they would
on several app nodes sharing one database."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from sanjeevani.accounts.models import OTPChallenge
from sanjeevani.accounts.services import SignInError, request_otp

MOBILE = "+919811122233"


@pytest.mark.django_db(transaction=True)
def test_simultaneous_requests_for_one_number_send_one_code(outbox):
    outcomes: list[str] = []
    start = threading.Barrier(4)

    def ask() -> None:
        start.wait()
        try:
            request_otp(MOBILE, "203.0.113.9")
            outcomes.append("sent")
        except SignInError as error:
            outcomes.append(error.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(outcomes) == ["resend_too_soon"] * 3 + ["sent"]
    assert OTPChallenge.objects.filter(mobile=MOBILE).count() == 1
    assert len(outbox.messages(MOBILE)) == 1
