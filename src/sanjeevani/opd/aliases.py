"""The doctor's pages and API under their old OPD paths, kept for one release.

Each alias runs the workspace's own view and says where it moved: ``Deprecation``
(RFC 9745, the date the alias was deprecated) and ``Link: <new path>; rel="successor-version"``.
docs/guides/api.md lists them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import reverse

#: When the OPD paths of the workspace were deprecated (they go in the release after).
DEPRECATED_ON = dt.datetime(2026, 12, 2, tzinfo=dt.UTC)


def deprecation_headers(successor_url: str) -> dict[str, str]:
    return {
        "Deprecation": f"@{int(DEPRECATED_ON.timestamp())}",
        "Link": f'<{successor_url}>; rel="successor-version"',
    }


def alias(view: Callable[..., HttpResponse], successor: str) -> Callable[..., HttpResponse]:
    """``view`` answering at an old path, pointing at the route named ``successor``."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        path_kwargs = {k: v for k, v in kwargs.items() if k != "mount"}
        for header, value in deprecation_headers(reverse(successor, kwargs=path_kwargs)).items():
            response[header] = value
        return response

    return wrapped
