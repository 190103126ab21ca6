"""Who may open a role's own page: signed-out people sign in first, other roles are told
whose page it is (a styled 403 with a link to their own), never a bare 404."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from .landing import LANDINGS


class NotYourPage(PermissionDenied):
    """A signed-in person opened a page meant for another role. Carries whose page it is,
    so the 403 page can say so."""

    def __init__(self, audience: str, message: str = "") -> None:
        self.audience = audience
        super().__init__(message or _("This page is for %(audience)s.") % {"audience": audience})


def roles_required(
    *roles: str,
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """A page for the given roles: staff sign-in for the signed-out, 403 for other roles."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if request.user.role not in roles:
                raise NotYourPage(str(LANDINGS[roles[0]].audience))
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
