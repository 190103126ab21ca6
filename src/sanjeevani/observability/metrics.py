"""The process's own Prometheus metrics: requests, claims, endings, tokens and sockets.

Bottom layer (the standard library, Django and prometheus_client only): the services call
the ``count_*`` functions, one line at the single place where each fact happens. Counts
that follow a database change are made with ``transaction.on_commit``, so a step that
rolls back is not counted.

With ``PROMETHEUS_MULTIPROC_DIR`` set in the environment before the process starts,
prometheus_client keeps these values in files there and ``/metrics`` sums every worker's
(``views.metrics``); without it they live in this process.
"""

from __future__ import annotations

from django.db import transaction
from prometheus_client import Counter, Gauge, Histogram

#: Methods named in labels; any other (a client may send anything) is "other".
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

REQUEST_SECONDS = Histogram(
    "sanjeevani_http_request_duration_seconds",
    "Time to answer an HTTP request, by method and route name.",
    ["method", "route"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
REQUESTS = Counter(
    "sanjeevani_http_requests",
    "HTTP requests answered, by method, route name and status class (2xx, 4xx...).",
    ["method", "route", "status"],
)
REQUEST_CPU_SECONDS = Counter(
    "sanjeevani_http_request_cpu_seconds",
    "CPU time of the thread that ran the middleware and the view, by method and route name"
    " (the event loop's share, reading the request and writing the answer, is not in it).",
    ["method", "route"],
)
REQUEST_QUERIES = Counter(
    "sanjeevani_http_request_queries",
    "Database statements the middleware and the view sent (every database alias), by method"
    " and route name.",
    ["method", "route"],
)
SERVER_ERRORS = Counter(
    "sanjeevani_http_server_errors",
    "HTTP requests answered with a 5xx status, by method and route name.",
    ["method", "route"],
)
CLAIMS = Counter(
    "sanjeevani_claims",
    "Tickets claimed by a doctor (committed), by service line (opd, hub).",
    ["line"],
)
CONSULTATIONS_ENDED = Counter(
    "sanjeevani_consultations_ended",
    "Consultations ended (committed), by service line, outcome and reason.",
    ["line", "outcome", "reason"],
)
TICKETS_PLACED = Counter(
    "sanjeevani_tickets_placed",
    "Tokens taken (Online OPD) and hub cases placed in a queue (committed), by line.",
    ["line"],
)
WEBSOCKETS = Gauge(
    "sanjeevani_websocket_connections",
    "WebSocket connections accepted and still open, by consumer.",
    ["consumer"],
    multiprocess_mode="livesum",
)


def _line(value: str) -> str:
    """The service line as labels name it: ``opd`` or ``hub``."""
    return "hub" if value in {"hub", "hub_spoke"} else "opd"


def method_label(method: str | None) -> str:
    method = (method or "").upper()
    return method if method in METHODS else "other"


def status_class(status: int) -> str:
    return f"{status // 100}xx" if 100 <= status < 600 else "other"


def observe_request(
    method: str,
    route: str,
    status: int,
    seconds: float,
    cpu_seconds: float = 0.0,
    queries: int = 0,
) -> None:
    """One answered HTTP request (``route`` is the URL pattern's name, never the path);
    ``cpu_seconds``: the serving thread's CPU, so a route's cost per request can be read
    under load (``bench/peak_day.py`` reports it per route); ``queries``: the statements it
    sent, a cost that, unlike CPU time, does not move with the machine's load."""
    method = method_label(method)
    REQUEST_SECONDS.labels(method, route).observe(seconds)
    REQUEST_CPU_SECONDS.labels(method, route).inc(cpu_seconds)
    REQUEST_QUERIES.labels(method, route).inc(queries)
    REQUESTS.labels(method, route, status_class(status)).inc()
    if status >= 500:
        SERVER_ERRORS.labels(method, route).inc()


def count_claim(line: str) -> None:
    """A doctor claimed a ticket of ``line`` (``opd``/``hub``); counted when it commits."""
    counter = CLAIMS.labels(_line(line))
    transaction.on_commit(counter.inc)


def count_consultation_ended(line: str, outcome: str, reason: str) -> None:
    """A consultation of ``line`` ended; counted when it commits."""
    counter = CONSULTATIONS_ENDED.labels(_line(line), outcome or "none", reason or "none")
    transaction.on_commit(counter.inc)


def count_ticket_placed(line: str) -> None:
    """A token was taken or a hub case placed in a queue; counted when it commits."""
    counter = TICKETS_PLACED.labels(_line(line))
    transaction.on_commit(counter.inc)


def socket_opened(consumer: str) -> None:
    WEBSOCKETS.labels(consumer).inc()


def socket_closed(consumer: str) -> None:
    WEBSOCKETS.labels(consumer).dec()
