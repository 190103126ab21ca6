"""The steps a mount may do its own way (``Mount``), with the Online OPD's as the default:
the views and the API call these, never a service line directly."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _

from sanjeevani.consultations import services as consultations
from sanjeevani.consultations.models import Consultation
from sanjeevani.registry.models import DoctorProfile

from . import selectors
from .mount import Mount


def queue_view(mount: Mount, doctor: DoctorProfile) -> dict[str, Any] | None:
    """The doctor's live queue as the console shows it; None when not online."""
    return (mount.queue_view or selectors.doctor_queue_view)(doctor)


def call_next(mount: Mount, user: Any) -> Any:
    """Call the next patient or case of the line: a ticket (with its consultation) or None."""
    return (mount.call_next or consultations.call_next_patient)(user)


def go_online(
    mount: Mount, user: Any, doctor: DoctorProfile, data: Mapping[str, Any], auto_assign: bool
) -> str:
    """Go online for what the doctor chose; returns the message to show. The OPD's way:
    ``data["opd"]`` names one of ``mount.queues_of(doctor)``."""
    if mount.go_online is not None:
        return mount.go_online(user, doctor, data, auto_assign)
    chosen = data.get("opd")
    if not chosen:
        raise Http404
    served = get_object_or_404(mount.queues_of(doctor), pk=chosen)
    consultations.start_serving(user, served, auto_assign=auto_assign)
    return _("You are online for %(opd)s.") % {"opd": served.name}


def console_context(mount: Mount, doctor: DoctorProfile) -> dict[str, Any]:
    return mount.console_context(doctor) if mount.console_context is not None else {}


def consultation_context(
    mount: Mount, request: HttpRequest, consultation: Consultation
) -> dict[str, Any]:
    """What the consultation page adds for the line: its API's addresses and its panels."""
    api = mount.api_namespace
    context = {
        "state_url": reverse(f"{api}:consultation-detail", args=[consultation.pk]),
        "mode_url": reverse(f"{api}:consultation-mode", args=[consultation.pk]),
        "line_panels": [],
        "show_room": True,
    }
    if mount.panels is not None:
        context.update(mount.panels(request, consultation))
    return context
