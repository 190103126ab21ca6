"""The operator's pages (assisted registration): the desk, registering a patient with their
consent, and the operator's own patients. Taking a token and joining the room are OPD
pages (``opd.assisted_views``), one layer up."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from sanjeevani.accounts.models import Role
from sanjeevani.limits.pages import rate_limited
from sanjeevani.portal.access import roles_required

from . import assisted
from .assisted_forms import AssistedRegistrationForm

operator_required = roles_required(Role.OPERATOR)

#: Patients listed on the desk and per page of the list.
DESK_SIZE = 10
LIST_SIZE = 50


@never_cache
@operator_required
@require_GET
def desk(request: HttpRequest) -> HttpResponse:
    """The operator's landing: register a patient, find one of their own."""
    recent = assisted.listed_patients(request.user, limit=DESK_SIZE, request=request)
    return render(request, "patients/assisted/desk.html", {"recent": recent})


@never_cache
@operator_required
@require_http_methods(["GET", "POST"])
@rate_limited("write")
def register(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = AssistedRegistrationForm(request.POST)
        if form.is_valid():
            try:
                patient = assisted.register_patient(
                    request.user,
                    form.cleaned_data["mobile"],
                    form.patient_data(),
                    form.consent(),
                    request=request,
                )
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(
                    request,
                    _("%(name)s is registered (patient ID %(number)s).")
                    % {"name": patient.name, "number": patient.patient_number},
                )
                return redirect("opd:assisted_patient", patient_id=patient.pk)
    else:
        form = AssistedRegistrationForm(initial={"relation": "self"})
    return render(request, "patients/assisted/register.html", {"form": form})


@never_cache
@operator_required
@require_GET
def patient_list(request: HttpRequest) -> HttpResponse:
    """The operator's own patients; the search matches name, patient ID or mobile number."""
    query = request.GET.get("q", "")[:100]
    patients = assisted.listed_patients(request.user, query, LIST_SIZE, request=request)
    return render(
        request, "patients/assisted/patients.html", {"patients": patients, "query": query}
    )
