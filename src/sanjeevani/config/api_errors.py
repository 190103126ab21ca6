"""JSON for every error under /api/, whatever answered it.

DRF's views answer their errors in the API's shape through the exception handler
(``sanjeevani.portal.api_errors``). Other answers under /api/ do not, or not as JSON: the
URL resolver (a path no route matches, a malformed id that a ``<uuid:...>`` converter
refuses), Django's 400/403/500 handlers, ``DEBUG``'s technical pages (the embedded run has
``DEBUG`` on by default), the CSRF failure view, a plain Django view, and DRF's browsable
renderer, which answers a browser's ``Accept: text/html`` with an HTML page (its error keeps
DRF's message here). This middleware is the one place that turns any of those into the
same shape, so an API client never has to read HTML:

    {"error": {"code": "not_found", "message": "There is nothing at this address."}}

A 500 carries no details (the traceback goes to the log, as always). The original answer's
headers are kept (``Allow``, ``Retry-After``, ``WWW-Authenticate``, the security headers),
except those that described its body.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _

API_PREFIX = "/api/"

#: Headers that described the original body; the JSON body brings its own.
BODY_HEADERS = frozenset({"content-type", "content-length", "content-disposition", "etag"})


def _messages() -> dict[int, tuple[str, str]]:
    return {
        400: ("bad_request", _("The request could not be read. Check its address and body.")),
        401: ("not_authenticated", _("Sign in first.")),
        403: ("permission_denied", _("You may not do this.")),
        404: ("not_found", _("There is nothing at this address.")),
        405: ("method_not_allowed", _("This address does not accept this method.")),
        406: ("not_acceptable", _("This address cannot answer in the format asked for.")),
        413: ("too_large", _("The request is too large.")),
        415: ("unsupported_media_type", _("This content type is not accepted here.")),
        429: ("throttled", _("Too many requests. Wait a little, then try again.")),
        500: (
            "server_error",
            _("Something went wrong on our side. Please try again shortly."),
        ),
    }


def api_error_response(status: int) -> JsonResponse:
    """The API's error body for ``status``, with a generic message a person can act on."""
    code, message = _messages().get(
        status, ("error", _("The request failed (HTTP %(status)s).") % {"status": status})
    )
    return JsonResponse({"error": {"code": code, "message": message}}, status=status)


def is_api_request(request: HttpRequest) -> bool:
    return request.path_info.startswith(API_PREFIX)


def _is_json(response: HttpResponse) -> bool:
    content_type = response.get("Content-Type", "").split(";")[0].strip().lower()
    return content_type == "application/json" or content_type.endswith("+json")


class JsonErrorsUnderApi:
    """Replace a non-JSON error answer to an /api/ request with the API's error shape.

    First in ``MIDDLEWARE``, so it sees what every other layer answered, including the
    handlers Django calls for exceptions raised inside them."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            response.status_code < 400
            or not is_api_request(request)
            or _is_json(response)
            or getattr(response, "streaming", False)
        ):
            return response
        data = getattr(response, "data", None)  # DRF's, rendered as HTML for a browser
        if isinstance(data, dict) and isinstance(data.get("error"), dict):
            replacement = JsonResponse(data, status=response.status_code)
        else:
            replacement = api_error_response(response.status_code)
        for header, value in response.items():
            if header.lower() not in BODY_HEADERS:
                replacement[header] = value
        for name, value in getattr(response, "cookies", {}).items():
            replacement.cookies[name] = value
        return replacement
