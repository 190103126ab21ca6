"""What the query string may carry into the application.

PostgreSQL text cannot hold the NUL character (0x00), and no field of ours means one: a query
parameter carrying it (``?state=%00``, ``?q=para%00``) would reach a database filter and fail
there as a server error, where SQLite quietly accepts it. Nobody types a NUL: it comes from a
broken client or a probe. Forms and API serializers already refuse it in bodies, with a
message (Django's and DRF's ``ProhibitNullCharactersValidator``); in the query string, which
views read directly, it is dropped before any view sees it, so the search or filter runs on
what remains.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

_NUL = re.compile(r"%00|\x00", re.IGNORECASE)


class DropNullCharacters:
    """Removes NUL (raw or ``%00``) from the query string before ``request.GET`` is read."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        query = request.META.get("QUERY_STRING", "")
        if query and _NUL.search(query):
            request.META["QUERY_STRING"] = _NUL.sub("", query)
            request.__dict__.pop("GET", None)  # built lazily from QUERY_STRING
        return self.get_response(request)
