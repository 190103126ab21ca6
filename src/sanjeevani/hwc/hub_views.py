"""Pages of the hub: the coordinator's desk (live load, reassign), the referral inbox of the
facility a coordinator is posted at, the hub doctor's case steps on the consultation page
(forward up a tier, refer, ask the spoke for a follow-up) and the centre's attachments.

Thin: a scoped selector finds the thing (404 for anyone else's), a form or one field is
parsed, one service runs. The doctor's steps answer JSON to the page's script
(``Accept: application/json``) and redirect otherwise, like the workspace's own steps.
"""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from sanjeevani.accounts.models import Role
from sanjeevani.audit.services import record_event
from sanjeevani.consultations import selectors as consultation_selectors
from sanjeevani.consultations.models import Consultation
from sanjeevani.consultations.workspace.pages import (
    SERVICE_ERRORS,
    doctor_required,
    error_text,
    sign_in_url,
)
from sanjeevani.limits.pages import rate_limited
from sanjeevani.portal.access import roles_required
from sanjeevani.registry.models import Facility

from . import hub_selectors as selectors
from . import hub_services
from . import services as hwc
from .workspace import PAGES_NAMESPACE

coordinator_required = roles_required(Role.HUB_COORDINATOR)


# --- the coordinator's desk ----------------------------------------------------------------


@coordinator_required
@require_GET
def desk(request: HttpRequest) -> HttpResponse:
    hub = selectors.coordinator_hub(request.user)
    load = selectors.hub_load(hub)
    record_event(request.user, "hwc.hub_load.view", obj=hub, detail={"waiting": load["waiting"]})
    return render(
        request,
        "hwc/hub/desk.html",
        {
            "hub": hub,
            "load": load,
            "specialties": selectors.hub_specialties(hub),
            "unacknowledged": selectors.referrals_to(hub).filter(acknowledged_at=None).count(),
        },
    )


@coordinator_required
@require_GET
def desk_load(request: HttpRequest) -> JsonResponse:
    """The desk's live figures; its script asks every 15 seconds."""
    hub = selectors.coordinator_hub(request.user)
    load = selectors.hub_load(hub)
    record_event(request.user, "hwc.hub_load.view", obj=hub, detail={"waiting": load["waiting"]})
    response = JsonResponse(load)
    response["Cache-Control"] = "no-store"
    return response


@coordinator_required
@require_POST
@rate_limited("write")
def reassign(request: HttpRequest, case_id) -> HttpResponse:
    hub = selectors.coordinator_hub(request.user)
    case = selectors.waiting_case_at(hub, case_id)
    specialty = selectors.hub_specialties(hub).filter(code=request.POST.get("specialty")).first()
    if specialty is None:
        messages.error(request, _("Choose a specialty this hub offers."))
        return redirect("hub:desk")
    try:
        hwc.reassign_case(request.user, case, specialty)
    except SERVICE_ERRORS as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(
            request,
            _("The case now waits for %(specialty)s.") % {"specialty": specialty.name},
        )
    return redirect("hub:desk")


# --- the referral inbox ----------------------------------------------------------------------


@coordinator_required
@require_GET
def referrals(request: HttpRequest) -> HttpResponse:
    facility = hwc.facility_of(request.user)
    found = list(selectors.referrals_to(facility)[:200])
    record_event(request.user, "hwc.referral_list.view", obj=facility, detail={"count": len(found)})
    return render(request, "hwc/hub/referrals.html", {"facility": facility, "referrals": found})


@coordinator_required
@require_GET
def referral(request: HttpRequest, referral_id) -> HttpResponse:
    found = selectors.referral_for(request.user, referral_id)
    record_event(request.user, "hwc.referral.view", obj=found, patient_id=found.patient_id)
    return render(request, "hwc/hub/referral.html", {"referral": found})


@coordinator_required
@require_POST
@rate_limited("write")
def acknowledge(request: HttpRequest, referral_id) -> HttpResponse:
    found = selectors.referral_for(request.user, referral_id)
    try:
        hwc.acknowledge_referral(request.user, found, request.POST.get("note", ""))
    except SERVICE_ERRORS as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, _("Referral acknowledged: the referring hub sees it."))
    return redirect("hub:referral", referral_id=found.pk)


