"""The named limits and the one counter behind them.

A limit is a scope (``"queue.join"``) with a rate per signed-in user and a rate per client
address, each ``"<count>/<period>"`` (``"10/hour"``, ``"30/10min"``, ``"5/30s"``). An
attempt is counted in a fixed window per rate: the key carries the window's number, so
its expiry never matters to the count, and ``Retry-After`` is the time left in the window.
On Redis one round trip per counter (``INCR`` + ``EXPIRE`` pipelined, atomic); elsewhere
``cache.add`` then ``cache.incr`` (atomic under the local-memory cache's lock).

The user's counter is checked first and a refused attempt stops there: one person
hammering an action spends their own allowance, not that of the others behind the same
address (a family's phone, a health centre, a mobile carrier's shared address). The
address's rate is therefore set well above the user's.

The cache failing lets the action through (and logs it): a limit must not take the service
down with it.
"""

from __future__ import annotations

import logging
import math
import re
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.utils.translation import ngettext

log = logging.getLogger(__name__)

#: scope -> {"user": rate, "address": rate}; ``RATE_LIMITS`` in settings overrides any part
#: (``{"queue.join": {"user": "5/hour"}}``); a rate of ``None`` or ``""`` switches it off.
DEFAULT_LIMITS: dict[str, dict[str, str | None]] = {
    # Taking a token, booking a follow-up, rejoining after a missed call: each sends an SMS.
    "queue.join": {"user": "10/hour", "address": "300/hour"},
    # Cancelling a token (with a token taken again, the way 40 SMS went to one number).
    "queue.cancel": {"user": "10/hour", "address": "300/hour"},
    # Patient documents shared with the doctor (files written to disk).
    "documents.upload": {"user": "30/hour", "address": "300/hour"},
    # Family profiles added or changed.
    "family.write": {"user": "20/hour", "address": "200/hour"},
    # Feedback after a consultation.
    "feedback": {"user": "10/hour", "address": "200/hour"},
    # Chat messages in the room (the WebSocket), per user across their connections.
    "room.chat": {"user": "30/min", "address": "300/min"},
    # Files shared in the room.
    "room.file": {"user": "30/hour", "address": "300/hour"},
    # Prescriptions issued (each sends an SMS with the download link).
    "prescription.issue": {"user": "60/hour", "address": "600/hour"},
    # The record editor's autosave: frequent by design, limited only against a runaway.
    "consultation.record": {"user": "300/min", "address": "3000/min"},
    # Any other write through the API or a page.
    "write": {"user": "120/min", "address": "1200/min"},
}

_UNITS = {
    "s": 1,
    "sec": 1,
    "second": 1,
    "m": 60,
    "min": 60,
    "minute": 60,
    "h": 3600,
    "hour": 3600,
    "d": 86400,
    "day": 86400,
}
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([a-z]+?)s?\s*$")


@dataclass(frozen=True)
class Rate:
    count: int
    seconds: int

    @classmethod
    def parse(cls, text: str) -> Rate:
        """``"10/hour"``, ``"30/10min"``, ``"5/30s"``; a ``ValueError`` names what is wrong."""
        match = _RATE.match(str(text).lower())
        if not match or match.group(3) not in _UNITS:
            raise ValueError(
                f"rate {text!r}: write <count>/<period>, e.g. 10/hour, 30/10min, 5/30s"
            )
        seconds = int(match.group(2) or 1) * _UNITS[match.group(3)]
        if seconds <= 0:
            raise ValueError(f"rate {text!r}: the period must be longer than zero")
        return cls(int(match.group(1)), seconds)


@dataclass(frozen=True)
class Refusal:
    """Why an attempt was refused: the scope, which counter (``user`` or ``address``) and
    the seconds until its window ends."""

    scope: str
    by: str
    retry_after: int


