"""Two steps of the hub doctor's consultation that join services of ``hwc.services`` and
``consultations`` in one transaction: refer and end as "referred", and ask the spoke for a
follow-up in N days (through the record service, so the record's revision and audit hold)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from sanjeevani.audit.services import record_event
from sanjeevani.consultations import services as consultations
from sanjeevani.consultations.models import Consultation
from sanjeevani.registry.models import Facility

from . import services as hwc
from .models import Referral

#: The longest follow-up a hub doctor can ask the spoke for.
MAX_FOLLOW_UP_DAYS = 90


def refer_and_end(
    doctor_user: Any,
    consultation: Consultation,
    to_facility: Facility,
    reason: str,
    urgency: str,
    end: bool = True,
) -> Referral:
    """Refer the patient (``hwc.services.refer_patient``) and, unless ``end`` is off, end
    the consultation as ``referred``: both or neither."""
    with transaction.atomic():
        referral = hwc.refer_patient(doctor_user, consultation, to_facility, reason, urgency)
        if end:
            consultation.refresh_from_db()
            consultations.end_consultation(doctor_user, consultation, Consultation.Outcome.REFERRED)
    return referral


def follow_up_days(value: Any) -> int:
    try:
        days = int(str(value).strip())
    except (TypeError, ValueError):
        raise ValidationError({"days": _("Enter the number of days, e.g. 7.")}) from None
    if not 1 <= days <= MAX_FOLLOW_UP_DAYS:
        raise ValidationError(
            {"days": _("Enter from 1 to %(max)d days.") % {"max": MAX_FOLLOW_UP_DAYS}}
        )
    return days


def ask_follow_up(
    doctor_user: Any, consultation: Consultation, days: Any, today: dt.date | None = None
) -> Consultation:
    """Ask the spoke to bring the patient back in ``days`` days: the record's
    ``follow_up_on`` (the centre's case list shows it), through the record service."""
    count = follow_up_days(days)
    on = (today or timezone.localdate()) + dt.timedelta(days=count)
    with transaction.atomic():
        current = Consultation.objects.select_for_update().get(pk=consultation.pk)
        saved = consultations.save_clinical_record(
            doctor_user, current, {"follow_up_on": on.isoformat()}, current.record_revision
        )
        record_event(
            doctor_user,
            "hwc.follow_up_asked",
            obj=saved,
            patient_id=saved.patient_id,
            detail={"days": count, "on": on.isoformat(), "spoke": str(saved.spoke_id)},
        )
    return saved
