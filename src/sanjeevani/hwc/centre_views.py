"""The health worker's pages at a spoke (``/centre/``): the workspace with today's cases and
their status, finding or registering a patient, the case form (offline draft in the
browser, ``static/hwc/centre/case_form.js``), joining the room when a hub doctor calls,
printing the prescription (A4 PDF and 80 mm) and dispensing from the centre's stock.

Thin: each view finds its object through ``selectors`` (the CHO's own centre only, else
404), calls one service and renders. Views that the case form's script posts to answer
JSON to ``Accept: application/json``."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from sanjeevani.accounts.models import Role
from sanjeevani.audit.services import record_event
from sanjeevani.consultations import care_team
from sanjeevani.consultations import services as consultations
from sanjeevani.consultations.care_team import Action
from sanjeevani.consultations.workspace.pages import SERVICE_ERRORS, error_text
from sanjeevani.limits.pages import rate_limited
from sanjeevani.portal.access import roles_required

from . import selectors
from . import services as hwc
from .forms import (
    AttachmentForm,
    CaseForm,
    FindPatientForm,
    ReceiveStockForm,
    RegisterPatientForm,
    add_service_errors,
    case_data,
    check_vitals_first,
    service_errors_json,
)
from .suggestion import suggest_specialty
from .triage import check_case_vitals

cho_required = roles_required(Role.CHO)


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


@never_cache
@cho_required
@require_GET
def workspace(request: HttpRequest) -> HttpResponse:
    """Today's cases at the centre with their status, follow-ups due, find a patient."""
    centre = hwc.centre_of(request.user)
    statuses = selectors.todays_cases(centre)
    record_event(request.user, "hwc.centre_cases.view", obj=centre, detail={"cases": len(statuses)})
    return render(
        request,
        "hwc/centre/workspace.html",
        {
            "centre": centre,
            "statuses": statuses,
            "follow_ups": selectors.follow_ups_due(centre),
            "find_form": FindPatientForm(),
        },
    )


@never_cache
@cho_required
@require_GET
def status_feed(request: HttpRequest) -> JsonResponse:
    """The workspace's polling feed (every 15 s and on focus; frequent, so not audited:
    the page that shows the names was)."""
    centre = hwc.centre_of(request.user)
    return JsonResponse(
        {
            "cases": [status.as_json() for status in selectors.todays_cases(centre)],
            "at": timezone.now().isoformat(),
        }
    )


@never_cache
@cho_required
@require_GET
def find_patient(request: HttpRequest) -> HttpResponse:
    centre = hwc.centre_of(request.user)
    form = FindPatientForm(request.GET or None)
    found = None
    if form.is_valid():
        found = selectors.find_patients(centre, form.cleaned_data["q"])
        for patient in found:
            record_event(request.user, "patient.search", obj=patient, patient_id=patient.pk)
    return render(request, "hwc/centre/find.html", {"centre": centre, "form": form, "found": found})


@never_cache
@cho_required
@require_http_methods(["GET", "POST"])
@rate_limited("write")
def register_patient(request: HttpRequest) -> HttpResponse:
    """Register a walk-in; possible duplicates (name, age, village) are shown first and the
    CHO ticks "a different person" to go on."""
    centre = hwc.centre_of(request.user)
    form = RegisterPatientForm(request.POST or None, centre=centre)
    duplicates: list = []
    if request.method == "POST" and form.is_valid():
        data = form.patient_data()
        duplicates = selectors.possible_duplicates(
            centre, data["name"], data["age_years"], data["address"]
        )
        if duplicates and not form.cleaned_data["different_person"]:
            form.add_error(
                "different_person",
                _("Check the patients listed above. Open theirs, or tick this box to go on."),
            )
        else:
            try:
                patient = hwc.register_patient(request.user, data, form.cleaned_data["mobile"])
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, _("%(name)s is registered.") % {"name": patient.name})
                return redirect("centre:case_new", patient_id=patient.pk)
    elif request.method == "GET" and request.GET.get("mobile"):
        form.initial["mobile"] = request.GET["mobile"][:16]
    return render(
        request,
        "hwc/centre/register.html",
        {"centre": centre, "form": form, "duplicates": duplicates},
    )


