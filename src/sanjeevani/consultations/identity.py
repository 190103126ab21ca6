"""Who the patient is: the doctor confirms the identity and age before prescribing, as the
Telemedicine Practice Guidelines ask."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from sanjeevani.audit.services import record_event

from .models import Consultation
from .states import locked, require_doctor_of, require_open


def identity_confirmed(consultation: Consultation) -> bool:
    """Whether the doctor has confirmed who the patient is and their age (the Telemedicine
    Practice Guidelines ask for it before a prescription is issued)."""
    return (
        consultation.identity_confirmed_at is not None
        and consultation.confirmed_age_years is not None
    )


def confirm_identity(
    doctor_user: Any, consultation: Consultation, method: str, age_years: int
) -> Consultation:
    """Record how the doctor confirmed the patient's identity and the age they confirmed."""
    require_doctor_of(doctor_user, consultation)
    method = (method or "").strip()
    errors = {}
    if not method:
        errors["method"] = _(
            "Say how you confirmed the identity (e.g. name and age asked, ID seen)."
        )
    elif len(method) > 120:
        errors["method"] = _("Keep the method under 120 characters.")
    try:
        age = int(age_years)
        if not 0 <= age <= 130:
            raise ValueError
    except (TypeError, ValueError):
        errors["age_years"] = _("Enter the age in whole years, from 0 to 130.")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        consultation = locked(consultation)
        require_open(consultation)
        consultation.identity_confirmed_at = timezone.now()
        consultation.identity_method = method
        consultation.confirmed_age_years = age
        if not consultation.consent:
            consultation.consent = "implied"
            consultation.consent_recorded_at = consultation.identity_confirmed_at
        consultation.save(
            update_fields=[
                "identity_confirmed_at",
                "identity_method",
                "confirmed_age_years",
                "consent",
                "consent_recorded_at",
            ]
        )
        record_event(
            doctor_user,
            "consultation.identity_confirmed",
            obj=consultation,
            patient_id=consultation.patient_id,
            detail={"method": method, "age_years": age, "profile_age": consultation.patient.age},
        )
    return consultation
