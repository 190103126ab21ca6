"""What every page of a care workflow needs: who may open it, and a refusal as plain text.

The OPD's patient pages use these too (they sit above this layer).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

from sanjeevani.accounts.models import Role
from sanjeevani.portal.access import NotYourPage
from sanjeevani.portal.landing import LANDINGS
from sanjeevani.queueing.errors import DomainError

from . import selectors

#: What a service may refuse with; pages show its message and go back.
SERVICE_ERRORS = (DomainError, ValidationError, PermissionDenied)


def sign_in_url(name: str, next_url: str) -> str:
    """The sign-in page ``name`` that comes back to ``next_url`` afterwards."""
    return f"{reverse(name)}?{urlencode({'next': next_url})}"


def error_text(exc: Exception) -> str:
    """The message a refused step shows the person."""
    if isinstance(exc, DomainError):
        return exc.message
    if isinstance(exc, ValidationError):
        return " ".join(str(m) for m in exc.messages)
    text = str(exc)
    return text or _("That could not be done. Reload the page and try again.")


def doctor_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Doctors' pages: anonymous people go to the staff sign-in; other roles get the styled
    403 that says whose page it is (``portal.access.NotYourPage``), never a debug 404."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect(sign_in_url("accounts:staff_login", request.get_full_path()))
        doctor = selectors.doctor_profile_of(request.user)
        if doctor is None:
            raise NotYourPage(str(LANDINGS[Role.DOCTOR].audience))
        request.doctor = doctor
        return view(request, *args, **kwargs)

    return wrapped
