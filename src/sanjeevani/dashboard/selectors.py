"""The dashboards' reads, through the cache.

The figures come from ``figures`` (rollup rows, flat cost); this module keeps each scope's
computed figures in Django's cache for ``FIGURES_SECONDS`` and the live ones for
``LIVE_SECONDS``, so a burst of the public (a press release) is served from the cache and
costs the database nothing extra, and every app node shares the same entry through Redis.
The key holds the scope and the IST day, so "today" turns over at midnight in India.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.core.cache import cache
from django.utils import timezone

from . import figures
from .figures import Scope

FIGURES_SECONDS = 60
LIVE_SECONDS = 10
#: Bump when what is cached changes shape, so old entries are never read as new ones.
VERSION = 3
TREND_DAYS = 30
#: A stale entry is kept this many times its freshness, for the one-computes-others-wait rule.
STALE_FACTOR = 10
#: How long one request may hold the right to recompute an entry.
LOCK_SECONDS = 30
T = TypeVar("T")


@dataclass(frozen=True)
class Overview:
    """Everything a dashboard page shows for one scope, as one cache entry."""

    scope: Scope
    today: dt.date
    headline: Any
    ranking: list
    trend: list
    operations: Any = None


def _key(kind: str, scope: Scope, today: dt.date | None = None) -> str:
    fields = dataclasses.astuple(scope)
    digest = hashlib.sha1(repr((fields, today)).encode(), usedforsecurity=False).hexdigest()
    return f"dashboard:v{VERSION}:{kind}:{digest}"


def overview(scope: Scope, *, operational: bool = False, with_spokes: bool = True) -> Overview:
    """The scope's figures, computed at most once a minute per scope and app cluster.
    ``with_spokes=False``: the operations without the spokes' lists (``spoke_lists``)."""
    today = timezone.localdate()

    def compute() -> Overview:
        with figures.resolving():  # the scope's codes looked up once for every figure
            return Overview(
                scope=scope,
                today=today,
                headline=figures.headline(scope, today=today),
                # Only the whole country's page ranks the states.
                ranking=list(figures.state_ranking(scope)) if scope.state_code is None else [],
                trend=list(figures.daily_trend(scope, days=TREND_DAYS, today=today)),
                operations=(
                    figures.operations(scope, with_spokes=with_spokes) if operational else None
                ),
            )

    kind = ("ops" if with_spokes else "ops-only") if operational else "overview"
    return _cached(_key(kind, scope, today), FIGURES_SECONDS, compute)


def spoke_lists(scope: Scope) -> figures.SpokeLists:
    """A state's spokes' lists (quiet, fewest consultations per head), at most a minute old."""
    today = timezone.localdate()
    return _cached(
        _key("spokes", scope, today), FIGURES_SECONDS, lambda: figures.spoke_lists(scope, today)
    )


def live(scope: Scope) -> dict[str, int]:
    """Patients waiting and doctors online now, at most ``LIVE_SECONDS`` old."""

    def compute() -> dict[str, int]:
        now = figures.live_now(scope)
        return {"waiting": int(now.waiting), "doctors_online": int(now.doctors_online)}

    return _cached(_key("live", scope), LIVE_SECONDS, compute)


def _now() -> float:
    return time.time()


def _cached(key: str, seconds: int, compute: Callable[[], T]) -> T:
    """``compute()``'s value, fresh for ``seconds``. A stale value is kept a while longer
    (``STALE_FACTOR``): when it goes stale, one request (the one that takes the lock)
    computes the new value while every other request is served the stale one, so the
    moment an entry expires in the middle of a burst costs one computation, not one per
    request."""
    entry = cache.get(key)
    if entry is not None:
        value, fresh_until = entry
        if _now() < fresh_until or not cache.add(f"{key}:lock", 1, LOCK_SECONDS):
            return value
    value = compute()
    cache.set(key, (value, _now() + seconds), seconds * STALE_FACTOR)
    if entry is not None:
        cache.delete(f"{key}:lock")
    return value
