"""Indian mobile numbers: the E.164 form accounts are keyed on, and the form people read."""

from __future__ import annotations

import phonenumbers
from django.utils.translation import gettext as _

from .errors import SignInError


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