@never_cache
@cho_required
@require_GET
def patient_page(request: HttpRequest, patient_id) -> HttpResponse:
    centre = hwc.centre_of(request.user)
    patient = selectors.centre_patient(request.user, centre, patient_id)
    cases = patient.hwc_cases.filter(spoke=centre).select_related("specialty", "ticket")[:20]
    return render(
        request,
        "hwc/centre/patient.html",
        {"centre": centre, "patient": patient, "cases": [selectors.case_status(c) for c in cases]},
    )


@never_cache
@cho_required
@require_http_methods(["GET", "POST"])
@rate_limited("write")
def case_new(request: HttpRequest, patient_id) -> HttpResponse:
    """The case form. Posted by the page's script (JSON answer) or as a plain form."""
    centre = hwc.centre_of(request.user)
    patient = selectors.centre_patient(request.user, centre, patient_id, audited=False)
    form = CaseForm(request.POST or None, request.FILES or None, centre=centre)
    if request.method == "POST":
        if form.is_valid():
            data = case_data(request.POST)
            try:
                check_vitals_first(data, patient.age)
                case, created = hwc.submit_case(request.user, patient, data)
                upload = request.FILES.get("attachment")
                if created and upload is not None:
                    hwc.attach_to_case(
                        request.user, case, upload, request.POST.get("attachment_kind", ""), ""
                    )
            except ValidationError as error:
                if _wants_json(request):
                    return JsonResponse({"errors": service_errors_json(error)}, status=400)
                add_service_errors(form, error)
            except SERVICE_ERRORS as error:
                if _wants_json(request):
                    return JsonResponse({"errors": {"__all__": [error_text(error)]}}, status=409)
                form.add_error(None, error_text(error))
            else:
                url = f"/centre/cases/{case.pk}/"
                if _wants_json(request):
                    return JsonResponse(
                        {"case": str(case.pk), "url": url, "created": created},
                        status=201 if created else 200,
                    )
                messages.success(request, _("The case is sent."))
                return redirect(url)
        elif _wants_json(request):
            return JsonResponse({"errors": form.errors.get_json_data()}, status=400)
    else:
        record_event(request.user, "patient.view", obj=patient, patient_id=patient.pk)
    return render(
        request,
        "hwc/centre/case_form.html",
        {"centre": centre, "patient": patient, "form": form},
    )


@never_cache
@cho_required
@require_GET
def suggest(request: HttpRequest, patient_id) -> JsonResponse:
    """The platform's specialty suggestion and the danger signs, as the case form changes."""
    centre = hwc.centre_of(request.user)
    patient = selectors.centre_patient(request.user, centre, patient_id, audited=False)
    data = case_data(request.GET)
    vitals, errors, danger = check_case_vitals(data["vitals"], patient.age)
    suggestion = suggest_specialty(data["complaints"], vitals, patient.age)
    specialty = suggestion.specialty
    return JsonResponse(
        {
            "specialty": specialty.code if specialty else None,
            "specialty_name": specialty.name if specialty else None,
            "reasons": [str(r) for r in suggestion.reasons],
            "alternatives": [{"code": s.code, "name": s.name} for s in suggestion.alternatives],
            "danger": danger,
            "errors": {f"vital_{k}": str(v) for k, v in errors.items()},
        }
    )


@never_cache
@cho_required
@require_GET
def case_page(request: HttpRequest, case_id) -> HttpResponse:
    centre = hwc.centre_of(request.user)
    case = selectors.centre_case(request.user, centre, case_id)
    return render(
        request,
        "hwc/centre/case.html",
        {
            "centre": centre,
            "case": case,
            "status": selectors.case_status(case),
            "complaints": selectors.complaint_labels(case),
            "attach_form": AttachmentForm(),
        },
    )


@cho_required
@require_POST
@rate_limited("write")
def attach(request: HttpRequest, case_id) -> HttpResponse:
    centre = hwc.centre_of(request.user)
    case = selectors.centre_case(request.user, centre, case_id, audited=False)
    form = AttachmentForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, " ".join(m for ms in form.errors.values() for m in ms))
    else:
        try:
            hwc.attach_to_case(
                request.user,
                case,
                form.cleaned_data["file"],
                form.cleaned_data["kind"],
                form.cleaned_data["title"],
            )
        except SERVICE_ERRORS as error:
            messages.error(request, error_text(error))
        else:
            messages.success(request, _("The file is added to the case."))
    return redirect("centre:case", case_id=case.pk)


