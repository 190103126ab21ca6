"""Pages: the prescription on screen and as PDF (patient's family and its doctor only), the
public verification page the QR code opens, and the platform's public key."""

from __future__ import annotations

import datetime as dt
import uuid

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

from sanjeevani.audit.services import client_ip, record_event
from sanjeevani.config.database_routers import reads_from_replica

from . import selectors, services
from .models import Prescription
from .rendering import format_datetime, pdf_file_name, render_prescription_html, sex_label
from .signing import public_key_pem

#: Verification look-ups allowed per client address per minute.
VERIFY_RATE_PER_MINUTE = 60


def _signed_in_or_redirect(request: HttpRequest) -> HttpResponse | None:
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path(), "accounts:otp_sign_in")
    return None


def speak_patients_language(request: HttpRequest, prescription: Prescription) -> None:
    """The family sees the page in the patient's chosen language unless they picked one
    themselves (the language cookie), as on the OPD pages; staff keep their own. The sheet
    itself is always in the prescription's language."""
    if settings.LANGUAGE_COOKIE_NAME in request.COOKIES:
        return
    if request.user.pk != prescription.patient.account_id:
        return
    wanted = (prescription.patient.preferred_language or "").split("-")[0].lower()
    if wanted in dict(settings.LANGUAGES):
        translation.activate(wanted)
        request.LANGUAGE_CODE = wanted


@require_GET
def prescription_page(request: HttpRequest, prescription_id: uuid.UUID) -> HttpResponse:
    if (redirect := _signed_in_or_redirect(request)) is not None:
        return redirect
    prescription = selectors.viewable_prescription(request.user, prescription_id)
    speak_patients_language(request, prescription)
    record_event(
        request.user,
        "prescription.view",
        obj=prescription,
        patient_id=prescription.patient_id,
        request=request,
    )
    return HttpResponse(render_prescription_html(prescription, request=request))


@require_GET
def prescription_pdf(request: HttpRequest, prescription_id: uuid.UUID) -> HttpResponse:
    if (redirect := _signed_in_or_redirect(request)) is not None:
        return redirect
    prescription = selectors.viewable_prescription(request.user, prescription_id)
    pdf = services.pdf_for(prescription, request)
    record_event(
        request.user,
        "prescription.download",
        obj=prescription,
        patient_id=prescription.patient_id,
        request=request,
    )
    return pdf_response(pdf, prescription)


def pdf_response(pdf: bytes, prescription: Prescription) -> HttpResponse:
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{pdf_file_name(prescription)}"'
    response["Cache-Control"] = "private, no-store"
    return response


def verification_allowed(request: HttpRequest) -> bool:
    """A fixed window per client address: cheap enough to sit in front of a cheap query."""
    key = f"rx-verify:{client_ip(request) or 'unknown'}"
    cache.add(key, 0, timeout=60)
    try:
        return cache.incr(key) <= VERIFY_RATE_PER_MINUTE
    except ValueError:
        return True


@reads_from_replica
@require_GET
@cache_control(private=True, no_store=True)
def verify_page(request: HttpRequest, code: str) -> HttpResponse:
    if not verification_allowed(request):
        response = HttpResponse(
            _("Too many verification requests from this address; wait a minute and try again."),
            status=429,
            content_type="text/plain; charset=utf-8",
        )
        response["Retry-After"] = "60"
        return response
    result = selectors.public_verification(code)
    prescription = result.get("prescription")
    if prescription is not None:
        record_event(
            request.user,
            "prescription.verify",
            obj=prescription,
            patient_id=prescription.patient_id,
            request=request,
            detail={"status": result["status"]},
        )
    summary = result["summary"]
    issued_at = dt.datetime.fromisoformat(summary["issued_at"]) if summary else None
    signatures = result.get("signatures") or {}
    context = {
        "result": result,
        "issued_at": issued_at,
        "issued_at_text": format_datetime(issued_at, translation.get_language() or "en"),
        "sex_label": sex_label(summary["patient"]["sex"]) if summary else "",
        "signature_rows": [
            (label, signatures[key])
            for key, label in (
                ("doctor", pgettext("prescription", "Doctor's own signature")),
                ("platform", pgettext("prescription", "Sanjeevani platform's signature")),
            )
            if key in signatures
        ],
    }
    status = 404 if result["status"] == "not_found" else 200
    return render(request, "prescriptions/verify.html", context, status=status)


@require_GET
def public_key(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(public_key_pem(), content_type="application/x-pem-file")
    response["Cache-Control"] = "public, max-age=3600"
    return response
