"""Sign-in: patients by mobile number and a one-time code, staff by password and TOTP.

Every limit is counted in the database (``OTPChallenge`` rows, ``SignInCounter`` rows),
not in a per-process cache, so it holds however many app nodes serve the same database.
Limits protect the person, not the attacker: what one address does is limited per
(number or username, address); the ceiling all addresses share only slows, with a bounded
wait, and never applies to a device the person signed in from before (``trust``).

The services live by concern and are re-exported here, one address for callers:
``mobile_numbers``, ``otp`` (patients), ``passwords`` and ``staff_sign_in`` (staff),
``api_tokens`` (apps: one token per signed-in device), ``errors`` (``SignInError``).
"""

from .api_tokens import (
    IssuedToken,
    device_label,
    issue_api_token,
    revoke_device,
    sign_out,
    sign_out_everywhere,
)
from .errors import SignInError
from .mobile_numbers import display_mobile, normalise_mobile
from .otp import OTPSent, request_otp, verify_otp
from .passwords import check_staff_password, set_password_path
from .staff_sign_in import (
    StaffSignIn,
    authenticate_staff,
    confirm_totp_enrolment,
    confirmed_device,
    start_totp_enrolment,
    verify_totp,
)

__all__ = [
    "IssuedToken",
    "OTPSent",
    "SignInError",
    "StaffSignIn",
    "authenticate_staff",
    "check_staff_password",
    "confirm_totp_enrolment",
    "confirmed_device",
    "device_label",
    "display_mobile",
    "issue_api_token",
    "normalise_mobile",
    "request_otp",
    "revoke_device",
    "set_password_path",
    "sign_out",
    "sign_out_everywhere",
    "start_totp_enrolment",
    "verify_otp",
    "verify_totp",
]
