"""The API side: a DRF throttle over ``rates.check`` and the schema hook that declares its 429.

``ScopedLimit`` is the API's default throttle (``REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"]``):
every write (POST, PUT, PATCH, DELETE) counts against the view's ``limit_scope``, ``"write"``
unless the view names a narrower one; a view sets ``limit_scope = None`` to count nothing.
Reads are never limited here. The throttle runs after authentication and permissions, so an
anonymous or forbidden caller gets 401/403, not 429.
"""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions
from rest_framework.permissions import SAFE_METHODS
from rest_framework.throttling import BaseThrottle

from sanjeevani.audit.services import client_ip

from . import rates


class RateLimited(exceptions.Throttled):
    """429 with ``Retry-After`` (DRF sets the header from ``wait``) and a message that already
    says how long to wait; the API's error handler adds ``retry_after_seconds``."""

    default_code = "rate_limited"

    def __init__(self, refusal: rates.Refusal) -> None:
        super().__init__(wait=refusal.retry_after)
        self.detail = exceptions.ErrorDetail(rates.message_for(refusal), code="rate_limited")
        self.refusal = refusal


def scope_of(view: Any, method: str) -> str | None:
    """The scope a request with ``method`` counts against on ``view`` (a class or an
    instance), or None. ``limit_scopes`` ({"POST": ...}) wins over ``limit_scope``."""
    method = method.upper()
    if method in SAFE_METHODS:
        return None
    per_method = getattr(view, "limit_scopes", None) or {}
    if method in per_method:
        return per_method[method]
    return getattr(view, "limit_scope", "write")


class ScopedLimit(BaseThrottle):
    def allow_request(self, request: Any, view: Any) -> bool:
        scope = scope_of(view, request.method)
        if scope is None:
            return True
        refusal = rates.check(scope, user=request.user, address=client_ip(request))
        if refusal is not None:
            raise RateLimited(refusal)
        return True


_ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "retry_after_seconds": {"type": "integer"},
            },
            "required": ["code", "message"],
        }
    },
    "required": ["error"],
}


def _limited(view_class: Any) -> bool:
    return any(
        isinstance(t, type) and issubclass(t, ScopedLimit)
        for t in getattr(view_class, "throttle_classes", ())
    )


def add_429_to_limited_operations(
    result: dict, generator: Any, request: Any = None, public: bool = True
) -> dict:
    """drf-spectacular post-processing hook: every operation a ``ScopedLimit`` counts
    answers 429 with ``Retry-After``; say so in its responses."""
    schemas = result.setdefault("components", {}).get("schemas", {})
    body = {"$ref": "#/components/schemas/APIError"} if "APIError" in schemas else _ERROR_SCHEMA
    response = {
        "description": "Too many requests: wait `Retry-After` seconds, then try again.",
        "headers": {
            "Retry-After": {
                "description": "Seconds to wait before trying again.",
                "schema": {"type": "integer"},
            }
        },
        "content": {"application/json": {"schema": body}},
    }
    for path, _regex, method, callback in getattr(generator, "endpoints", None) or ():
        view_class = getattr(callback, "cls", None)
        if view_class is None or not _limited(view_class) or scope_of(view_class, method) is None:
            continue
        operation = result.get("paths", {}).get(path, {}).get(method.lower())
        if operation is not None:
            operation.setdefault("responses", {}).setdefault("429", response)
    return result
