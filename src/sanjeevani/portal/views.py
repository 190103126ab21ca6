from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def home(request: HttpRequest) -> HttpResponse:
    """The front door: explains the service and sends each kind of user to their sign-in."""
    return render(request, "portal/home.html")
