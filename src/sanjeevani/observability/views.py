"""``/metrics``: the Prometheus exposition, for the monitoring server only.

Allowed with ``Authorization: Bearer <METRICS_TOKEN>``; without a token configured, only
to a connection from this machine's loopback that no proxy forwarded. Anyone else gets an
empty 404, so the address reveals nothing.
"""

from __future__ import annotations

import hmac
import ipaddress
import os

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_safe
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    generate_latest,
    multiprocess,
)

from .collector import QueueCollector

#: Headers a proxy adds: a request carrying one did not come from this machine's own user.
FORWARDING_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_REAL_IP")


def _from_loopback(request: HttpRequest) -> bool:
    if any(request.META.get(header) for header in FORWARDING_HEADERS):
        return False
    try:
        return ipaddress.ip_address(request.META.get("REMOTE_ADDR") or "").is_loopback
    except ValueError:
        return False


def may_scrape(request: HttpRequest) -> bool:
    """The bearer token when one is configured, else a loopback connection."""
    token = settings.METRICS_TOKEN
    if not token:
        return _from_loopback(request)
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode(), token.encode()
    )


def exposition() -> bytes:
    """Every worker's metrics (multiprocess mode, ``PROMETHEUS_MULTIPROC_DIR``) or this
    process's, then the queue figures read now."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        workers = CollectorRegistry()
        multiprocess.MultiProcessCollector(workers)
        text = generate_latest(workers)
    else:
        text = generate_latest(REGISTRY)
    queues = CollectorRegistry()
    queues.register(QueueCollector())
    return text + generate_latest(queues)


@require_safe
def metrics(request: HttpRequest) -> HttpResponse:
    if not may_scrape(request):
        response = HttpResponse(status=404)
    else:
        response = HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)
    response["Cache-Control"] = "no-store"
    return response
