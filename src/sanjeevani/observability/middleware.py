"""The first middleware: one request id per request, and the request's metrics.

Bottom half of the app: imports only ``context`` and ``metrics``.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import Any

from django.db import connections
from django.http import HttpRequest, HttpResponse

from .context import bound_request_id
from .metrics import observe_request

HEADER = "X-Request-ID"
#: The route label of a request no URL pattern matched (a 404 from the resolver).
UNMATCHED = "unmatched"


def route_label(request: HttpRequest) -> str:
    """The matched URL pattern's name (``namespace:name``; an unnamed pattern's view path),
    never the path itself: no patient or ticket id becomes a label."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return UNMATCHED
    return match.view_name or UNMATCHED


class StatementCount:
    """Counts the statements sent on every database alias while it is entered (Django's
    ``execute_wrapper``, on this thread's connections)."""

    def __init__(self) -> None:
        self.count = 0
        self._stack = contextlib.ExitStack()

    def __call__(self, execute: Callable, sql: str, params: Any, many: bool, context: Any) -> Any:
        self.count += 1
        return execute(sql, params, many, context)

    def __enter__(self) -> StatementCount:
        for alias in connections:
            self._stack.enter_context(connections[alias].execute_wrapper(self))
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stack.close()


class RequestObservation:
    """Takes a valid incoming ``X-Request-ID`` (the proxy's, e.g. nginx ``$request_id``)
    or makes a UUID, serves the request under it (log lines, audit rows, live events read
    it from ``context``), answers it in the same header, and records the request's
    latency, CPU, database statements, status class and 5xx by route name."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started, cpu_started = time.perf_counter(), time.thread_time()
        with bound_request_id(request.headers.get(HEADER)) as request_id:
            request.request_id = request_id
            with StatementCount() as statements:
                response = self.get_response(request)
            response[HEADER] = request_id
            observe_request(
                request.method or "",
                route_label(request),
                response.status_code,
                time.perf_counter() - started,
                time.thread_time() - cpu_started,
                statements.count,
            )
        return response
