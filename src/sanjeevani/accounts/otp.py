"""Patient sign-in by mobile number and a one-time code sent by SMS.

Every limit is counted in the database (``OTPChallenge`` rows, ``SignInCounter`` rows),
not in a per-process cache, so it holds however many app nodes serve the same database.
Limits protect the person, not the attacker: what one address does is limited per
(number, address); the ceiling all addresses share only slows, with a bounded wait, and
never applies to a device the person signed in from before (``trust``).
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

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from sanjeevani.audit.services import record_event
from sanjeevani.config.compiled_queries import CompiledQuery, Slot

from . import throttle, trust
from .errors import SignInError
from .mobile_numbers import normalise_mobile
from .models import OTPChallenge, Role, User
from .sms import SMSKind, send_sms

log = logging.getLogger(__name__)

HOUR = timedelta(hours=1)


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
        if client_ip:
            # One round trip. Every request takes both in this one statement, so they are
            # taken in the same order by all (no two can wait on each other in a cycle).
            cursor.execute(
                "SELECT pg_advisory_xact_lock(7301, hashtext(%s)), "
                "pg_advisory_xact_lock(7302, hashtext(%s))",
                [mobile, client_ip],
            )
        else:
            cursor.execute("SELECT pg_advisory_xact_lock(7301, hashtext(%s))", [mobile])


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


def _codes_in_the_last_hour(mobile: str, client_ip: str | None, now: datetime) -> dict[str, int]:
    """The last hour's codes from this address to this number (``pair``), to this number
    from anywhere (``number``) and from this address to any number (``address``): one
    read, where three counts each cost a round trip."""
    pair = Q(mobile=mobile, client_ip=client_ip)
    number = Q(mobile=mobile)
    counted = {"pair": Count("pk", filter=pair), "number": Count("pk", filter=number)}
    scope = number
    if client_ip:
        address = Q(client_ip=client_ip)
        counted["address"] = Count("pk", filter=address)
        scope |= address
    return OTPChallenge.objects.filter(scope, created_at__gt=now - HOUR).aggregate(**counted)


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

    counts = _codes_in_the_last_hour(mobile, client_ip, now)
    if counts["pair"] >= settings.OTP_MAX_PER_NUMBER_PER_HOUR:
        recent = pair.filter(created_at__gt=now - HOUR)
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
    sent = counts["number"]
    if sent >= settings.OTP_NUMBER_FREE_PER_HOUR:
        to_number = OTPChallenge.objects.filter(mobile=mobile, created_at__gt=now - HOUR)
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

    if client_ip and counts["address"] >= settings.OTP_MAX_PER_CLIENT_PER_HOUR:
        from_client = OTPChallenge.objects.filter(client_ip=client_ip, created_at__gt=now - HOUR)
        oldest = from_client.order_by("created_at").values_list("created_at", flat=True)[0]
        wait = _seconds_until(oldest + HOUR, now)
        raise SignInError(
            ngettext(
                "Too many codes were asked for from this network. Try again in %(minutes)d minute.",
                "Too many codes were asked for from this network. "
                "Try again in %(minutes)d minutes.",
                _minutes(wait),
            )
            % {"minutes": _minutes(wait)},
            code="client_rate_limited",
            retry_after=wait,
        )


#: Each sign-in and each registration under a number asks both; compiled once per connection.
_staff_with_username = CompiledQuery(
    lambda: (
        User.objects.filter(username=Slot("username", User._meta.get_field("username")))
        .exclude(role=Role.PATIENT)
        .order_by("pk")[:1]
    )
)
_patient_with_mobile = CompiledQuery(
    lambda: User.objects.filter(
        role=Role.PATIENT, mobile=Slot("mobile", User._meta.get_field("mobile"))
    ).order_by("pk")[:1]
)


def _refuse_staff_username(mobile: str) -> None:
    """A patient account's username is its number; a staff account holding it must not be
    reachable by SMS alone."""
    if _staff_with_username(username=mobile):
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


def patient_account_for(e164: str) -> User:
    """The mobile number's patient account, opened if new: by its first sign-in, or by a
    health worker registering a patient under their own or a family member's number."""
    return _patient_account(e164)


def _patient_account(e164: str) -> User:
    found = _patient_with_mobile(mobile=e164)
    user = found[0] if found else None
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
