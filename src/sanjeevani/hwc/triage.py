# ruff: noqa: E501  (a table reads best one row per line)
"""The health worker's vitals: impossible values are refused (``consultations.record``
holds the ranges every vitals form shares), dangerous ones make the case urgent.

Danger signs are the adult referral thresholds of the Ministry's Community Health Officer
training modules and the WHO IMCI/IMAI charts: a centre that records one must not let the
case wait behind routine ones. Children under 5 breathe faster, so their breathing limit
is their own (IMCI fast-breathing/severe pneumonia band)."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from sanjeevani.consultations.record import check_vitals


@dataclass(frozen=True)
class DangerSign:
    vital: str
    comparison: str  # "below" or "above"
    threshold: float
    message: object
    max_age_years: int | None = None
    min_age_years: int | None = None

    def applies(self, value: float, age_years: int | None) -> bool:
        if self.max_age_years is not None and (age_years is None or age_years > self.max_age_years):
            return False
        if (
            self.min_age_years is not None
            and age_years is not None
            and age_years < self.min_age_years
        ):
            return False
        return value < self.threshold if self.comparison == "below" else value > self.threshold


DANGER_SIGNS: tuple[DangerSign, ...] = (
    DangerSign("spo2", "below", 90, _("SpO₂ below 90% (low oxygen)")),
    DangerSign("bp_systolic", "above", 179, _("Systolic pressure 180 mmHg or more")),
    DangerSign("bp_systolic", "below", 90, _("Systolic pressure below 90 mmHg (shock?)"), min_age_years=12),
    DangerSign("bp_diastolic", "above", 119, _("Diastolic pressure 120 mmHg or more")),
    DangerSign("pulse", "above", 130, _("Pulse above 130/min"), min_age_years=12),
    DangerSign("pulse", "below", 40, _("Pulse below 40/min")),
    DangerSign("respiratory_rate", "above", 30, _("Breathing faster than 30/min"), min_age_years=5),
    DangerSign("respiratory_rate", "above", 50, _("Child under 5 breathing faster than 50/min"), max_age_years=4),
    DangerSign("respiratory_rate", "below", 8, _("Breathing slower than 8/min")),
    DangerSign("temperature_c", "above", 39.9, _("Temperature 40 °C (104 °F) or more")),
    DangerSign("temperature_c", "below", 35, _("Temperature below 35 °C (hypothermia)")),
    DangerSign("glucose_mg_dl", "below", 60, _("Blood glucose below 60 mg/dL")),
    DangerSign("glucose_mg_dl", "above", 400, _("Blood glucose above 400 mg/dL")),
)  # fmt: skip


def check_case_vitals(raw: dict, age_years: int | None) -> tuple[dict, dict[str, str], list[str]]:
    """(vitals to store, a message per refused field, the danger signs found). Empty
    fields are left out; an impossible value is refused, never stored."""
    present = {k: v for k, v in (raw or {}).items() if v not in (None, "")}
    cleaned, errors = check_vitals(present)
    danger = [
        str(sign.message)
        for sign in DANGER_SIGNS
        if sign.vital in cleaned and sign.applies(float(cleaned[sign.vital]), age_years)
    ]
    return cleaned, errors, danger
