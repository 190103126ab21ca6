"""Sign-in: patients by mobile number and a one-time code, staff by password and TOTP.

Every limit is counted in the database (``OTPChallenge`` rows, ``SignInCounter`` rows),
not in a per-process cache, so it holds however many app nodes serve the same database.
Limits protect the person, not the attacker: what one address does is limited per
(number or username, address); the ceiling all addresses share only slows, with a bounded
wait, and never applies to a device the person signed in from before (``trust``).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import secrets
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

import phonenumbers
from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.tokens import default_token_generator
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django_otp.models import VerifyNotAllowed
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.authtoken.models import Token

from sanjeevani.audit.services import record_event

from . import throttle, trust
from .models import OTPChallenge, Role, User
from .policies import requires_second_factor
from .sms import SMSKind, send_sms

log = logging.getLogger(__name__)

HOUR = timedelta(hours=1)


class SignInError(Exception):
    """A sign-in step that did not go through, with a message the person can act on.

    ``field`` names the input at fault (for forms and API field errors); ``retry_after`` is
    set, in seconds, when the only remedy is to wait.
    """

    def __init__(
        self,
        message: str,
        *,
        code: str = "invalid",
        field: str | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.field = field
        self.retry_after = retry_after

    @property
    def is_rate_limit(self) -> bool:
        return self.retry_after is not None


# --- mobile numbers -------------------------------------------------------------------


def normalise_mobile(raw: str) -> str:
    """An Indian mobile number in E.164 form (``+919876543210``), or ``SignInError``."""
    text = (raw or "").strip()
    if not text:
        raise SignInError(_("Enter your mobile number."), code="invalid_mobile", field="mobile")
    example = _("Enter a 10-digit Indian mobile number, for example 98765 43210.")
    try:
        number = phonenumbers.parse(text, "IN")
    except phonenumbers.NumberParseException:
        raise SignInError(example, code="invalid_mobile", field="mobile") from None
    if number.country_code != 91:
        raise SignInError(
            _("Only Indian mobile numbers (+91) can be used here."),
            code="invalid_mobile",
            field="mobile",
        )
    if not phonenumbers.is_valid_number(number):
        raise SignInError(example, code="invalid_mobile", field="mobile")
    if phonenumbers.number_type(number) not in {
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    }:
        raise SignInError(
            _("That looks like a landline. Enter a mobile number that can receive SMS."),
            code="invalid_mobile",
            field="mobile",
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def display_mobile(e164: str) -> str:
    """The number as people read it: ``+91 98765 43210``."""
    try:
        number = phonenumbers.parse(e164, "IN")
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


# --- one-time codes -------------------------------------------------------------------


@dataclass(frozen=True)
class OTPSent:
    """``challenge`` identifies the code that was sent: the verify step names it, so wrong
    tries from elsewhere (which cannot know it) never use up this device's code."""

    mobile: str
    expires_in: int
    resend_after: int
    challenge: str = ""


def _code_hash(challenge_id: object, code: str) -> str:
    """HMAC of the code keyed by SECRET_KEY and salted by the challenge, so a leaked table
    row cannot be turned back into a code without the key."""
    message = f"{challenge_id}:{code}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()


def _seconds_until(moment: datetime, now: datetime) -> int:
    return max(1, math.ceil((moment - now).total_seconds()))


def _serialise_requests(mobile: str, client_ip: str | None) -> None:
    """Make concurrent requests for one number or address take turns, so counts stay true.

    SQLite already serialises writers (IMMEDIATE transactions); PostgreSQL takes
    transaction-scoped advisory locks, always number before address, so no two requests
    can wait on each other in a cycle.
    """
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(7301, hashtext(%s))", [mobile])
        if client_ip:
            cursor.execute("SELECT pg_advisory_xact_lock(7302, hashtext(%s))", [client_ip])


def _wait_message(seconds: int) -> str:
    return ngettext(
        "Please wait %(seconds)d second before asking for a new code.",
        "Please wait %(seconds)d seconds before asking for a new code.",
        seconds,
    ) % {"seconds": seconds}


def _minutes(seconds: int) -> int:
    return max(1, math.ceil(seconds / 60))


def _is_spent(challenge: OTPChallenge) -> bool:
    return challenge.consumed_at is not None or challenge.attempts >= settings.OTP_MAX_ATTEMPTS


