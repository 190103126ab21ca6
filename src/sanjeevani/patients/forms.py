"""The family-profile form. It only checks input shapes; the rules live in ``services``."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import get_language_info
from django.utils.translation import gettext_lazy as _

from sanjeevani.registry.models import District, State

from .abha import format_abha_number
from .models import Patient


def language_choices() -> list[tuple[str, str]]:
    """Each language in its own script first, so a reader finds theirs without English."""
    choices = []
    for code, name in settings.LANGUAGES:
        try:
            local = get_language_info(code)["name_local"]
        except KeyError:
            local = str(name)
        label = local if local == str(name) else f"{local} ({name})"
        choices.append((code, label))
    return choices


def district_choices() -> list[tuple[str, Any]]:
    """Districts grouped by state name; the page's script shows only the chosen state's."""
    groups: dict[str, list[tuple[int, str]]] = {}
    for district in District.objects.select_related("state").order_by("state__name", "name"):
        groups.setdefault(district.state.name, []).append((district.pk, district.name))
    return [("", _("Choose your district")), *groups.items()]


class PatientForm(forms.Form):
    name = forms.CharField(
        label=_("Full name"),
        max_length=150,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    relation = forms.ChoiceField(
        label=_("Relation to you"), choices=Patient.Relation.choices, required=False
    )
    date_of_birth = forms.DateField(
        label=_("Date of birth"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": _("Enter the date of birth as a date, like 2015-06-30.")},
    )
    age_years = forms.IntegerField(
        label=_("Or age in years"),
        required=False,
        help_text=_("Only if you do not know the date of birth."),
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "min": 0, "max": 120}),
        error_messages={"invalid": _("Enter the age as a whole number of years.")},
    )
    sex = forms.ChoiceField(
        label=_("Sex"), choices=Patient.Sex.choices, required=False, widget=forms.RadioSelect
    )
    state = forms.ChoiceField(label=_("State or union territory"), required=False)
    district = forms.ChoiceField(label=_("District"), required=False)
    address = forms.CharField(
        label=_("Village / address"),
        required=False,
        max_length=300,
        help_text=_("Printed on prescriptions, as the Telemedicine Practice Guidelines ask."),
        widget=forms.TextInput(attrs={"autocomplete": "street-address"}),
    )
    preferred_language = forms.ChoiceField(label=_("Preferred language"), required=False)
    abha_number = forms.CharField(
        label=_("ABHA number (optional)"),
        required=False,
        max_length=20,
        help_text=_("14 digits, like 12-3456-7890-1234."),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    abha_address = forms.CharField(
        label=_("ABHA address (optional)"),
        required=False,
        max_length=100,
        help_text=_("Like name@abdm."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "none"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        states = State.objects.order_by("name").values_list("pk", "name")
        self.fields["state"].choices = [("", _("Choose your state")), *states]
        self.fields["district"].choices = district_choices()
        self.fields["preferred_language"].choices = language_choices()

    @classmethod
    def initial_for(cls, patient: Patient) -> dict[str, Any]:
        return {
            "name": patient.name,
            "relation": patient.relation,
            "date_of_birth": patient.date_of_birth,
            "age_years": patient.age_years,
            "sex": patient.sex,
            "state": patient.state_id,
            "district": patient.district_id,
            "address": patient.address,
            "preferred_language": patient.preferred_language,
            "abha_number": format_abha_number(patient.abha_number),
            "abha_address": patient.abha_address,
        }

    def add_service_errors(self, error: ValidationError) -> None:
        """Show a service's errors next to the fields they are about."""
        if hasattr(error, "error_dict"):
            for field, errors in error.message_dict.items():
                self.add_error(field if field in self.fields else None, errors)
        else:
            self.add_error(None, error.messages)
