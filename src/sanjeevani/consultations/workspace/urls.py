"""Page routes of the workspace. A service line mounts them with its ``Mount``::

    path("consultations/", include((page_routes(OPD_WORKSPACE), "workspace")))

Every view receives the mount as the ``mount`` keyword.
"""

from __future__ import annotations

from django.urls import URLPattern, path

from . import views
from .mount import Mount

app_name = "workspace"

#: (route, view, name) below the mount point.
PAGES = [
    ("", views.console, "console"),
    ("queue.json", views.queue_json, "queue"),
    ("presence", views.presence, "presence"),
    ("call-next", views.call_next, "call_next"),
    ("icd10/", views.icd10, "icd10"),
    ("<uuid:consultation_id>/", views.consultation, "consultation"),
    ("<uuid:consultation_id>/identity", views.confirm_identity, "confirm_identity"),
    ("<uuid:consultation_id>/record", views.save_record, "save_record"),
    ("<uuid:consultation_id>/prescription", views.prescribe, "prescribe"),
    ("<uuid:consultation_id>/end", views.end, "end"),
    ("<uuid:consultation_id>/dropped", views.dropped, "dropped"),
    ("<uuid:consultation_id>/hold", views.hold, "hold"),
]


def page_routes(mount: Mount) -> list[URLPattern]:
    """The workspace pages for one service line."""
    return [path(route, view, {"mount": mount}, name=name) for route, view, name in PAGES]
