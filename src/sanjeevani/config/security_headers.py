"""Security headers on every response: the Content-Security-Policy (django-csp, with two
per-request additions), the Permissions-Policy, and the endpoint browsers report
policy violations to.

The policy itself lives in ``settings.CONTENT_SECURITY_POLICY``; what varies per request is
declared here as data (which pages may use the camera, which path needs a looser policy) so
that a reviewer reads one table instead of decorators scattered over views.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from csp.constants import SELF, UNSAFE_INLINE
from csp.middleware import CSPMiddleware, PolicyParts
from django.core.cache import cache
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.urls import Resolver404, resolve
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from sanjeevani.audit.services import client_ip

log = logging.getLogger("sanjeevani.csp")

# --- Permissions-Policy ------------------------------------------------------------------

#: Powerful features no page of this site uses: denied to the page and to anything it embeds.
#: (Only names Chromium knows: an unknown one costs a console warning on every page.)
DENIED_FEATURES = (
    "accelerometer",
    "display-capture",
    "geolocation",
    "gyroscope",
    "hid",
    "magnetometer",
    "midi",
    "payment",
    "publickey-credentials-get",
    "serial",
    "usb",
    "xr-spatial-tracking",
)
#: Features only the video pages need, allowed there for this origin only (never a frame).
MEDIA_FEATURES = ("camera", "microphone")
#: The pages that open the camera and microphone: the room, the device check, and the pages
#: that embed them (the waiting room's device check, both sides of a consultation).
#: ``tests/portal/test_security_headers.py`` fails if a page loading the room or device-check
#: script is missing here.
MEDIA_ROUTES = frozenset(
    {
        "realtime:room",
        "realtime:device-check",
        "opd:waiting_room",
        "opd:consultation",
        "opd:doctor_consultation",
        "workspace:consultation",
        "hub-workspace:consultation",
    }
)


def permissions_policy(media: bool) -> str:
    """The header value: media features for ``self`` on video pages, ``()`` everywhere else."""
    allowed = "(self)" if media else "()"
    parts = [f"{feature}={allowed}" for feature in MEDIA_FEATURES]
    parts += [f"{feature}=()" for feature in DENIED_FEATURES]
    return ", ".join(parts)


def _route_name(request: HttpRequest) -> str:
    match = getattr(request, "resolver_match", None)
    if match is None:
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return ""
    return match.view_name or ""


class PermissionsPolicyMiddleware:
    """Adds ``Permissions-Policy`` to every response that has none yet."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.policies = {media: permissions_policy(media) for media in (False, True)}

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if "Permissions-Policy" not in response:
            media = _route_name(request) in MEDIA_ROUTES
            response["Permissions-Policy"] = self.policies[media]
        return response


# --- Content-Security-Policy --------------------------------------------------------------

#: Paths whose third-party page needs more than the strict policy, and what it needs.
#: Redoc (the API reference at /api/docs/) injects <style> elements at run time, builds its
#: search worker from a blob and always shows its maker's logo from their CDN (an image, no
#: script); nothing else on the site gets any of these.
PATH_POLICY_UPDATES: dict[str, dict[str, list[str]]] = {
    "/api/docs/": {
        "style-src": [UNSAFE_INLINE],
        "worker-src": [SELF, "blob:"],
        "img-src": ["https://cdn.redoc.ly"],
    },
}


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's middleware plus this request's own WebSocket origin in ``connect-src``.

    CSP Level 3 lets ``'self'`` match ``ws:``/``wss:`` on the same host, but older Safari and
    Chromium-based browsers on cheap phones do not; naming the exact origin (never the bare
    ``wss:`` scheme, which would allow any host) keeps the waiting room and video room working
    there too.
    """

    def get_policy_parts(
        self, request: HttpRequest, response: HttpResponseBase, report_only: bool = False
    ) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        update: dict[str, Any] = dict(parts.update or {})
        try:
            host = request.get_host()
        except DisallowedHost:
            host = ""
        if host:
            scheme = "wss" if request.is_secure() else "ws"
            update["connect-src"] = [*update.get("connect-src", []), f"{scheme}://{host}"]
        for prefix, extra in PATH_POLICY_UPDATES.items():
            if request.path_info.startswith(prefix):
                for directive, sources in extra.items():
                    update[directive] = [*update.get(directive, []), *sources]
        parts.update = update
        return parts


# --- violation reports -----------------------------------------------------------------------

#: Reports kept per client address and minute; the rest are answered 429 and not logged, so
#: a misbehaving page or a hostile client cannot flood the log.
REPORTS_PER_MINUTE = 60
#: A real report is well under 4 KB; anything bigger is not a report.
MAX_REPORT_BYTES = 16 * 1024
_LOGGED_FIELDS = (
    "document-uri",
    "violated-directive",
    "effective-directive",
    "blocked-uri",
    "source-file",
    "line-number",
)


def _allowed(address: str) -> bool:
    key = f"csp-report:{address}"
    if cache.add(key, 1, timeout=60):
        return True
    try:
        return cache.incr(key) <= REPORTS_PER_MINUTE
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=60)
        return True


def _summaries(body: bytes) -> list[dict[str, Any]]:
    """The fields worth logging, from either report format (``report-uri``'s
    ``{"csp-report": {...}}`` or the Reporting API's list of ``{"body": {...}}``)."""
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return []
    items = data if isinstance(data, list) else [data]
    found = []
    for item in items[:10]:
        if not isinstance(item, dict):
            continue
        report = item.get("csp-report") or item.get("body") or {}
        if not isinstance(report, dict):
            continue
        # The Reporting API spells the fields in camelCase.
        aliases = {
            "documentURL": "document-uri",
            "effectiveDirective": "effective-directive",
            "blockedURL": "blocked-uri",
            "sourceFile": "source-file",
            "lineNumber": "line-number",
        }
        normal = {aliases.get(k, k): v for k, v in report.items()}
        found.append({k: str(normal.get(k, ""))[:300] for k in _LOGGED_FIELDS if k in normal})
    return found


@csrf_exempt
@require_POST
def csp_report(request: HttpRequest) -> HttpResponse:
    """Log each policy violation a browser reports (rate-limited per address, never a 500).

    Browsers post here without cookies or a CSRF token, so the view trusts nothing in the
    body: it logs a few truncated fields and stores nothing.
    """
    address = client_ip(request) or "unknown"
    if not _allowed(address):
        response = HttpResponse(status=429)
        response["Retry-After"] = "60"
        return response
    length = request.META.get("CONTENT_LENGTH") or "0"
    if not length.isdigit() or int(length) > MAX_REPORT_BYTES:
        return HttpResponse(status=413)
    body = request.read(MAX_REPORT_BYTES + 1)
    if len(body) > MAX_REPORT_BYTES:
        return HttpResponse(status=413)
    for summary in _summaries(body):
        log.warning("Content-Security-Policy violation: %s", json.dumps(summary))
    return HttpResponse(status=204)
