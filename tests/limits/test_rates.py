"""The counter behind every limit: rates as data, per user then per address, exact under
concurrency, and a typo in RATE_LIMITS caught at start-up."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from types import SimpleNamespace

import pytest

from sanjeevani.limits import rates


def person(pk: int) -> SimpleNamespace:
    return SimpleNamespace(pk=pk, is_authenticated=True)


ANONYMOUS = SimpleNamespace(pk=None, is_authenticated=False)


@pytest.mark.parametrize(
    ("text", "count", "seconds"),
    [
        ("10/hour", 10, 3600),
        ("30/10min", 30, 600),
        ("5/30s", 5, 30),
        ("2/min", 2, 60),
        ("100/days", 100, 86400),
    ],  # fmt: skip
)
def test_rates_parse(text, count, seconds):
    assert rates.Rate.parse(text) == rates.Rate(count, seconds)


@pytest.mark.parametrize("text", ["10", "ten/hour", "10/fortnight", "10/0min", "/hour"])
def test_bad_rates_are_refused_with_the_form_to_write(text):
    with pytest.raises(ValueError, match="<count>/<period>|longer than zero"):
        rates.Rate.parse(text)


def test_settings_validation_names_the_problem():
    rates.validate({"queue.join": {"user": "5/hour"}})
    with pytest.raises(ValueError, match="unknown scopes: queue.jion"):
        rates.validate({"queue.jion": {"user": "5/hour"}})
    with pytest.raises(ValueError, match="user"):
        rates.validate({"queue.join": {"person": "5/hour"}})
    with pytest.raises(ValueError, match="count"):
        rates.validate({"queue.join": {"user": "lots"}})


def test_override_merges_with_the_declared_defaults(settings):
    settings.RATE_LIMITS = {"queue.join": {"user": "3/min"}}
    found = rates.rates_for("queue.join")
    assert found["user"] == rates.Rate(3, 60)
    assert found["address"] == rates.Rate.parse(rates.DEFAULT_LIMITS["queue.join"]["address"])
    settings.RATE_LIMITS = {"queue.join": {"address": None}}
    assert rates.rates_for("queue.join")["address"] is None


def test_user_limit_then_address_limit(settings):
    settings.RATE_LIMITS = {"feedback": {"user": "2/hour", "address": "3/hour"}}
    assert rates.check("feedback", user=person(1), address="10.0.0.1") is None
    assert rates.check("feedback", user=person(1), address="10.0.0.1") is None
    refusal = rates.check("feedback", user=person(1), address="10.0.0.1")
    assert refusal is not None and refusal.by == "user"
    assert 0 < refusal.retry_after <= 3600
    # The refused attempts did not spend the address's allowance: another person there
    # still gets the third place; the fourth attempt from the address is refused.
    for _ in range(5):
        assert rates.check("feedback", user=person(1), address="10.0.0.1") is not None
    assert rates.check("feedback", user=person(2), address="10.0.0.1") is None
    refusal = rates.check("feedback", user=person(3), address="10.0.0.1")
    assert refusal is not None and refusal.by == "address"
    # Elsewhere, nobody is affected; the first person is still limited from anywhere.
    assert rates.check("feedback", user=person(3), address="10.0.0.2") is None
    assert rates.check("feedback", user=ANONYMOUS, address="10.0.0.2") is None
    assert rates.check("feedback", user=person(1), address="10.0.0.2").by == "user"


def test_switched_off(settings):
    settings.RATE_LIMITS = {"feedback": {"user": "1/hour"}}
    settings.RATE_LIMITS_ENABLED = False
    for _ in range(3):
        assert rates.check("feedback", user=person(1), address="10.0.0.1") is None


def test_unknown_scope_is_a_programming_error():
    with pytest.raises(KeyError):
        rates.check("nonsense", user=person(1), address="10.0.0.1")


def test_concurrent_attempts_are_counted_exactly(settings):
    """With REDIS_URL this runs against Redis: INCR is atomic, so exactly the limit passes."""
    settings.RATE_LIMITS = {"write": {"user": "37/hour", "address": None}}
    allowed = []
    lock = threading.Lock()
    start = threading.Barrier(12)

    def attempt() -> None:
        start.wait()
        for _ in range(6):
            ok = rates.check("write", user=person(7), address=None) is None
            with lock:
                allowed.append(ok)

    threads = [threading.Thread(target=attempt) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(allowed) == 72
    assert allowed.count(True) == 37


def test_message_says_how_long_to_wait():
    assert "45 seconds" in rates.message_for(rates.Refusal("feedback", "user", 45))
    assert "3 minutes" in rates.message_for(rates.Refusal("feedback", "user", 150))
    assert "2 minutes" in rates.message_for(rates.Refusal("feedback", "user", 90))


@pytest.mark.parametrize(
    "value", ['{"queue.jion": {"user": "5/hour"}}', '{"queue.join": {"user": "lots"}}', "[1]"]
)
def test_a_bad_rate_limits_setting_stops_the_start_up(value):
    env = {
        **os.environ,
        "RATE_LIMITS": value,
        "DJANGO_SETTINGS_MODULE": "sanjeevani.config.settings",
    }
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "ImproperlyConfigured: RATE_LIMITS" in result.stderr
