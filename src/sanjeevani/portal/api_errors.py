"""One JSON shape for every API error, with a message a person can act on.

{"error": {"code": "validation_error", "message": "...", "fields": {"mobile": ["..."]}}}
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from sanjeevani.queueing.errors import DomainError


class Refused(exceptions.APIException):
    """A service's refusal (``DomainError``) in the API's error shape: its status (409)
    and its code."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"

    def __init__(self, error: DomainError) -> None:
        super().__init__(detail=error.message, code=error.code)
        self.status_code = error.status


class AnswersRefusals:
    """Mixin for API views whose services refuse with a ``DomainError`` (the queue, the
    consultation): the refusal answers 409 with its code. The project schema
    (``config/api_schema.py``) declares 409 on the state-changing operations of every view
    that has this mixin, so the declaration and the behaviour are the same thing."""

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, DomainError):
            exc = Refused(exc)
        return super().handle_exception(exc)  # type: ignore[misc]


def _first_message(detail: Any) -> str:
    if isinstance(detail, dict):
        for value in detail.values():
            return _first_message(value)
    if isinstance(detail, list) and detail:
        return _first_message(detail[0])
    return str(detail)


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, ValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = exception_handler(exc, context)
    if response is None:
        return None
    body: dict[str, Any] = {"code": getattr(exc, "default_code", "error")}
    if isinstance(exc, exceptions.ValidationError):
        body["code"] = "validation_error"
        detail = exc.detail
        if isinstance(detail, dict):
            body["fields"] = {
                k: [str(m) for m in (v if isinstance(v, list) else [v])] for k, v in detail.items()
            }
        body["message"] = _first_message(detail)
    else:
        body["message"] = _first_message(getattr(exc, "detail", str(exc)))
        if isinstance(exc, exceptions.APIException):
            codes = exc.get_codes()
            if isinstance(codes, str):
                body["code"] = codes
    if isinstance(exc, exceptions.Throttled) and exc.wait:
        body["retry_after_seconds"] = int(exc.wait)
    response.data = {"error": body}
    return response
