"""The hub-and-spoke line's mount of the clinician's workspace: the same console and
consultation page as the Online OPD, with the hub's way of going online (a hub and a
specialty), of calling (``services.call_next_case``: a live case rings the centre, a
store-and-forward case opens at once), its mixed queue, and the case panel (what the
centre sent, forwarding, referral, follow-up). Mounted at /hub/consultations/ and
/api/v1/hub/consultations/ (``config/urls.py``)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _

from sanjeevani.audit.services import record_event
from sanjeevani.consultations.models import Consultation
from sanjeevani.consultations.workspace.mount import Mount
from sanjeevani.queueing.models import Queue
from sanjeevani.registry.models import DoctorProfile

from . import hub_selectors as selectors
from . import services as hwc
from .hub_serializers import GoOnlineAtHubSerializer, HubQueueSerializer
from .models import Case, Referral

#: Instance namespaces of the hub's mount (``config/urls.py``).
PAGES_NAMESPACE = "hub-workspace"
API_NAMESPACE = "hub-workspace-api"


def hub_queues() -> QuerySet[Queue]:
    return Queue.objects.filter(kind=Queue.Kind.HUB_SPECIALTY)


def hub_queues_of(doctor: DoctorProfile) -> QuerySet[Queue]:
    """The hub queues the doctor could serve (their hubs × their specialties) that exist."""
    return hub_queues().filter(
        hub__in=selectors.hubs_of(doctor), specialty__in=doctor.specialties.all()
    )


def go_online(user: Any, doctor: DoctorProfile, data: Mapping[str, Any], auto_assign: bool) -> str:
    """Online for one of the doctor's hubs and one of their specialties: a choice left out
    is refused with a message, a hub or specialty not theirs is 404."""
    missing = {
        field: [message]
        for field, message in (
            ("hub", _("Choose the hub to go online for.")),
            ("specialty", _("Choose the specialty to go online for.")),
        )
        if not data.get(field)
    }
    if missing:
        raise ValidationError(missing)
    hub = selectors.hubs_of(doctor).filter(pk=_uuid(data.get("hub"))).first()
    specialty = selectors.specialties_of(doctor).filter(code=str(data.get("specialty"))).first()
    if hub is None or specialty is None:
        raise Http404(_("Choose one of your hubs and one of your specialties."))
    hwc.go_online_at_hub(user, hub, specialty)
    return _("You are online for %(hub)s: %(specialty)s.") % {
        "hub": hub.name,
        "specialty": specialty.name,
    }


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def console_context(doctor: DoctorProfile) -> dict[str, Any]:
    presence = selectors.hub_presence(doctor)
    return {
        "hubs": selectors.hubs_of(doctor),
        "specialties": selectors.specialties_of(doctor),
        "hub_presence": presence,
    }


def case_panels(request: HttpRequest, consultation: Consultation) -> dict[str, Any]:
    """The case panel: what the centre sent (vitals, complaints, history, attachments),
    why the case came here, and the hub's steps (forward, refer, follow-up). The read of
    the case is audited."""
    case = selectors.case_of(consultation)
    if case is None:
        return {}
    record_event(
        request.user,
        "hwc.case.view",
        obj=case,
        patient_id=case.patient_id,
        request=request,
        detail={"consultation": str(consultation.pk)},
    )
    return {
        "line_panels": ["hwc/hub/_case_panel.html"],
        "show_room": case.mode == Case.Mode.LIVE,
        "case": case,
        "case_complaints": selectors.complaint_labels(case),
        "case_attachments": list(case.attachments.all()),
        "route_label": selectors.route_label(case),
        "forward_targets": selectors.forward_targets(consultation, case),
        "destinations": selectors.referral_destinations(consultation),
        "urgencies": Referral.Urgency.choices,
        "referrals": list(selectors.referrals_of(consultation)),
    }


HUB_WORKSPACE = Mount(
    service_line=Consultation.ServiceLine.HUB_SPOKE,
    queues=hub_queues,
    queues_of=hub_queues_of,
    go_online=go_online,
    call_next=hwc.call_next_case,
    queue_view=selectors.doctor_hub_queue,
    console_template="hwc/hub/console.html",
    console_context=console_context,
    panels=case_panels,
    api_namespace=API_NAMESPACE,
    online_request=GoOnlineAtHubSerializer,
    queue_response=HubQueueSerializer,
)