# --- the hub doctor's case steps -------------------------------------------------------------


def _hub_consultation(request: HttpRequest, consultation_id) -> Consultation:
    return consultation_selectors.visible_consultation(
        request.user, consultation_id, Consultation.ServiceLine.HUB_SPOKE
    )


def _page(found: Consultation) -> str:
    return reverse("workspace:consultation", args=[found.pk], current_app=PAGES_NAMESPACE)


def _answer(request: HttpRequest, found: Consultation, text: str, error: Exception | None = None):
    if "application/json" in request.headers.get("Accept", ""):
        if error is None:
            return JsonResponse({"message": text})
        fields = getattr(error, "message_dict", None) if hasattr(error, "error_dict") else None
        status = 403 if isinstance(error, PermissionDenied) else getattr(error, "status", 400)
        return JsonResponse(
            {"error": text, "code": getattr(error, "code", None) or "invalid", "fields": fields},
            status=status,
        )
    (messages.error if error else messages.success)(request, text)
    if error is None and request.POST.get("then") == "console":
        return redirect(reverse("workspace:console", current_app=PAGES_NAMESPACE))
    return redirect(_page(found))


@doctor_required
@require_POST
@rate_limited("write")
def forward(request: HttpRequest, consultation_id) -> HttpResponse:
    found = _hub_consultation(request, consultation_id)
    to_hub = Facility.objects.filter(pk=_uuid(request.POST.get("to_hub")), is_hub=True).first()
    if to_hub is None:
        return _answer(request, found, _("Choose the hub to forward to."), ValueError())
    try:
        hwc.forward_case(request.user, found, to_hub, request.POST.get("note", ""))
    except SERVICE_ERRORS as exc:
        return _answer(request, found, error_text(exc), exc)
    return _answer(
        request, found, _("Forwarded to %(hub)s; the case waits there.") % {"hub": to_hub.name}
    )


@doctor_required
@require_POST
@rate_limited("write")
def refer(request: HttpRequest, consultation_id) -> HttpResponse:
    found = _hub_consultation(request, consultation_id)
    to = selectors.referral_destinations(found).filter(pk=_uuid(request.POST.get("to"))).first()
    if to is None:
        return _answer(request, found, _("Choose the facility to refer to."), ValueError())
    try:
        hub_services.refer_and_end(
            request.user,
            found,
            to,
            request.POST.get("reason", ""),
            request.POST.get("urgency", ""),
            end=request.POST.get("end", "1") == "1",
        )
    except SERVICE_ERRORS as exc:
        return _answer(request, found, error_text(exc), exc)
    return _answer(request, found, _("Referred to %(to)s.") % {"to": to.name})


@doctor_required
@require_POST
@rate_limited("write")
def follow_up(request: HttpRequest, consultation_id) -> HttpResponse:
    found = _hub_consultation(request, consultation_id)
    try:
        saved = hub_services.ask_follow_up(request.user, found, request.POST.get("days"))
    except SERVICE_ERRORS as exc:
        return _answer(request, found, error_text(exc), exc)
    return _answer(
        request,
        found,
        _("The centre is asked to bring the patient back on %(day)s.")
        % {"day": saved.follow_up_on.strftime("%d %b %Y")},
    )


# --- the centre's attachments ---------------------------------------------------------------


@require_GET
def attachment(request: HttpRequest, attachment_id) -> HttpResponse:
    """A photo, ECG or report of a case, for those in the case's care only; audited."""
    if not request.user.is_authenticated:
        return redirect(sign_in_url("accounts:staff_login", request.get_full_path()))
    found = selectors.attachment_for(request.user, attachment_id)
    record_event(
        request.user,
        "hwc.case_attachment.view",
        obj=found,
        patient_id=found.case.patient_id,
        request=request,
    )
    response = FileResponse(found.file.open("rb"), content_type=found.content_type)
    response["Content-Disposition"] = "inline"
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


def _uuid(value: object) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None
