"""``/healthz``, ``/readyz`` and ``/metrics`` answered before the host check and the HTTPS
redirect.

A load balancer's probe and Prometheus talk to one app node by its private address over
plain HTTP (``http://10.0.0.5:8000/readyz``): through the rest of the middleware, the
``Host`` not in ``ALLOWED_HOSTS`` would be a 400 and production's ``SECURE_SSL_REDIRECT`` a
301. These three routes (declared in ``config/urls.py``, resolved from there) set no cookie,
show no page and answer no user content, so they skip the session, CSRF, locale and
security-header middleware; ``/metrics`` keeps its own access rule (``views.may_scrape``).
Placed right after ``RequestObservation``, so they still have a request id and metrics.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.urls import resolve

#: The paths answered here (``config/urls.py`` names them ``healthz``, ``readyz``,
#: ``metrics``).
PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


class ProbeRoutes:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info not in PATHS:
            return self.get_response(request)
        match = resolve(request.path_info)
        request.resolver_match = match
        return match.func(request, *match.args, **match.kwargs)