def _check_request_limits(
    mobile: str, client_ip: str | None, now: datetime, *, trusted: bool
) -> None:
    """Refuse a new code, with how long to wait, or return.

    From one address (the pair): one code per resend interval (at once again if the last
    one was used up), ``OTP_MAX_PER_NUMBER_PER_HOUR`` an hour. From all addresses together
    (unless this device signed in as this number before): past ``OTP_NUMBER_FREE_PER_HOUR``
    an hour, an increasing wait after the newest code, capped at a few minutes, never a lock.
    From one address for all numbers: ``OTP_MAX_PER_CLIENT_PER_HOUR``, except for a number
    the device signed in as (one carrier-grade NAT can hold a whole district).
    """
    pair = OTPChallenge.objects.filter(mobile=mobile, client_ip=client_ip)
    latest = pair.order_by("-created_at").first()
    interval = timedelta(seconds=settings.OTP_RESEND_INTERVAL_SECONDS)
    if latest is not None and not _is_spent(latest) and latest.created_at + interval > now:
        wait = _seconds_until(latest.created_at + interval, now)
        raise SignInError(_wait_message(wait), code="resend_too_soon", retry_after=wait)

    recent = pair.filter(created_at__gt=now - HOUR)
    if recent.count() >= settings.OTP_MAX_PER_NUMBER_PER_HOUR:
        oldest = recent.order_by("created_at").values_list("created_at", flat=True).first()
        wait = _seconds_until(oldest + HOUR, now)
        raise SignInError(
            ngettext(
                "Too many codes were sent to this number. Try again in %(minutes)d minute.",
                "Too many codes were sent to this number. Try again in %(minutes)d minutes.",
                _minutes(wait),
            )
            % {"minutes": _minutes(wait)},
            code="number_rate_limited",
            retry_after=wait,
        )

    if trusted:
        return
    to_number = OTPChallenge.objects.filter(mobile=mobile, created_at__gt=now - HOUR)
    sent = to_number.count()
    if sent >= settings.OTP_NUMBER_FREE_PER_HOUR:
        delay = min(
            settings.OTP_NUMBER_BACKOFF_CAP_SECONDS,
            settings.OTP_RESEND_INTERVAL_SECONDS
            * 2 ** min(sent - settings.OTP_NUMBER_FREE_PER_HOUR, 16),
        )
        newest = to_number.order_by("-created_at").values_list("created_at", flat=True)[0]
        ready = newest + timedelta(seconds=delay)
        if ready > now:
            wait = _seconds_until(ready, now)
            raise SignInError(
                ngettext(
                    "Many codes were asked for this number just now. Please wait %(seconds)d "
                    "second before asking for a new one.",
                    "Many codes were asked for this number just now. Please wait %(seconds)d "
                    "seconds before asking for a new one.",
                    wait,
                )
                % {"seconds": wait},
                code="number_slowed",
                retry_after=wait,
            )

    if client_ip:
        from_client = OTPChallenge.objects.filter(client_ip=client_ip, created_at__gt=now - HOUR)
        if from_client.count() >= settings.OTP_MAX_PER_CLIENT_PER_HOUR:
            oldest = from_client.order_by("created_at").values_list("created_at", flat=True)[0]
            wait = _seconds_until(oldest + HOUR, now)
            raise SignInError(
                ngettext(
                    "Too many codes were asked for from this network. "
                    "Try again in %(minutes)d minute.",
                    "Too many codes were asked for from this network. "
                    "Try again in %(minutes)d minutes.",
                    _minutes(wait),
                )
                % {"minutes": _minutes(wait)},
                code="client_rate_limited",
                retry_after=wait,
            )


def _refuse_staff_username(mobile: str) -> None:
    """A patient account's username is its number; a staff account holding it must not be
    reachable by SMS alone."""
    holder = User.objects.filter(username=mobile).exclude(role=Role.PATIENT).first()
    if holder is not None:
        raise SignInError(
            _(
                "This number belongs to a staff account. Staff sign in with their username, "
                "password and authenticator code."
            ),
            code="staff_account",
            field="mobile",
        )


