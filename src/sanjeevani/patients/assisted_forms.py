"""Forms of the operator's pages: registering a patient, and the consent every step needs."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from .assisted import Consent, default_statement
from .forms import PatientForm
from .models import AssistedAction


class ConsentForm(forms.Form):
    """The consent to one step: the statement read to the patient (or their own words),
    who gave it, and the operator's tick that they agreed."""

    consent_statement = forms.CharField(
        label=_("Consent statement"),
        required=False,
        max_length=2000,
        help_text=_("Read this to the patient in their language, or write their own words."),
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    consent_given_by = forms.CharField(
        label=_("Consent given by"),
        required=False,
        max_length=150,
        help_text=_("The patient's name, or the relative or guardian who consented for them."),
    )
    consent_agreed = forms.BooleanField(
        label=_("The patient (or their guardian) heard this statement and agreed"),
        required=False,
    )

    def __init__(
        self,
        *args: Any,
        kind: str = AssistedAction.Kind.REGISTERED,
        language: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        # Read to the patient, so in the patient's language when it has a translation.
        with translation.override(language or translation.get_language()):
            self.fields["consent_statement"].initial = default_statement(kind)

    @property
    def consent_fields(self) -> list[forms.BoundField]:
        """The consent's fields, for the page to show as one group."""
        return [self[name] for name in ConsentForm.base_fields]

    def consent(self) -> Consent:
        data = self.cleaned_data
        return Consent(
            bool(data.get("consent_agreed")),
            data.get("consent_statement") or "",
            data.get("consent_given_by") or "",
        )

    def add_service_errors(self, error: Any) -> None:
        if hasattr(error, "error_dict"):
            for field, errors in error.message_dict.items():
                self.add_error(field if field in self.fields else None, errors)
        else:
            self.add_error(None, error.messages)


class AssistedRegistrationForm(ConsentForm, PatientForm):
    """A new patient under their own or a relative's mobile number, with their consent."""

    mobile = forms.CharField(
        label=_("Mobile number"),
        required=False,
        max_length=20,
        help_text=_("The patient's own, or a relative's who will receive the SMS."),
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
    )

    field_order = ["mobile", "relation", "name"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, kind=AssistedAction.Kind.REGISTERED, **kwargs)
        self.fields["relation"].label = _("The patient is the number's owner, or their")

    def patient_data(self) -> dict[str, Any]:
        consent_fields = set(ConsentForm.base_fields) | {"mobile"}
        return {k: v for k, v in self.cleaned_data.items() if k not in consent_fields}
