"""Forwarded headers count only when a trusted proxy sent them (``TRUSTED_PROXIES``).

Django reads ``X-Forwarded-Proto`` through ``SECURE_PROXY_SSL_HEADER`` from whoever sent it;
this wrapper removes the forwarded headers from every connection whose peer is not a listed
proxy, before Django or Channels sees the request, so nobody reaching an app port directly
can pass for HTTPS. The client's address follows the same rule in
``sanjeevani.audit.addresses``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sanjeevani.audit.addresses import is_trusted_proxy

#: Headers only a trusted proxy may set.
FORWARDED_HEADERS = frozenset({b"x-forwarded-proto", b"x-forwarded-for"})

ASGIApp = Callable[[dict, Callable[[], Awaitable[dict]], Callable[[dict], Awaitable[None]]], Any]


class ForwardedHeadersFromTrustedProxies:
    """ASGI middleware around the whole application (HTTP and WebSocket)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] in {"http", "websocket"}:
            headers = scope.get("headers") or []
            if any(name.lower() in FORWARDED_HEADERS for name, _value in headers):
                peer = (scope.get("client") or (None, None))[0]
                if not is_trusted_proxy(peer):
                    scope = {
                        **scope,
                        "headers": [
                            (name, value)
                            for name, value in headers
                            if name.lower() not in FORWARDED_HEADERS
                        ],
                    }
        await self.app(scope, receive, send)
