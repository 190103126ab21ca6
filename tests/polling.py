"""Waiting for something to happen in a test: ask again until it has, or a deadline passes.

A fixed sleep is either too short on a loaded CI machine or too long everywhere else;
these return as soon as ``predicate()`` is true. They return whether it became true, so
the caller asserts on the value itself and a failure shows what was there instead.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


def wait_until(
    predicate: Callable[[], object], timeout: float = 10, interval: float = 0.05
) -> bool:
    """Call ``predicate`` every ``interval`` seconds until it is true or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() >= deadline:
            return bool(predicate())
        time.sleep(interval)
    return True


async def async_wait_until(
    predicate: Callable[[], object], timeout: float = 10, interval: float = 0.05
) -> bool:
    """``wait_until`` for async tests: the event loop runs on between the calls."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() >= deadline:
            return bool(predicate())
        await asyncio.sleep(interval)
    return True