def request_otp(
    mobile: str, client_ip: str | None, *, trusted_keys: Collection[str] = ()
) -> OTPSent:
    """Send a fresh 6-digit code to ``mobile``, within the per-number and per-address limits.

    ``trusted_keys`` come from the device's cookie (``trust.trusted_keys``); a device that
    signed in as this number before is not slowed by requests from other addresses.

    The SMS goes as ``SMSKind.OTP``: never held back by the daily ceiling on notifications,
    and a failure is raised, because a patient waiting for a code must be told.
    """
    e164 = normalise_mobile(mobile)
    _refuse_staff_username(e164)
    code = f"{secrets.randbelow(10**settings.OTP_LENGTH):0{settings.OTP_LENGTH}d}"
    with transaction.atomic():
        _serialise_requests(e164, client_ip)
        now = timezone.now()
        trusted = trust.identity_key(trust.MOBILE, e164) in trusted_keys
        _check_request_limits(e164, client_ip, now, trusted=trusted)
        challenge = OTPChallenge(
            mobile=e164,
            client_ip=client_ip,
            expires_at=now + timedelta(seconds=settings.OTP_TTL_SECONDS),
        )
        challenge.code_hash = _code_hash(challenge.id, code)
        challenge.save()
        record_event(
            None, "auth.otp_requested", obj=challenge, ip=client_ip, detail={"mobile": e164}
        )

    minutes = _minutes(settings.OTP_TTL_SECONDS)
    body = ngettext(
        "%(code)s is your Sanjeevani sign-in code. It expires in %(minutes)d minute. "
        "Do not share it with anyone.",
        "%(code)s is your Sanjeevani sign-in code. It expires in %(minutes)d minutes. "
        "Do not share it with anyone.",
        minutes,
    ) % {"code": code, "minutes": minutes}
    try:
        send_sms(e164, body, kind=SMSKind.OTP)
    except Exception:
        log.exception("OTP SMS to %s could not be sent", e164)
        # A code nobody received must not hold back the next request.
        OTPChallenge.objects.filter(pk=challenge.pk).delete()
        raise SignInError(
            _("We could not send the SMS just now. Please try again in a minute."),
            code="sms_failed",
        ) from None
    return OTPSent(
        mobile=e164,
        expires_in=settings.OTP_TTL_SECONDS,
        resend_after=settings.OTP_RESEND_INTERVAL_SECONDS,
        challenge=str(challenge.pk),
    )


def _wrong_code_ceiling(e164: str) -> throttle.Ceiling:
    return throttle.Ceiling(
        throttle.counter_key("otp-number", e164),
        settings.OTP_NUMBER_FREE_WRONG_CODES,
        settings.OTP_WRONG_CODE_BACKOFF_CAP_SECONDS,
    )


