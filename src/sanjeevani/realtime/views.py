"""The room page (standalone; the OPD and hub pages include ``realtime/_room_panel.html``)
and a device-check page for trying camera, microphone, speaker and connection."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.i18n import JavaScriptCatalog

from sanjeevani.consultations.workspace.pages import sign_in_url

from . import selectors

_javascript_catalog = JavaScriptCatalog.as_view()


def javascript_catalog(request: HttpRequest) -> HttpResponse:
    """The strings of room.js and device_check.js in the language of the page that loads them.

    A page may speak the patient's profile language while this separate request's cookie or
    Accept-Language says another, so the page names its language in ``?language=``.
    """
    try:
        language = translation.get_supported_language_variant(request.GET.get("language", ""))
    except LookupError:
        return _javascript_catalog(request)
    with translation.override(language):
        return _javascript_catalog(request)


@login_required
@ensure_csrf_cookie
def room(request: HttpRequest, consultation_id) -> HttpResponse:
    consultation, member = selectors.consultation_read_by_member(
        request.user, consultation_id, "room.view", request
    )
    return render(
        request, "realtime/room.html", {"consultation": consultation, "room_member": member}
    )


def device_check(request: HttpRequest) -> HttpResponse:
    """Try camera, microphone, speaker and connection before a consultation. Anyone signed
    in may use it; a signed-out visitor is most likely a patient, so they are sent to the
    patient's OTP sign-in (and come back here), not the staff sign-in."""
    if not request.user.is_authenticated:
        return redirect(sign_in_url("accounts:otp_sign_in", request.get_full_path()))
    return render(request, "realtime/device_check.html")
