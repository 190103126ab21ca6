"""The limits count in fixed windows of the wall clock, so a test that makes two attempts
could straddle a window's end (the second attempt then counts afresh) or read "seconds"
where it expects "minutes" in the last ninety seconds of an hour. Every test here sees
one frozen instant ten minutes into the day: the start of every window up to ten minutes
long, and well inside the hour and the day."""

from __future__ import annotations

import time

import pytest

from sanjeevani.limits import rates


@pytest.fixture(autouse=True)
def frozen_limit_clock(monkeypatch: pytest.MonkeyPatch) -> float:
    instant = (time.time() // 86400) * 86400 + 600
    clock = type("FrozenClock", (), {"time": staticmethod(lambda: instant)})
    monkeypatch.setattr(rates, "time", clock)
    return instant
