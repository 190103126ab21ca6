"""Wrong passwords that arrive at the same moment are counted exactly (issue 10, item 2).

60 threads, each with its own database connection (as 60 requests on several app nodes
would be), send a wrong password for one username from 60 addresses at once. The limit is
10 free failures; each try is counted before the password hash runs, so exactly 10 hashes
run and 50 tries are told to wait, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import threading

import pytest
from django.contrib.auth.hashers import Argon2PasswordHasher
from django.db import connection
from django.test import Client

from sanjeevani.accounts.models import SignInCounter
from sanjeevani.accounts.throttle import counter_key
from sanjeevani.audit.models import AuditEvent
from tests.factories import StaffUserFactory

TRIES = 60


@pytest.mark.django_db(transaction=True)
def test_sixty_simultaneous_wrong_passwords_run_the_hasher_exactly_the_limit(settings, monkeypatch):
    settings.STAFF_PASSWORD_FREE_FAILURES = 10
    # Long enough that no thread, however late, finds the wait already over.
    settings.SIGN_IN_BACKOFF_BASE_SECONDS = 600
    settings.STAFF_PASSWORD_BACKOFF_CAP_SECONDS = 600
    doctor = StaffUserFactory()
    lock = threading.Lock()
    checks = 0
    real_verify = Argon2PasswordHasher.verify

    def counted_verify(hasher, password, encoded):
        nonlocal checks
        with lock:
            checks += 1
        return real_verify(hasher, password, encoded)

    monkeypatch.setattr(Argon2PasswordHasher, "verify", counted_verify)
    statuses: list[int] = []
    start = threading.Barrier(TRIES)

    def wrong_password(n: int) -> None:
        try:
            client = Client()
            start.wait()
            response = client.post(
                "/accounts/staff/",
                {"username": doctor.username, "password": f"wrong {n}"},
                REMOTE_ADDR=f"10.9.{n // 250}.{n % 250 + 1}",
            )
            with lock:
                statuses.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=wrong_password, args=(n,)) for n in range(TRIES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=240)

    assert len(statuses) == TRIES
    assert checks == 10
    assert sorted(statuses) == [200] * 10 + [429] * 50
    assert SignInCounter.objects.get(key=counter_key("pw-user", doctor.username)).failures == 10
    assert AuditEvent.objects.filter(action="auth.staff_password_failed").count() == 10
