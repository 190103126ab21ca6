"""Staff sign-in: password, then the TOTP code of their authenticator app (or enrolling one
when their role requires a second factor). Wrong passwords are limited as in
``accounts.passwords``; the TOTP device limits its own wrong codes."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from django.contrib.auth import authenticate
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django_otp.models import VerifyNotAllowed
from django_otp.plugins.otp_totp.models import TOTPDevice

from sanjeevani.audit.services import record_event

from . import throttle, trust
from .errors import SignInError
from .models import Role, User
from .passwords import password_ceilings, password_wait_message
from .policies import requires_second_factor


def confirmed_device(user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("created_at").first()


@dataclass(frozen=True)
class StaffSignIn:
    """A staff member whose password was right. ``device`` is the TOTP device that
    verified them; ``needs_enrolment`` says they must set one up before going on."""

    user: User
    device: TOTPDevice | None
    needs_enrolment: bool


def verify_totp(device: TOTPDevice, totp: str) -> None:
    """Accept the code or raise ``SignInError``; the device's own throttle (django-otp)
    decides how long a run of wrong codes must wait."""
    token = "".join((totp or "").split())
    if not token:
        raise SignInError(
            _("Enter the 6-digit code from your authenticator app."),
            code="totp_required",
            field="totp",
        )
    with transaction.atomic():
        locked = TOTPDevice.objects.select_for_update().get(pk=device.pk)
        allowed, data = locked.verify_is_allowed()
        if not allowed:
            wait = 1
            if data and data.get("reason") == VerifyNotAllowed.N_FAILED_ATTEMPTS:
                wait = 2 ** max(0, int(data.get("failure_count", 1)) - 1)
            raise SignInError(
                ngettext(
                    "Too many wrong codes. Wait %(seconds)d second and try again.",
                    "Too many wrong codes. Wait %(seconds)d seconds and try again.",
                    wait,
                )
                % {"seconds": wait},
                code="totp_rate_limited",
                retry_after=wait,
            )
        ok = locked.verify_token(token)
    if not ok:
        raise SignInError(
            _(
                "That authenticator code is not right. Check the time on your phone and "
                "enter the newest code."
            ),
            code="totp_invalid",
            field="totp",
        )
    device.refresh_from_db()


def authenticate_staff(
    username: str,
    password: str,
    totp: str,
    client_ip: str | None,
    *,
    trusted_keys: Collection[str] = (),
) -> StaffSignIn:
    """Check a staff member's password and, where they have or need one, their TOTP code.

    Patients are turned away: their accounts are reached only through the mobile code.

    Each try is counted as a failure before the (slow) password hash runs and given back
    if the password was right, so simultaneous tries cannot slip past the limit: with a
    limit of 10, 60 simultaneous wrong passwords run the hasher 10 times. Whether the
    username exists changes nothing a caller can see: the same ceilings, the same
    message, and the hasher runs either way (Django's ModelBackend hashes for unknown
    names too).
    """
    now = timezone.now()
    username = (username or "")[:150]
    trusted = trust.identity_key(trust.STAFF, username) in trusted_keys
    ceilings = password_ceilings(username, client_ip, trusted=trusted)
    wait = throttle.reserve(ceilings)
    throttle.prune_now_and_then(now)
    if wait:
        raise SignInError(
            password_wait_message(wait), code="password_rate_limited", retry_after=wait
        )
    user = authenticate(username=username, password=password)
    if user is None:
        record_event(
            None, "auth.staff_password_failed", ip=client_ip, detail={"username": username}
        )
        raise SignInError(_("Wrong username or password."), code="wrong_password", field="password")
    # The password was right: not a failure after all; this address starts afresh.
    pair, *shared = [ceiling.key for ceiling in ceilings]
    throttle.release(take_back=shared, forget=[pair])
    if user.role == Role.PATIENT and not (user.is_staff or user.is_superuser):
        raise SignInError(
            _("Patients sign in with their mobile number and a one-time code."),
            code="not_staff",
        )
    device = confirmed_device(user)
    if device is None:
        if requires_second_factor(user):
            record_event(user, "auth.staff_enrolment_required", obj=user, ip=client_ip)
            return StaffSignIn(user=user, device=None, needs_enrolment=True)
    else:
        try:
            verify_totp(device, totp)
        except SignInError:
            record_event(user, "auth.staff_totp_failed", obj=user, ip=client_ip)
            raise
    record_event(
        user,
        "auth.staff_sign_in",
        obj=user,
        ip=client_ip,
        detail={"second_factor": device is not None},
    )
    return StaffSignIn(user=user, device=device, needs_enrolment=False)


def start_totp_enrolment(user: User) -> TOTPDevice:
    """The unconfirmed device a staff member is setting up; the same one until confirmed,
    so reloading the page does not change the secret they are scanning."""
    with transaction.atomic():
        device = (
            TOTPDevice.objects.filter(user=user, confirmed=False).order_by("created_at").first()
        )
        if device is None:
            device = TOTPDevice.objects.create(
                user=user, name=_("Authenticator app"), confirmed=False
            )
    return device


def confirm_totp_enrolment(user: User, code: str, client_ip: str | None) -> TOTPDevice:
    """Confirm the pending device with its first code; from then on sign-in asks for it."""
    token = "".join((code or "").split())
    if not token.isdigit():
        raise SignInError(
            _("Enter the 6-digit code your authenticator app shows."),
            code="totp_required",
            field="totp",
        )
    with transaction.atomic():
        device = (
            TOTPDevice.objects.select_for_update()
            .filter(user=user, confirmed=False)
            .order_by("created_at")
            .first()
        )
        if device is None:
            raise SignInError(
                _("Start setting up your authenticator app again."), code="no_pending_device"
            )
        if not device.verify_token(token):
            raise SignInError(
                _(
                    "That code is not right. Check that your phone's clock is correct and "
                    "enter the newest code."
                ),
                code="totp_invalid",
                field="totp",
            )
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        record_event(user, "auth.totp_enrolled", obj=user, ip=client_ip)
    return device
