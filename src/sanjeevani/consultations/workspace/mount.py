"""What a service line hands the workspace when it mounts it: its line, its queues, and the
steps it does its own way.

The workspace sits below the service lines, so it never imports them: a line that routes,
calls or shows its cases differently (hub and spoke) passes callables here, and the
workspace calls them where the Online OPD's own steps would run. Left at ``None`` a step
is the Online OPD's (``consultations.start_serving``, ``call_next_patient``, the OPD's queue).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest

from sanjeevani.registry.models import DoctorProfile

#: ``go_online(user, doctor, data, auto_assign)`` → the message to show; ``data`` is the
#: posted form or JSON body (the line reads its own fields from it).
GoOnline = Callable[[Any, DoctorProfile, Mapping[str, Any], bool], str]
#: ``panels(request, consultation)`` → extra context for the consultation page; its
#: ``line_panels`` (template names) are included in the patient column.
Panels = Callable[[HttpRequest, Any], dict[str, Any]]


@dataclass(frozen=True)
class Mount:
    """One service line's view of the workspace.

    ``service_line`` scopes every consultation lookup (another line's consultation is 404);
    ``queues`` are the line's queues a doctor may name; ``queues_of`` those a doctor is
    rostered on (the console's choice when going online). The optional steps replace the
    Online OPD's: ``go_online``, ``call_next(user)`` (a ticket or None), ``queue_view(doctor)``
    (the console's live queue as JSON-ready data, None when offline), ``console_context``
    (extra context for ``console_template``) and ``panels``. ``api_namespace`` is the
    instance namespace of the line's workspace API (the page's script asks it).
    """

    service_line: str
    queues: Callable[[], QuerySet[Any]]
    queues_of: Callable[[DoctorProfile], QuerySet[Any]]
    go_online: GoOnline | None = None
    call_next: Callable[[Any], Any] | None = None
    queue_view: Callable[[DoctorProfile], dict[str, Any] | None] | None = None
    console_template: str = "consultations/workspace/console.html"
    console_context: Callable[[DoctorProfile], dict[str, Any]] | None = None
    panels: Panels | None = None
    api_namespace: str = "workspace-api"
    #: The API's go-online body when the line has its own ``go_online`` (a DRF serializer
    #: class; the schema documents it for the line's mount).
    online_request: type | None = None
    #: The API's queue answer when the line has its own ``queue_view`` (a serializer class).
    queue_response: type | None = None
