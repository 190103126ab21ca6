"""Family-profile pages for the signed-in patient account. Thin: parse, call, render."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from sanjeevani.accounts.models import Role
from sanjeevani.limits.pages import rate_limited

from . import selectors, services
from .forms import PatientForm

#: Session key of the profile the account holder is consulting for (read by the OPD pages).
ACTIVE_PATIENT_SESSION_KEY = "active_patient_id"


def otp_sign_in_url() -> str:
    try:
        return reverse("accounts:otp_sign_in")
    except NoReverseMatch:
        return "/accounts/otp/"


def patient_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Anonymous visitors go to OTP sign-in and come back; staff are refused."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            query = urlencode({"next": request.get_full_path()})
            return HttpResponseRedirect(f"{otp_sign_in_url()}?{query}")
        if request.user.role != Role.PATIENT:
            raise PermissionDenied(
                _("These pages are for patients signed in with a mobile number.")
            )
        return view(request, *args, **kwargs)

    return wrapped


def _form_data(form: PatientForm) -> dict[str, Any]:
    return dict(form.cleaned_data)


@never_cache
@patient_required
def family(request: HttpRequest) -> HttpResponse:
    """Pick whose consultation this is, or add a family member."""
    patients = selectors.family_of(request.user, request=request)
    return render(
        request,
        "patients/family.html",
        {
            "patients": patients,
            "active_id": request.session.get(ACTIVE_PATIENT_SESSION_KEY),
            "can_add": len(patients) < services.MAX_FAMILY_SIZE,
            "max_family_size": services.MAX_FAMILY_SIZE,
        },
    )


@patient_required
@require_http_methods(["GET", "POST"])
@rate_limited("family.write")
def add(request: HttpRequest) -> HttpResponse:
    family_now = selectors.family_queryset(request.user)
    if request.method == "POST":
        form = PatientForm(request.POST)
        if form.is_valid():
            try:
                patient = services.add_family_member(
                    request.user, _form_data(form), request.user, request=request
                )
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(
                    request, _("%(name)s was added to your family.") % {"name": patient.name}
                )
                return redirect("patients:family")
    else:
        first = family_now.first()
        initial: dict[str, Any] = {"preferred_language": request.LANGUAGE_CODE}
        if first is None:
            initial["relation"] = "self"
        else:
            initial.update(
                relation="child",
                state=first.state_id,
                district=first.district_id,
                preferred_language=first.preferred_language,
            )
        form = PatientForm(initial=initial)
    return render(request, "patients/form.html", {"form": form, "patient": None})


@patient_required
@require_http_methods(["GET", "POST"])
@rate_limited("family.write")
def edit(request: HttpRequest, patient_id: Any) -> HttpResponse:
    """Change a profile; a successful save is audited by the service, each display here."""
    if request.method == "POST":
        patient = selectors.patient_for_account(request.user, patient_id, audit=False)
        form = PatientForm(request.POST)
        if form.is_valid():
            try:
                patient = services.update_patient(
                    patient, _form_data(form), request.user, request=request
                )
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(
                    request, _("The profile of %(name)s was saved.") % {"name": patient.name}
                )
                return redirect("patients:family")
        # The page shown again with errors displays the stored record: a read.
        patient = selectors.patient_for_account(request.user, patient.pk, request=request)
    else:
        patient = selectors.patient_for_account(request.user, patient_id, request=request)
        form = PatientForm(initial=PatientForm.initial_for(patient))
    return render(request, "patients/form.html", {"form": form, "patient": patient})


@patient_required
@require_POST
@rate_limited("write")
def choose(request: HttpRequest, patient_id: Any) -> HttpResponse:
    """Remember whose consultation this is and go on to pick an OPD for them."""
    patient = selectors.patient_for_account(request.user, patient_id, audit=False)
    request.session[ACTIVE_PATIENT_SESSION_KEY] = str(patient.pk)
    messages.success(request, _("You are now consulting for %(name)s.") % {"name": patient.name})
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return HttpResponseRedirect(target)
    return HttpResponseRedirect(f"{reverse('opd:start')}?patient={patient.pk}")
