"""Staff passwords: the ceilings on wrong tries (per username and address, and per username
from every address unless the device is trusted), checking a password again before a
signing act, and the one-time link a new staff member chooses their first password with."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import ngettext

from . import throttle
from .errors import SignInError
from .models import User


def password_ceilings(username: str, client_ip: str | None, *, trusted: bool) -> list:
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


def password_wait_message(seconds: int) -> str:
    return ngettext(
        "Too many wrong passwords for this account. Wait %(seconds)d second and try again.",
        "Too many wrong passwords for this account. Wait %(seconds)d seconds and try again.",
        seconds,
    ) % {"seconds": seconds}


def check_staff_password(user: User, password: str, client_ip: str | None) -> bool:
    """Check a signed-in staff member's password again (re-confirmation before a signing
    act), under the same ceilings as sign-in: counted in advance, given back when right.
    Raises ``SignInError`` with ``retry_after`` while the ceilings ask for a wait."""
    ceilings = password_ceilings(user.get_username(), client_ip, trusted=False)
    wait = throttle.reserve(ceilings)
    if wait:
        raise SignInError(
            password_wait_message(wait), code="password_rate_limited", retry_after=wait
        )
    ok = user.has_usable_password() and user.check_password(password)
    if ok:
        pair, *shared = [ceiling.key for ceiling in ceilings]
        throttle.release(take_back=shared, forget=[pair])
    return ok


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
