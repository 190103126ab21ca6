"""Graceful under overload: a node answers "busy, retry" instead of collapsing.

- ``RequestLimit`` (ASGI, around Django): at most ``MAX_CONCURRENT_REQUESTS`` HTTP requests
  in progress in this worker process. Past it, the request is answered at once with 503 and
  ``Retry-After``, before Django, a thread or a database connection is spent on it, so the
  requests already admitted finish at full speed (the completed-consultation rate holds)
  and clients back off. Health checks and static files are never turned away.
- ``database_unavailable`` (from the 500 handler, ``portal.views.server_error``): a
  database that is restarting, unreachable or out of pooled connections fails the request
  with the same 503 and ``Retry-After`` and a message a person can act on, never a 500.
  The request's transaction was rolled back, so nothing is half-written.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation.trans_real import parse_accept_lang_header

from .api_errors import is_api_request

#: Paths never turned away: liveness and readiness probes, metrics, static files.
ALWAYS_ADMITTED = ("/healthz", "/readyz", "/metrics", "/static/")

#: The page when even the site's layout cannot render (it reads the signed-in user).
PLAIN_UNAVAILABLE = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8">'
    '<meta name="viewport" content="width=device-width, initial-scale=1">'
    "<title>Sanjeevani: please try again</title></head><body><main>"
    "<h1>Please try again in a few seconds</h1><p>The service is restarting or briefly "
    "unavailable. Nothing you entered has been lost. / सेवा कुछ क्षण के लिए उपलब्ध नहीं है। "
    "कृपया कुछ सेकंड बाद फिर से कोशिश करें।</p>"
    '<p><a href="/">Home / मुखपृष्ठ</a></p></main></body></html>'
)

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict]]
Send = Callable[[dict], Awaitable[None]]


def busy_message() -> str:
    return _("The service is very busy right now. Please try again in a few seconds.")


def unavailable_message() -> str:
    return _("The service is restarting or briefly unavailable. Please try again in a few seconds.")


def _language(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"accept-language":
            for code, _quality in parse_accept_lang_header(value.decode("latin-1")):
                try:
                    return translation.get_supported_language_variant(code)
                except LookupError:
                    continue
    return settings.LANGUAGE_CODE


class RequestLimit:
    """ASGI middleware: a bound on the HTTP requests one worker serves at once (see the
    module). One event loop per worker, so a plain counter is exact."""

    def __init__(self, app: Callable, limit: int, retry_after: int = 5) -> None:
        self.app = app
        self.limit = limit
        self.retry_after = retry_after
        self.in_progress = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or self.limit <= 0
            or scope.get("path", "").startswith(ALWAYS_ADMITTED)
        ):
            await self.app(scope, receive, send)
            return
        if self.in_progress >= self.limit:
            await self._answer_busy(scope, send)
            return
        self.in_progress += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_progress -= 1

    async def _answer_busy(self, scope: Scope, send: Send) -> None:
        with translation.override(_language(scope)):
            message = busy_message()
        if scope.get("path", "").startswith("/api/"):
            body = json.dumps({"error": {"code": "busy", "message": message}}).encode()
            content_type = b"application/json"
        else:
            body = message.encode()
            content_type = b"text/plain; charset=utf-8"
        await send(
            {
                "type": "http.response.start",
                "status": 503,
                "headers": [
                    (b"content-type", content_type),
                    (b"content-length", str(len(body)).encode()),
                    (b"retry-after", str(self.retry_after).encode()),
                    (b"cache-control", b"no-store"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def with_request_limit(app: Callable) -> Callable:
    """``app`` behind ``RequestLimit`` when ``MAX_CONCURRENT_REQUESTS`` is set (> 0)."""
    limit = getattr(settings, "MAX_CONCURRENT_REQUESTS", 0)
    if limit <= 0:
        return app
    return RequestLimit(app, limit, getattr(settings, "OVERLOAD_RETRY_AFTER", 5))


def is_database_unavailable(exception: BaseException | None) -> bool:
    """The database's state, not the request's: connection refused or lost, restarting,
    no pooled connection free in time."""
    return isinstance(exception, OperationalError | InterfaceError)


def database_unavailable(request: HttpRequest) -> HttpResponse:
    """The 503 the 500 handler answers instead when the database is what failed (a view,
    a middleware or the session alike): JSON under /api/, the styled page elsewhere, the
    plain page when even the layout needs the database."""
    if is_api_request(request):
        response: HttpResponse = JsonResponse(
            {"error": {"code": "unavailable", "message": unavailable_message()}}, status=503
        )
    else:
        try:
            response = render(request, "503.html", {"message": unavailable_message()}, status=503)
        except Exception:  # noqa: BLE001 - the layout may need the database that is down
            response = HttpResponse(PLAIN_UNAVAILABLE, status=503)
    response["Retry-After"] = str(getattr(settings, "OVERLOAD_RETRY_AFTER", 5))
    response["Cache-Control"] = "no-store"
    return response
