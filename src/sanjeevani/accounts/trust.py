"""Trusted devices: the browser or app a person signed in from before.

After a successful sign-in the response carries a signed, HttpOnly cookie naming (by a
keyed hash) the mobile number or username that signed in. While it is valid, tries from
that device for that person are not slowed by the ceiling every address shares, so an
attacker hammering a number or username from elsewhere cannot keep the real patient or
doctor out. The cookie opens nothing by itself: the code, password and authenticator are
still asked for, and the per-address limits still apply to the device.
"""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.utils.crypto import salted_hmac

_SALT = "sanjeevani.accounts.trusted-device"
#: People remembered per device (a family phone signs in with several numbers).
MAX_PEOPLE_PER_DEVICE = 5

MOBILE = "mobile"
STAFF = "staff"


def identity_key(kind: str, value: str) -> str:
    """The keyed hash a cookie holds for one person (``kind`` is ``MOBILE`` or ``STAFF``)."""
    return salted_hmac(_SALT, f"{kind}:{value}", algorithm="sha256").hexdigest()[:32]


def _max_age() -> int:
    return settings.TRUSTED_DEVICE_DAYS * 24 * 60 * 60


def _cookie_keys(request: HttpRequest) -> list[str]:
    raw = request.COOKIES.get(settings.TRUSTED_DEVICE_COOKIE)
    if not raw:
        return []
    try:
        keys = signing.loads(raw, salt=_SALT, max_age=_max_age())
    except signing.BadSignature:
        return []
    if not isinstance(keys, list):
        return []
    return [key for key in keys if isinstance(key, str)]


def trusted_keys(request: HttpRequest) -> frozenset[str]:
    """The people this device has signed in as, from a cookie that is signed and unexpired."""
    return frozenset(_cookie_keys(request))


def remember_device(request: HttpRequest, response: HttpResponse, kind: str, value: str) -> None:
    """Add this person to the device's cookie (newest first) and renew it."""
    key = identity_key(kind, value)
    keys = [key, *(k for k in _cookie_keys(request) if k != key)]
    response.set_cookie(
        settings.TRUSTED_DEVICE_COOKIE,
        signing.dumps(keys[:MAX_PEOPLE_PER_DEVICE], salt=_SALT, compress=True),
        max_age=_max_age(),
        httponly=True,
        secure=settings.SESSION_COOKIE_SECURE,
        samesite="Lax",
    )