def rates_for(scope: str) -> dict[str, Rate | None]:
    """The scope's rates after the ``RATE_LIMITS`` setting; an unknown scope is an error in
    the code that names it, so it raises."""
    if scope not in DEFAULT_LIMITS:
        raise KeyError(f"unknown rate limit scope {scope!r}; declare it in limits/rates.py")
    declared = dict(DEFAULT_LIMITS[scope])
    declared.update((getattr(settings, "RATE_LIMITS", None) or {}).get(scope) or {})
    return {kind: Rate.parse(text) if text else None for kind, text in declared.items()}


def enabled() -> bool:
    return bool(getattr(settings, "RATE_LIMITS_ENABLED", True))


def count_in_window(key: str, timeout: int) -> int:
    """Add one to the counter ``key`` (created with ``timeout`` seconds to live); its new
    value. On Redis one round trip (``INCR`` and ``EXPIRE`` pipelined: Django's ``add`` +
    ``incr`` take three); elsewhere the cache's own atomic ``incr``."""
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        full_key = backend.make_and_validate_key(key)
        client = backend._cache.get_client(full_key, write=True)
        pipe = client.pipeline(transaction=False)
        pipe.incr(full_key)
        pipe.expire(full_key, timeout)
        return int(pipe.execute()[0])
    backend.add(key, 0, timeout=timeout)
    try:
        return backend.incr(key)
    except ValueError:
        # The key expired between add and incr (only at the very end of its life).
        backend.add(key, 1, timeout=timeout)
        return 1


def check(scope: str, *, user: Any = None, address: str | None = None) -> Refusal | None:
    """Count one attempt at ``scope`` by ``user`` (a signed-in user, else ignored) from
    ``address``; ``None`` if it may go ahead, else the ``Refusal``."""
    if not enabled():
        return None
    user_id = getattr(user, "pk", None) if getattr(user, "is_authenticated", False) else None
    rates = rates_for(scope)
    now = time.time()
    for kind, ident in (("user", user_id), ("address", address)):
        rate = rates.get(kind)
        if rate is None or ident is None or ident == "":
            continue
        window = int(now // rate.seconds)
        key = f"limits:{scope}:{kind}:{ident}:{rate.seconds}:{window}"
        try:
            count = count_in_window(key, rate.seconds + 5)
        except Exception:
            log.exception("Rate limit %s could not be counted; letting the request through", scope)
            return None
        if count > rate.count:
            retry_after = max(1, math.ceil((window + 1) * rate.seconds - now))
            # Once per window and counter: a flood of refusals is not a flood of log lines.
            log.log(
                logging.WARNING if count == rate.count + 1 else logging.DEBUG,
                "Rate limit %s refused %s %s (%d in %d s)",
                scope,
                kind,
                ident,
                count,
                rate.seconds,
            )
            return Refusal(scope=scope, by=kind, retry_after=retry_after)
    return None


def validate(overrides: dict) -> None:
    """Parse every rate of a ``RATE_LIMITS`` value; settings call it, so that a typo stops
    the start-up with a ``ValueError`` that names it instead of failing requests later."""
    if not isinstance(overrides, dict):
        raise ValueError("RATE_LIMITS must be a JSON object: {scope: {user|address: rate}}")
    unknown = set(overrides) - set(DEFAULT_LIMITS)
    if unknown:
        raise ValueError(f"RATE_LIMITS names unknown scopes: {', '.join(sorted(unknown))}")
    for scope, rates in overrides.items():
        if not isinstance(rates, dict) or set(rates) - {"user", "address"}:
            raise ValueError(f"RATE_LIMITS[{scope!r}]: give {{'user': rate, 'address': rate}}")
        for text in rates.values():
            if text:
                Rate.parse(text)


def message_for(refusal: Refusal) -> str:
    """What the person reads: wait this long, then try again."""
    if refusal.retry_after < 90:
        seconds = refusal.retry_after
        return ngettext(
            "You have done this too often. Please wait %(n)d second and try again.",
            "You have done this too often. Please wait %(n)d seconds and try again.",
            seconds,
        ) % {"n": seconds}
    minutes = math.ceil(refusal.retry_after / 60)
    return ngettext(
        "You have done this too often. Please wait %(n)d minute and try again.",
        "You have done this too often. Please wait %(n)d minutes and try again.",
        minutes,
    ) % {"n": minutes}
