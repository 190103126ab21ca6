"""Re-confirming who is at the keyboard before an act that carries legal weight (a doctor
signing a prescription with their own key).

A signed-in session proves only that someone signed in earlier, perhaps on a shared clinic
computer. The doctor's signature must mean the doctor was there when it was made, so the
signing step asks again for the password or the current authenticator (TOTP) code.

Wrong answers count toward the same limits as staff sign-in (the password ceilings of
``check_staff_password`` and django-otp's throttling of a TOTP device), so re-confirmation
is no side door for guessing.
Call it before opening the transaction of the act it guards: a failure is recorded as an
audit row, and a rolled-back transaction would wipe the row the lockout counts.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from sanjeevani.audit.services import record_event

from .errors import SignInError
from .passwords import check_staff_password
from .staff_sign_in import confirmed_device, verify_totp


class ReauthenticationError(SignInError):
    """The re-confirmation failed; ``field`` is ``password`` or ``totp``, ``retry_after`` set
    when the only remedy is to wait."""


def _record_failure(user: Any, action: str, client_ip: str | None) -> None:
    record_event(user, action, obj=user, ip=client_ip, detail={"step": "reauthentication"})


def confirm_identity(
    user: Any,
    password: str | None = None,
    totp: str | None = None,
    *,
    client_ip: str | None = None,
) -> str:
    """Check ``user``'s password or, if they have an authenticator, their TOTP code.

    Returns the method that succeeded (``"password"`` or ``"totp"``). Raises
    ``ReauthenticationError`` with a message the person can act on: nothing given, wrong
    password, wrong code, or too many wrong answers (with ``retry_after``).
    """
    password = password or ""
    totp = "".join((totp or "").split())
    if not password and not totp:
        raise ReauthenticationError(
            _("Confirm it is you: enter your password or the code from your authenticator app."),
            code="reauthentication_required",
            field="password",
        )
    if totp:
        device = confirmed_device(user)
        if device is None:
            raise ReauthenticationError(
                _("You have no authenticator app set up; enter your password instead."),
                code="totp_not_enrolled",
                field="totp",
            )
        try:
            verify_totp(device, totp)
        except SignInError as exc:
            _record_failure(user, "auth.staff_totp_failed", client_ip)
            raise ReauthenticationError(
                exc.message, code=exc.code, field="totp", retry_after=exc.retry_after
            ) from exc
        return "totp"
    try:
        ok = check_staff_password(user, password, client_ip)
    except SignInError as exc:
        raise ReauthenticationError(
            exc.message, code=exc.code, field="password", retry_after=exc.retry_after
        ) from exc
    if not ok:
        _record_failure(user, "auth.staff_password_failed", client_ip)
        raise ReauthenticationError(
            _("That password is not right. Enter the password you sign in with."),
            code="wrong_password",
            field="password",
        )
    return "password"