def _parse_challenge_id(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


def verify_otp(
    mobile: str,
    code: str,
    client_ip: str | None,
    *,
    challenge_id: str | None = None,
    trusted_keys: Collection[str] = (),
) -> User:
    """Check ``code`` against the code this device asked for; on success return the patient
    account for that number, creating it on first sign-in.

    The code is the one named by ``challenge_id`` (given to whoever asked for it), or else
    the newest one asked for from this address: wrong tries from another address can never
    use up this device's code. Wrong tries for the number from all addresses together are
    slowed past ``OTP_NUMBER_FREE_WRONG_CODES``, except from a trusted device.
    """
    e164 = normalise_mobile(mobile)
    code = "".join((code or "").split())
    if not (code.isdigit() and len(code) == settings.OTP_LENGTH):
        raise SignInError(
            _("Enter the 6-digit code from the SMS."), code="invalid_code", field="code"
        )

    trusted = trust.identity_key(trust.MOBILE, e164) in trusted_keys
    wanted = _parse_challenge_id(challenge_id)
    failure: SignInError | None = None
    with transaction.atomic():
        now = timezone.now()
        counters: list = []
        if not trusted:
            wait, counters, now = throttle.wait_needed([_wrong_code_ceiling(e164)])
            if wait:
                raise SignInError(
                    ngettext(
                        "Many wrong codes were tried for this number. Wait %(seconds)d second "
                        "and try again.",
                        "Many wrong codes were tried for this number. Wait %(seconds)d seconds "
                        "and try again.",
                        wait,
                    )
                    % {"seconds": wait},
                    code="code_slowed",
                    field="code",
                    retry_after=wait,
                )
        mine = OTPChallenge.objects.select_for_update().filter(mobile=e164)
        mine = mine.filter(pk=wanted) if wanted else mine.filter(client_ip=client_ip)
        challenge = mine.order_by("-created_at").first()
        if challenge is None or challenge.consumed_at is not None:
            raise SignInError(
                _("No code is waiting for this number. Ask for a new one."),
                code="no_code",
                field="code",
            )
        if challenge.expires_at <= now:
            raise SignInError(
                _("That code has expired. Ask for a new one."), code="expired", field="code"
            )
        if challenge.attempts >= settings.OTP_MAX_ATTEMPTS:
            raise SignInError(
                _("Too many wrong tries for this code. Ask for a new one."),
                code="too_many_tries",
                field="code",
            )
        if not hmac.compare_digest(challenge.code_hash, _code_hash(challenge.id, code)):
            challenge.attempts += 1
            challenge.save(update_fields=["attempts"])
            throttle.count_failure(counters, now)
            left = settings.OTP_MAX_ATTEMPTS - challenge.attempts
            record_event(
                None,
                "auth.otp_failed",
                obj=challenge,
                ip=client_ip,
                detail={"mobile": e164, "tries_left": left},
            )
            if left > 0:
                message = ngettext(
                    "Wrong code. %(left)d try left.", "Wrong code. %(left)d tries left.", left
                ) % {"left": left}
            else:
                message = _("Wrong code. That was the last try: ask for a new code.")
            # Raised after the block commits, so the counted try is kept.
            failure = SignInError(message, code="wrong_code", field="code")
        else:
            challenge.consumed_at = now
            challenge.save(update_fields=["consumed_at"])
            user = _patient_account(e164)
            record_event(user, "auth.otp_sign_in", obj=user, ip=client_ip)
    if failure is not None:
        raise failure
    return user


def _patient_account(e164: str) -> User:
    user = User.objects.filter(role=Role.PATIENT, mobile=e164).first()
    if user is None:
        _refuse_staff_username(e164)
        user = User(username=e164, mobile=e164, role=Role.PATIENT)
        user.set_unusable_password()
        user.save()
        record_event(user, "auth.patient_account_created", obj=user)
    if not user.is_active:
        raise SignInError(
            _("This account has been switched off. Please contact the helpline."),
            code="account_disabled",
        )
    return user


# --- staff ----------------------------------------------------------------------------


def confirmed_device(user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("created_at").first()


@dataclass(frozen=True)
class StaffSignIn:
    """A staff member whose password was right. ``device`` is the TOTP device that
    verified them; ``needs_enrolment`` says they must set one up before going on."""

    user: User
    device: TOTPDevice | None
    needs_enrolment: bool


def _password_ceilings(username: str, client_ip: str | None, *, trusted: bool) -> list:
    """Per (username, address), and per username from every address unless this device
    signed in as this person before. Unknown usernames get exactly the same ceilings."""
    ceilings = [
        throttle.Ceiling(
            throttle.counter_key("pw-pair", username, client_ip),
            settings.STAFF_PASSWORD_FREE_FAILURES_PER_ADDRESS,
            settings.STAFF_PASSWORD_ADDRESS_BACKOFF_CAP_SECONDS,
        )
    ]
    if not trusted:
        ceilings.append(
            throttle.Ceiling(
                throttle.counter_key("pw-user", username),
                settings.STAFF_PASSWORD_FREE_FAILURES,
                settings.STAFF_PASSWORD_BACKOFF_CAP_SECONDS,
            )
        )
    return ceilings


def _password_wait_message(seconds: int) -> str:
    return ngettext(
        "Too many wrong passwords for this account. Wait %(seconds)d second and try again.",
        "Too many wrong passwords for this account. Wait %(seconds)d seconds and try again.",
        seconds,
    ) % {"seconds": seconds}


def check_staff_password(user: User, password: str, client_ip: str | None) -> bool:
    """Check a signed-in staff member's password again (re-confirmation before a signing
    act), under the same ceilings as sign-in: counted in advance, given back when right.
    Raises ``SignInError`` with ``retry_after`` while the ceilings ask for a wait."""
    ceilings = _password_ceilings(user.get_username(), client_ip, trusted=False)
    wait = throttle.reserve(ceilings)
    if wait:
        raise SignInError(
            _password_wait_message(wait), code="password_rate_limited", retry_after=wait
        )
    ok = user.has_usable_password() and user.check_password(password)
    if ok:
        pair, *shared = [ceiling.key for ceiling in ceilings]
        throttle.release(take_back=shared, forget=[pair])
    return ok


def _verify_totp(device: TOTPDevice, totp: str) -> None:
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
    ceilings = _password_ceilings(username, client_ip, trusted=trusted)
    wait = throttle.reserve(ceilings)
    throttle.prune_now_and_then(now)
    if wait:
        raise SignInError(
            _password_wait_message(wait), code="password_rate_limited", retry_after=wait
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
            _verify_totp(device, totp)
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


# --- API tokens -----------------------------------------------------------------------


def issue_api_token(user: User, client_ip: str | None) -> Token:
    """The bearer token a mobile app keeps; one per account, reused until signed out."""
    with transaction.atomic():
        token, _created = Token.objects.get_or_create(user=user)
        record_event(user, "auth.api_token_issued", obj=user, ip=client_ip)
    return token


def sign_out(user: User, client_ip: str | None, *, revoke_token: bool) -> None:
    """Record the sign-out; from an app, also delete its bearer token so it stops working."""
    with transaction.atomic():
        if revoke_token:
            Token.objects.filter(user=user).delete()
        record_event(user, "auth.sign_out", obj=user, ip=client_ip)


def set_password_path(user: User) -> str:
    """A one-time link (Django's reset token: void once used or once the password changes)
    that lets a newly onboarded staff member choose their own first password."""
    return reverse(
        "accounts:set_password",
        args=[
            urlsafe_base64_encode(force_bytes(user.pk)),
            default_token_generator.make_token(user),
        ],
    )
