"""Liveness and readiness probes for a load balancer or an orchestrator.

``/healthz`` answers from the process alone (no database, no Redis): a failing liveness
probe means "restart me". ``/readyz`` asks what a request needs (the database; Redis,
which carries the cache, rate limits and the channel layer, when ``REDIS_URL`` is set): a
failing readiness probe means "send me no traffic for now". Both are cheap, unauthenticated,
never cached, not audited and not rate-limited; the answer names what is down, never why
(the reason goes to the log).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_safe

log = logging.getLogger(__name__)

#: Seconds a readiness check waits for Redis.
REDIS_TIMEOUT_SECONDS = 2.0


def _no_store(response: JsonResponse) -> JsonResponse:
    response["Cache-Control"] = "no-store"
    return response


def check_database() -> None:
    """Raises when the database does not answer ``SELECT 1``."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def check_redis() -> None:
    """Raises when Redis (cache, rate limits, channel layer) does not answer a PING."""
    import redis

    client = redis.Redis.from_url(
        settings.REDIS_URL,
        socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        socket_timeout=REDIS_TIMEOUT_SECONDS,
    )
    try:
        client.ping()
    finally:
        client.close()


def readiness_checks() -> dict[str, Callable[[], None]]:
    """What this deployment needs to serve a request; looked up at each probe."""
    checks: dict[str, Callable[[], None]] = {"database": check_database}
    if getattr(settings, "REDIS_URL", ""):
        checks["redis"] = check_redis
    return checks


@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers."""
    return _no_store(JsonResponse({"status": "ok"}))


@require_safe
def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness: 200 when every check passes, else 503 naming the ones that failed."""
    results: dict[str, str] = {}
    for name, check in readiness_checks().items():
        try:
            check()
        except Exception:
            log.exception("Readiness check %s failed", name)
            results[name] = "down"
        else:
            results[name] = "ok"
    down = sorted(name for name, result in results.items() if result != "ok")
    if down:
        body = {"status": "unavailable", "down": down, "checks": results}
        return _no_store(JsonResponse(body, status=503))
    return _no_store(JsonResponse({"status": "ok", "checks": results}))
