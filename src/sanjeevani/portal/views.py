from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _


def home(request: HttpRequest) -> HttpResponse:
    """The front door: explains the service and sends each kind of user to their sign-in."""
    return render(request, "portal/home.html")


def _wants_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """API clients get the API's error shape even for a path no route matches."""
    if _wants_json(request):
        return JsonResponse(
            {"error": {"code": "not_found", "message": _("There is nothing at this address.")}},
            status=404,
        )
    return render(request, "404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse(
            {
                "error": {
                    "code": "server_error",
                    "message": _("Something went wrong on our side. Please try again shortly."),
                }
            },
            status=500,
        )
    return render(request, "500.html", status=500)
