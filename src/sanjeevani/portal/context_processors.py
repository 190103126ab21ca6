"""What every page's header needs to show the signed-in person's own page."""

from __future__ import annotations

from django.http import HttpRequest

from .landing import Landing, landing_for


def landing(request: HttpRequest) -> dict[str, Landing | None]:
    """``landing``: the person's own page (``url``, ``label``), or ``None`` when signed out."""
    return {"landing": landing_for(getattr(request, "user", None))}
