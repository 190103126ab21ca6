"""The pages' side: a view decorator over ``rates.check``, sharing the API's counters.

A refused form post gets a short 429 page that says how long to wait and links back to
where the person came from; a page script's ``fetch`` (asking for JSON, or htmx) gets
``{"error", "code", "retry_after_seconds"}`` with the same status. Both carry
``Retry-After``. Reads (GET, HEAD) are never counted.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme

from sanjeevani.audit.services import client_ip

from . import rates

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def wants_json(request: HttpRequest) -> bool:
    accept = request.headers.get("Accept", "")
    return (
        "application/json" in accept
        or request.headers.get("HX-Request") == "true"
        or request.content_type == "application/json"
    )


def refused_response(request: HttpRequest, refusal: rates.Refusal) -> HttpResponse:
    message = rates.message_for(refusal)
    if wants_json(request):
        response: HttpResponse = JsonResponse(
            {
                "error": message,
                "code": "rate_limited",
                "retry_after_seconds": refusal.retry_after,
            },
            status=429,
        )
    else:
        back = request.headers.get("Referer", "")
        if not url_has_allowed_host_and_scheme(
            back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            back = "/"
        response = render(
            request,
            "limits/too_many_requests.html",
            {"message": message, "back": back, "retry_after": refusal.retry_after},
            status=429,
        )
    response["Retry-After"] = str(refusal.retry_after)
    return response


def rate_limited(
    scope: str,
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Count every write to the decorated view against ``scope`` (per user and per client
    address). Put it under the sign-in decorator, so that only signed-in people are
    counted per user and anonymous visitors are sent to sign in first."""
    rates.rates_for(scope)  # an unknown scope fails at import, not at the first request

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method not in SAFE_METHODS:
                refusal = rates.check(scope, user=request.user, address=client_ip(request))
                if refusal is not None:
                    return refused_response(request, refusal)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
