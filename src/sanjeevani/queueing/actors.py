"""Who is acting on the queue: a signed-in doctor, or the account holder of a family."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from sanjeevani.accounts.models import Role
from sanjeevani.patients.family import is_assisting_operator, require_account_holder
from sanjeevani.patients.models import Patient
from sanjeevani.registry.models import DoctorProfile
from sanjeevani.registry.selectors import doctor_profile_of


def doctor_of(user: Any) -> DoctorProfile:
    """The doctor profile of a signed-in doctor; anyone else is refused."""
    if getattr(user, "role", None) != Role.DOCTOR:
        raise PermissionDenied(_("Only a doctor can do this."))
    profile = doctor_profile_of(user)
    if profile is None:
        raise PermissionDenied(_("Your doctor profile is missing; ask your administrator."))
    return profile


def check_family(actor: Any, patient: Patient) -> None:
    """Only the account holder of a family acts for its tokens (``patients.family``, the
    tie the care-team policy's ``family`` is built on), or an operator assisting the
    patient (``patients.family.is_assisting_operator``: one they registered), whose
    workflows (``opd.assisted``) record the patient's consent in the same transaction."""
    if is_assisting_operator(actor, patient):
        return
    require_account_holder(actor, patient)
