"""The family tie: one mobile-number account holds a family of patient profiles, and its
holder acts for all of them (takes tokens, answers calls, uploads documents, gives
feedback). The one definition of that tie: the queue asks it for tokens, and the care-team
policy (``consultations.care_team``, a layer above) builds its ``family`` tie on it.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from .models import Patient


def is_account_holder(user: Any, patient: Patient) -> bool:
    """Whether ``user`` is the signed-in, active holder of the account ``patient`` is in."""
    return bool(
        getattr(user, "is_authenticated", False)
        and getattr(user, "is_active", False)
        and patient.account_id == user.pk
    )


def require_account_holder(user: Any, patient: Patient) -> None:
    if not is_account_holder(user, patient):
        raise PermissionDenied(_("You can act only for the profiles of your own family."))