@never_cache
@cho_required
@require_GET
def attachment_file(request: HttpRequest, case_id, attachment_id) -> HttpResponse:
    centre = hwc.centre_of(request.user)
    case = selectors.centre_case(request.user, centre, case_id, audited=False)
    attachment = case.attachments.filter(pk=selectors.parse_id(attachment_id)).first()
    if attachment is None:
        raise Http404
    record_event(
        request.user, "hwc.case_attachment.view", obj=attachment, patient_id=case.patient_id
    )
    response = FileResponse(attachment.file.open("rb"), content_type=attachment.content_type)
    response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; sandbox"
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


@cho_required
@require_POST
@rate_limited("write")
def join(request: HttpRequest, case_id) -> HttpResponse:
    """ "Join now": the CHO answers the hub doctor's call with the patient beside them."""
    centre = hwc.centre_of(request.user)
    case = selectors.centre_case(request.user, centre, case_id, audited=False)
    if case.ticket is None:
        raise Http404
    try:
        consultation = consultations.accept_call(request.user, case.ticket)
    except SERVICE_ERRORS as error:
        messages.error(request, error_text(error))
        return redirect("centre:case", case_id=case.pk)
    return redirect("realtime:room", consultation_id=consultation.pk)


def _prescription(request: HttpRequest, case_id, prescription_id):
    centre = hwc.centre_of(request.user)
    case = selectors.centre_case(request.user, centre, case_id, audited=False)
    prescription = selectors.case_prescription(case, prescription_id)
    try:
        care_team.require(request.user, Action.VIEW_PRESCRIPTION, prescription)
    except PermissionDenied:
        raise Http404 from None
    return centre, case, prescription


@never_cache
@cho_required
@require_GET
def thermal_print(request: HttpRequest, case_id, prescription_id) -> HttpResponse:
    """The prescription laid out for an 80 mm thermal printer, stock shown per medicine."""
    centre, case, prescription = _prescription(request, case_id, prescription_id)
    record_event(
        request.user, "prescription.view", obj=prescription, patient_id=prescription.patient_id
    )
    return render(
        request,
        "hwc/centre/thermal.html",
        {
            "centre": centre,
            "case": case,
            "prescription": prescription,
            "lines": selectors.dispense_lines(centre, prescription),
        },
    )


@never_cache
@cho_required
@require_http_methods(["GET", "POST"])
@rate_limited("write")
def dispense(request: HttpRequest, case_id, prescription_id) -> HttpResponse:
    """Record the medicines given from the centre's stock; out-of-stock ones are marked."""
    centre, case, prescription = _prescription(request, case_id, prescription_id)
    if request.method == "POST":
        quantities = {
            key.removeprefix("qty_"): value
            for key, value in request.POST.items()
            if key.startswith("qty_")
        }
        try:
            hwc.dispense(request.user, prescription, quantities)
        except SERVICE_ERRORS as error:
            messages.error(request, error_text(error))
        else:
            messages.success(request, _("Dispensing recorded."))
        return redirect("centre:dispense", case_id=case.pk, prescription_id=prescription.pk)
    record_event(
        request.user, "prescription.view", obj=prescription, patient_id=prescription.patient_id
    )
    return render(
        request,
        "hwc/centre/dispense.html",
        {
            "centre": centre,
            "case": case,
            "prescription": prescription,
            "lines": selectors.dispense_lines(centre, prescription),
        },
    )


@never_cache
@cho_required
@require_http_methods(["GET", "POST"])
@rate_limited("write")
def stock(request: HttpRequest) -> HttpResponse:
    """The centre's medicines on hand, the ledger, and receiving a supply."""
    centre = hwc.centre_of(request.user)
    form = ReceiveStockForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            hwc.receive_stock(request.user, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Stock received."))
            return redirect("centre:stock")
    return render(
        request,
        "hwc/centre/stock.html",
        {
            "centre": centre,
            "form": form,
            "on_hand": selectors.stock_on_hand(centre),
            "ledger": selectors.stock_ledger(centre),
        },
    )
