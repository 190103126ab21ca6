"""The administrators' overview: figures of their scope (``registry.scoping``), read only."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from sanjeevani.consultations.models import Consultation
from sanjeevani.queueing.models import DoctorPresence
from sanjeevani.queueing.selectors import SERVING_STATUSES
from sanjeevani.registry import scoping
from sanjeevani.registry.models import State


@dataclass(frozen=True)
class Overview:
    """What an administrator sees first: the size of their network and today's work."""

    scope_name: str
    national: bool
    opds: int
    hubs: int
    spokes: int
    doctors: int
    doctors_online: int
    consultations_today: int
    consultations_to_date: int


def consultations_visible_to(user: Any):
    """Consultations of OPDs and hubs in the user's scope (a national OPD's belong to the
    national scope only)."""
    return scoping.restrict(
        Consultation.objects.all(),
        scoping.scope_of(user),
        ["opd__state", "hub__state"],
        ["hub", "spoke"],
    )


def overview_for(user: Any) -> Overview:
    """Counts of OPDs, hubs, spokes and doctors in scope, doctors serving now, and
    consultations started today (local day) and ever."""
    scope = scoping.scope_of(user)
    facilities = scoping.facilities_visible_to(user).filter(active=True)
    doctors = scoping.doctors_visible_to(user)
    consultations = consultations_visible_to(user)
    start_of_day = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    if scope.national:
        scope_name = ""
    else:
        scope_name = State.objects.filter(pk=scope.state_id).values_list("name", flat=True).first()
    return Overview(
        scope_name=scope_name or "",
        national=scope.national,
        opds=scoping.opds_visible_to(user).filter(active=True).count(),
        hubs=facilities.filter(is_hub=True).count(),
        spokes=facilities.filter(is_spoke=True).count(),
        doctors=doctors.count(),
        doctors_online=DoctorPresence.objects.filter(
            doctor__in=doctors.values("pk"), status__in=SERVING_STATUSES
        ).count(),
        consultations_today=consultations.filter(created_at__gte=start_of_day).count(),
        consultations_to_date=consultations.count(),
    )
