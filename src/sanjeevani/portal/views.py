"""The front door, each role's landing page and the styled error pages."""

from __future__ import annotations

import sys

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from sanjeevani.accounts.models import Role
from sanjeevani.config.overload import database_unavailable, is_database_unavailable

from .access import NotYourPage, roles_required
from .selectors import overview_for

#: The 500 page when even the site's layout cannot render: no template, no database.
PLAIN_SERVER_ERROR = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8">'
    '<meta name="viewport" content="width=device-width, initial-scale=1">'
    "<title>Sanjeevani: something went wrong</title></head><body><main>"
    "<h1>Something went wrong on our side</h1><p>Nothing you entered has been lost. "
    "Please try again in a minute. / कृपया एक मिनट बाद फिर से कोशिश करें।</p>"
    '<p><a href="/">Home / मुखपृष्ठ</a></p></main></body></html>'
)


def home(request: HttpRequest) -> HttpResponse:
    """The front door: explains the service and sends each kind of user to their sign-in.
    A signed-in person is offered "continue to <their page>" first rather than redirected,
    so the brand link still shows what the service is (e.g. a CHO explaining it to a
    patient); every sign-in already lands them on their page directly."""
    return render(request, "portal/home.html")


@roles_required(Role.STATE_ADMIN, Role.NATIONAL_ADMIN)
def overview(request: HttpRequest) -> HttpResponse:
    """State and national administrators: their scope's network and today's work."""
    return render(request, "portal/overview.html", {"overview": overview_for(request.user)})


def _wants_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def _error_json(code: str, message: str, status: int) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message}}, status=status)


def forbidden(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """A page someone may not open: says whose page it is and links to their own. API
    clients keep the API's error shape."""
    if _wants_json(request):
        return _error_json("permission_denied", _("You do not have permission to do this."), 403)
    message = str(exception) if isinstance(exception, PermissionDenied) else ""
    # A CSRF failure (also a 403) comes here without PermissionDenied's message.
    return render(
        request,
        "403.html",
        {
            "message": message,
            "audience": getattr(exception, "audience", ""),
            "not_your_page": isinstance(exception, NotYourPage),
        },
        status=403,
    )


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """API clients get the API's error shape even for a path no route matches."""
    if _wants_json(request):
        return _error_json("not_found", _("There is nothing at this address."), 404)
    return render(request, "404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    """Our failure: the site's layout when it renders, the plain static page if even that
    fails (the database or a template may be what broke). A database that is down or
    restarting is not our bug but a wait: 503 with ``Retry-After``."""
    if is_database_unavailable(sys.exc_info()[1]):
        return database_unavailable(request)
    if _wants_json(request):
        return _error_json(
            "server_error", _("Something went wrong on our side. Please try again shortly."), 500
        )
    try:
        return render(request, "500.html", status=500)
    except Exception:  # noqa: BLE001 - the last resort must answer whatever broke
        return HttpResponse(PLAIN_SERVER_ERROR, status=500)
