"""Forms of the workspace pages: they parse and check input; the services decide."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from sanjeevani.consultations.models import Consultation


class IdentityForm(forms.Form):
    method = forms.CharField(
        label=_("How was the identity confirmed?"),
        max_length=120,
        initial=_("Name, age and mobile number confirmed on video"),
    )
    age_years = forms.IntegerField(label=_("Age confirmed (years)"), min_value=0, max_value=130)


class EndConsultationForm(forms.Form):
    outcome = forms.ChoiceField(
        label=_("Outcome"),
        choices=[
            (Consultation.Outcome.PRESCRIPTION, Consultation.Outcome.PRESCRIPTION.label),
            (Consultation.Outcome.ADVICE_ONLY, Consultation.Outcome.ADVICE_ONLY.label),
            (Consultation.Outcome.REFERRED, Consultation.Outcome.REFERRED.label),
            (Consultation.Outcome.NO_SHOW, Consultation.Outcome.NO_SHOW.label),
        ],
    )


class PresenceForm(forms.Form):
    action = forms.ChoiceField(
        choices=[
            ("online", _("Go online")),
            ("break", _("Take a break")),
            ("offline", _("Go offline")),
        ]
    )
    opd = forms.UUIDField(required=False)
    auto_assign = forms.BooleanField(required=False)


class RecordForm(forms.Form):
    """The clinical record as the editor autosaves it; every field optional."""

    base_revision = forms.IntegerField(min_value=0)
    complaints = forms.CharField(required=False, max_length=5000)
    history = forms.CharField(required=False, max_length=5000)
    findings = forms.CharField(required=False, max_length=5000)
    investigations = forms.CharField(required=False, max_length=5000)
    advice = forms.CharField(required=False, max_length=5000)
    referral = forms.CharField(required=False, max_length=2000)
    follow_up_on = forms.DateField(required=False)
    vitals = forms.JSONField(required=False)
    diagnoses = forms.JSONField(required=False)


PRESCRIPTION_FIELDS = (
    "medicine_id",
    "name",
    "form",
    "strength",
    "dose",
    "frequency",
    "route",
    "duration",
    "quantity",
    "instructions",
)


def prescription_items(data, limit: int = 30) -> list[dict]:
    """The medicine rows of the prescription form (``item-<n>-<field>``), blank rows dropped.

    A row chosen from the catalogue carries ``medicine_id``; a typed name is free entry.
    """
    items = []
    for index in range(limit):
        row = {f: (data.get(f"item-{index}-{f}") or "").strip() for f in PRESCRIPTION_FIELDS}
        if not row["name"] and not row["medicine_id"]:
            continue
        items.append(
            {
                "medicine": row["medicine_id"] or None,
                "generic_name": row["name"][:120],
                "form": row["form"][:60],
                "strength": row["strength"][:80],
                "dose": row["dose"][:80],
                "frequency": row["frequency"][:80],
                "route": row["route"][:40],
                "duration": row["duration"][:60],
                "quantity": row["quantity"][:60],
                "instructions": row["instructions"][:300],
            }
        )
    return items
