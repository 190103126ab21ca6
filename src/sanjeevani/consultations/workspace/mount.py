"""What a service line hands the workspace when it mounts it: its line and its queues."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from sanjeevani.registry.models import DoctorProfile


@dataclass(frozen=True)
class Mount:
    """One service line's view of the workspace.

    ``service_line`` scopes every consultation lookup (another line's consultation is 404);
    ``queues`` are the line's queues a doctor may name; ``queues_of`` those a doctor is
    rostered on (the console's choice when going online).
    """

    service_line: str
    queues: Callable[[], QuerySet[Any]]
    queues_of: Callable[[DoctorProfile], QuerySet[Any]]
