"""Sign-in limits that slow an attacker down instead of locking the real person out.

A lock that anyone can trigger (ten wrong passwords, five burnt codes) is a way to keep a
doctor or a patient out. So every ceiling here has a free allowance and then asks for an
increasing wait after the last failure (``base * 2^(extra failures)`` seconds, never more
than the ceiling's cap), and the ceiling that every address shares (one username, one
mobile number) does not apply to a device that signed in as that person before (see
``trust``).

The counts live in one ``SignInCounter`` row per key, read and changed under
``SELECT ... FOR UPDATE`` inside the caller's transaction: PostgreSQL locks the row,
SQLite's IMMEDIATE transactions serialise writers, so 60 simultaneous wrong passwords are
60 counted failures on both, and several app nodes share the same count.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.crypto import salted_hmac

from .models import SignInCounter

_KEY_SALT = "sanjeevani.accounts.throttle"
#: Rows untouched this long are deleted now and then (a scan of random usernames must not
#: grow the table for ever).
PRUNE_AFTER = timedelta(days=1)


@dataclass(frozen=True)
class Ceiling:
    """``free`` failures under ``key`` go through at once; after that each try waits."""

    key: str
    free: int
    cap_seconds: float


def counter_key(kind: str, *parts: str | None) -> str:
    """A stable key for a username, number or (name, address) pair that does not store them."""
    joined = "\x1f".join(part or "" for part in parts)
    return f"{kind}:{salted_hmac(_KEY_SALT, joined, algorithm='sha256').hexdigest()[:48]}"


def _window() -> timedelta:
    return timedelta(seconds=settings.SIGN_IN_FAILURE_WINDOW_SECONDS)


def backoff_seconds(failures: int, free: int, cap: float) -> float:
    """How long after the last failure the next try may come."""
    if failures < free:
        return 0.0
    extra = min(failures - free, 32)
    return float(min(cap, settings.SIGN_IN_BACKOFF_BASE_SECONDS * 2**extra))


def _wait(row: SignInCounter, ceiling: Ceiling, now: datetime) -> int:
    if row.last_failure_at is None:
        return 0
    delay = backoff_seconds(row.failures, ceiling.free, ceiling.cap_seconds)
    if not delay:
        return 0
    remaining = (row.last_failure_at + timedelta(seconds=delay) - now).total_seconds()
    return math.ceil(remaining) if remaining > 0 else 0


def _locked(key: str) -> SignInCounter:
    # INSERT ... ON CONFLICT DO NOTHING, then lock: two first tries for a key cannot both
    # create it, and the second waits for the first's row.
    # A prune may delete an idle row between the two statements: then create it again.
    row = None
    while row is None:
        SignInCounter.objects.bulk_create([SignInCounter(key=key)], ignore_conflicts=True)
        row = SignInCounter.objects.select_for_update().filter(key=key).first()
    return row


def wait_needed(ceilings: Sequence[Ceiling]) -> tuple[int, list[SignInCounter], datetime]:
    """Lock every ceiling's row (in key order, so two callers never wait on each other in
    a cycle) and say how long the caller must still wait (0: go ahead), with the time the
    locks were held from. Call inside a transaction; the rows stay locked until it ends.

    The time is read after the locks are taken: a caller that queued behind others must
    not see their failures as lying in its future."""
    ordered = sorted(ceilings, key=lambda c: c.key)
    rows = [_locked(ceiling.key) for ceiling in ordered]
    now = timezone.now()
    wait = 0
    for row, ceiling in zip(rows, ordered, strict=True):
        if row.last_failure_at is not None and row.last_failure_at <= now - _window():
            row.failures = 0
        wait = max(wait, _wait(row, ceiling, now))
    return wait, rows, now


def count_failure(rows: Iterable[SignInCounter], now: datetime) -> None:
    """One more failure on each locked row."""
    for row in rows:
        row.failures += 1
        row.last_failure_at = now
        row.save(update_fields=["failures", "last_failure_at"])


def reserve(ceilings: Sequence[Ceiling]) -> int:
    """For a check that is slow and must run outside the lock (a password hash): count the
    try as a failure in advance, or return the seconds to wait without counting anything.
    A try that turns out right gives its failure back with ``release``."""
    with transaction.atomic():
        wait, rows, now = wait_needed(ceilings)
        if not wait:
            count_failure(rows, now)
    return wait


def release(take_back: Iterable[str], forget: Iterable[str] = ()) -> None:
    """A try that was counted in advance was right: take one failure back from each key in
    ``take_back`` and forget every failure under the keys in ``forget``."""
    SignInCounter.objects.filter(key__in=list(take_back), failures__gt=0).update(
        failures=F("failures") - 1
    )
    forget = list(forget)
    if forget:
        SignInCounter.objects.filter(key__in=forget).update(failures=0)


def prune_now_and_then(now: datetime) -> None:
    """Delete long-idle counters about once in a hundred calls, in its own short transaction."""
    if random.random() < 0.01:  # noqa: S311 (not security-relevant)
        idle = Q(last_failure_at__lt=now - PRUNE_AFTER) | Q(last_failure_at__isnull=True)
        SignInCounter.objects.filter(idle).delete()
