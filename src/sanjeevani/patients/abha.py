"""ABHA (Ayushman Bharat Health Account) number and address rules, from the ABDM specs.

The ABHA number's checksum is unconfirmed, so only its shape is checked.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

_ADDRESS = re.compile(r"^(?![0-9.])[A-Za-z0-9.]{3,}(?<!\.)@(abdm|sbx)$")


def normalise_abha_number(value: str) -> str:
    """Accept ``12-3456-7890-1234`` or 14 digits with spaces; return the 14 digits."""
    digits = re.sub(r"[\s-]", "", value or "")
    if not digits.isdigit() or len(digits) != 14:
        raise ValidationError(
            _("An ABHA number has 14 digits, written like 12-3456-7890-1234."), code="abha_number"
        )
    return digits


def format_abha_number(digits: str) -> str:
    if not digits:
        return ""
    return f"{digits[:2]}-{digits[2:6]}-{digits[6:10]}-{digits[10:14]}"


def validate_abha_address(value: str) -> str:
    """``name@abdm``: at least 4 characters of letters, digits and dots before the @,
    not starting with a digit or a dot, not ending with a dot."""
    value = (value or "").strip().lower()
    local = value.split("@", 1)[0]
    if not _ADDRESS.match(value) or len(local) < 4:
        raise ValidationError(
            _(
                "An ABHA address looks like name@abdm: at least 4 letters, digits or dots, "
                "not starting with a digit or a dot and not ending with a dot."
            ),
            code="abha_address",
        )
    return value
