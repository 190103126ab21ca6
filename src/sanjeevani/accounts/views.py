"""Sign-in pages. Each parses the form, calls one service and renders what came back."""

from __future__ import annotations

import time
from base64 import b32encode
from typing import Any
from urllib.parse import urlencode

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render, resolve_url
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import login as otp_login

from sanjeevani.audit.services import client_ip
from sanjeevani.limits.pages import rate_limited
from sanjeevani.portal.landing import landing_url

from . import services, trust
from .api_tokens import expires_at
from .models import User
from .policies import may_open_admin
from .selectors import devices_of, seconds_until_resend

OTP_MOBILE_KEY = "accounts_otp_mobile"
OTP_CHALLENGE_KEY = "accounts_otp_challenge"
PENDING_ENROLMENT_KEY = "accounts_pending_enrolment"
PENDING_ENROLMENT_SECONDS = 10 * 60
_CODE_MAY_BE_WAITING = {"resend_too_soon", "number_rate_limited"}
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


def _next_url(request: HttpRequest) -> str:
    """The ``next`` the person came with, only if it stays on this site."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return ""


def _with_next(url: str, next_url: str) -> str:
    if not next_url:
        return url
    return f"{url}?{urlencode({'next': next_url})}"


@require_http_methods(["GET", "POST"])
def otp_sign_in(request: HttpRequest) -> HttpResponse:
    """Patients: enter a mobile number, then the code that was sent to it."""
    next_url = _next_url(request)
    here = _with_next(resolve_url("accounts:otp_sign_in"), next_url)
    mobile = request.session.get(OTP_MOBILE_KEY, "")
    typed_mobile = ""
    error: services.SignInError | None = None

    if request.method == "POST":
        action = request.POST.get("action", "")
        ip = client_ip(request)
        if action == "change":
            request.session.pop(OTP_MOBILE_KEY, None)
            request.session.pop(OTP_CHALLENGE_KEY, None)
            return redirect(here)
        if action in {"send", "resend"}:
            typed_mobile = request.POST.get("mobile", "") if action == "send" else mobile
            try:
                sent = services.request_otp(
                    typed_mobile, ip, trusted_keys=trust.trusted_keys(request)
                )
            except services.SignInError as exc:
                error = exc
                if action == "send" and exc.code in _CODE_MAY_BE_WAITING:
                    # A code already sent may still be valid: let them type it.
                    mobile = services.normalise_mobile(typed_mobile)
                    request.session[OTP_MOBILE_KEY] = mobile
                elif action == "send":
                    mobile = ""
            else:
                request.session[OTP_MOBILE_KEY] = sent.mobile
                request.session[OTP_CHALLENGE_KEY] = sent.challenge
                messages.success(request, _("We have sent a 6-digit code by SMS."))
                return redirect(here)
        elif action == "verify":
            if not mobile:
                error = services.SignInError(
                    _("Enter your mobile number first."), field="mobile", code="no_mobile"
                )
            else:
                try:
                    user = services.verify_otp(
                        mobile,
                        request.POST.get("code", ""),
                        ip,
                        challenge_id=request.session.get(OTP_CHALLENGE_KEY),
                        trusted_keys=trust.trusted_keys(request),
                    )
                except services.SignInError as exc:
                    error = exc
                else:
                    auth_login(request, user, backend=MODEL_BACKEND)
                    request.session.pop(OTP_MOBILE_KEY, None)
                    request.session.pop(OTP_CHALLENGE_KEY, None)
                    response = redirect(next_url or landing_url(user))
                    trust.remember_device(request, response, trust.MOBILE, mobile)
                    return response

    context = {
        "step": "code" if mobile else "mobile",
        "mobile": mobile,
        "mobile_display": services.display_mobile(mobile) if mobile else "",
        "typed_mobile": typed_mobile,
        "error": error,
        "resend_in": seconds_until_resend(mobile, client_ip(request)) if mobile else 0,
        "next": next_url,
        "code_length": settings.OTP_LENGTH,
    }
    response = render(
        request,
        "accounts/otp_sign_in.html",
        context,
        status=429 if error is not None and error.is_rate_limit else 200,
    )
    if error is not None and error.retry_after:
        response["Retry-After"] = str(error.retry_after)
    return response


@require_http_methods(["GET", "POST"])
def staff_login(request: HttpRequest) -> HttpResponse:
    """Staff: username, password and, where set up or required, the authenticator code."""
    next_url = _next_url(request)
    error: services.SignInError | None = None
    if request.method == "POST":
        try:
            result = services.authenticate_staff(
                request.POST.get("username", ""),
                request.POST.get("password", ""),
                request.POST.get("totp", ""),
                client_ip(request),
                trusted_keys=trust.trusted_keys(request),
            )
        except services.SignInError as exc:
            error = exc
        else:
            if result.needs_enrolment:
                if request.user.is_authenticated and request.user.pk != result.user.pk:
                    auth_logout(request)
                request.session[PENDING_ENROLMENT_KEY] = {
                    "user": str(result.user.pk),
                    "at": time.time(),
                    "next": next_url,
                }
                return redirect("accounts:enrol_2fa")
            auth_login(request, result.user, backend=MODEL_BACKEND)
            if result.device is not None:
                otp_login(request, result.device)
            response = redirect(next_url or landing_url(result.user))
            trust.remember_device(request, response, trust.STAFF, result.user.get_username())
            return response
    elif request.user.is_authenticated and next_url.startswith(resolve_url("admin:index")):
        if may_open_admin(request.user):
            messages.info(
                request,
                _("Administration needs your authenticator code: please sign in again with it."),
            )
        else:
            messages.info(request, _("Your account cannot open administration."))
    response = render(
        request,
        "accounts/staff_login.html",
        {"error": error, "next": next_url, "username": request.POST.get("username", "")},
        status=429 if error is not None and error.is_rate_limit else 200,
    )
    if error is not None and error.retry_after:
        response["Retry-After"] = str(error.retry_after)
    return response


def _enrolling_user(request: HttpRequest) -> tuple[User | None, str]:
    """Who is setting up an authenticator: a signed-in staff member, or one whose password
    was just accepted but who may not sign in before enrolling."""
    pending = request.session.get(PENDING_ENROLMENT_KEY)
    if pending and time.time() - pending.get("at", 0) < PENDING_ENROLMENT_SECONDS:
        user = User.objects.filter(pk=pending["user"], is_active=True).first()
        if user is not None:
            return user, pending.get("next", "")
    request.session.pop(PENDING_ENROLMENT_KEY, None)
    if request.user.is_authenticated and not request.user.is_patient:
        return request.user, _next_url(request)
    return None, ""


def _grouped(secret: str) -> str:
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


@require_http_methods(["GET", "POST"])
def enrol_2fa(request: HttpRequest) -> HttpResponse:
    """Set up an authenticator app: scan the QR code (or type the secret), confirm a code."""
    user, next_url = _enrolling_user(request)
    if user is None:
        messages.info(request, _("Sign in with your username and password first."))
        return redirect("accounts:staff_login")
    if services.confirmed_device(user) is not None:
        request.session.pop(PENDING_ENROLMENT_KEY, None)
        if request.user.is_authenticated:
            messages.info(request, _("Your authenticator app is already set up."))
            return redirect(landing_url(request.user))
        return redirect("accounts:staff_login")

    device = services.start_totp_enrolment(user)
    error: services.SignInError | None = None
    if request.method == "POST":
        try:
            device = services.confirm_totp_enrolment(
                user, request.POST.get("totp", ""), client_ip(request)
            )
        except services.SignInError as exc:
            error = exc
        else:
            request.session.pop(PENDING_ENROLMENT_KEY, None)
            if not request.user.is_authenticated:
                auth_login(request, user, backend=MODEL_BACKEND)
            otp_login(request, device)
            messages.success(request, _("Your authenticator app is set up."))
            response = redirect(next_url or landing_url(user))
            trust.remember_device(request, response, trust.STAFF, user.get_username())
            return response

    secret = b32encode(device.bin_key).decode().rstrip("=")
    qr = segno.make(device.config_url, error="m")
    return render(
        request,
        "accounts/enrol_2fa.html",
        {
            "error": error,
            "qr_svg": qr.svg_inline(scale=4, title=_("QR code for your authenticator app")),
            "secret": _grouped(secret),
            "account_name": user.get_username(),
        },
    )


@require_http_methods(["GET", "POST"])
def logout(request: HttpRequest) -> HttpResponse:
    """Sign out on POST; a GET only shows the button, so a link cannot sign anyone out."""
    if request.method == "POST":
        if request.user.is_authenticated:
            services.sign_out(request.user, client_ip(request))
        auth_logout(request)
        messages.success(request, _("You have signed out."))
        return redirect("portal:home")
    return render(request, "accounts/logout.html")


@never_cache
@login_required
def devices(request: HttpRequest) -> HttpResponse:
    """The apps signed in to this account, each with a button that signs it out."""
    rows = [(token, expires_at(token)) for token in devices_of(request.user)]
    return render(request, "accounts/devices.html", {"devices": rows})


@login_required
@require_POST
@rate_limited("write")
def revoke_device(request: HttpRequest, pk: Any) -> HttpResponse:
    """Sign one of the person's own devices out; another person's device is a 404."""
    token = get_object_or_404(devices_of(request.user).select_related("user"), pk=pk)
    services.revoke_device(request.user, token, client_ip(request))
    messages.success(
        request,
        _("%(device)s is signed out.") % {"device": token.device or _("The device")},
    )
    return redirect("accounts:devices")


@login_required
@require_POST
@rate_limited("write")
def sign_out_everywhere(request: HttpRequest) -> HttpResponse:
    """Every app and every browser, this one included."""
    services.sign_out_everywhere(request.user, request.user, client_ip(request))
    auth_logout(request)
    messages.success(request, _("You have signed out on every device."))
    return redirect("portal:home")
