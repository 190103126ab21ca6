"""Forms of the centre's pages: they parse and render; ``services`` decides. A service's
``ValidationError`` by field is put back on the form (``add_service_errors``) so each
message stands next to the field it is about (a vital sign's beside that vital)."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from sanjeevani.accounts.errors import SignInError
from sanjeevani.accounts.mobile_numbers import normalise_mobile
from sanjeevani.consultations.record import VITAL_LABELS, VITAL_RANGES
from sanjeevani.patients.models import Patient
from sanjeevani.registry.models import District, Facility, HubSpokeLink, Specialty

from .complaints import COMPLAINTS
from .models import Case, CaseAttachment
from .triage import check_case_vitals

#: The vitals of the case form, in the order a health worker takes them.
CASE_VITALS = (
    "temperature_c",
    "pulse",
    "bp_systolic",
    "bp_diastolic",
    "respiratory_rate",
    "spo2",
    "glucose_mg_dl",
    "weight_kg",
    "height_cm",
)


def clean_mobile(value: str) -> str:
    """The mobile number in E.164 form. ``hwc.services.register_patient`` expects a
    ``ValidationError`` from ``normalise_mobile``, which raises ``SignInError``: checked
    here first so that a mistyped number is a message, not a server error."""
    try:
        return normalise_mobile(value)
    except (SignInError, ValidationError) as error:
        raise ValidationError(str(getattr(error, "message", error))) from None


def vital_field_name(vital: str) -> str:
    return f"vital_{vital}"


class FindPatientForm(forms.Form):
    q = forms.CharField(
        label=_("Mobile number, patient ID or ABHA number"),
        max_length=40,
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "search"}),
    )


class RegisterPatientForm(forms.Form):
    name = forms.CharField(label=_("Full name"), max_length=150)
    age_years = forms.IntegerField(
        label=_("Age in years"), min_value=0, max_value=120, required=False
    )
    date_of_birth = forms.DateField(
        label=_("Date of birth (if known)"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    sex = forms.ChoiceField(label=_("Sex"), choices=Patient.Sex.choices, widget=forms.RadioSelect)
    mobile = forms.CharField(
        label=_("Mobile number"),
        max_length=16,
        help_text=_("No phone? Use a family member's number and say whose below."),
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
    )
    relation = forms.ChoiceField(
        label=_("Whose number is it?"),
        choices=Patient.Relation.choices,
        initial=Patient.Relation.SELF,
        help_text=_("'Self' when it is the patient's own phone."),
    )
    address = forms.CharField(label=_("Village / address"), max_length=200, required=False)
    district = forms.ModelChoiceField(label=_("District"), queryset=District.objects.none())
    preferred_language = forms.ChoiceField(
        label=_("Language the patient speaks best"), choices=settings.LANGUAGES
    )
    abha_number = forms.CharField(label=_("ABHA number (optional)"), max_length=17, required=False)
    different_person = forms.BooleanField(
        label=_("I have checked: this is a different person from those listed above"),
        required=False,
    )

    def __init__(self, *args: Any, centre: Facility, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["district"].queryset = District.objects.filter(state=centre.state_id)
        self.fields["district"].initial = centre.district_id

    def clean_mobile(self) -> str:
        return clean_mobile(self.cleaned_data["mobile"])

    def patient_data(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "name": data["name"],
            "age_years": data.get("age_years"),
            "date_of_birth": data.get("date_of_birth"),
            "sex": data["sex"],
            "relation": data["relation"],
            "address": data.get("address", ""),
            "district": data["district"].pk if data.get("district") else None,
            "preferred_language": data["preferred_language"],
            "abha_number": data.get("abha_number", ""),
        }


def specialty_choices(centre: Facility) -> list[tuple[str, str]]:
    """The specialties the centre's hub links offer (all of them if it has none yet)."""
    linked = Specialty.objects.filter(
        pk__in=HubSpokeLink.objects.filter(spoke=centre, active=True).values("specialties")
    )
    specialties = linked if linked.exists() else Specialty.objects.all()
    return [("", _("Choose a specialty"))] + [
        (s.code, s.name) for s in specialties.order_by("name")
    ]


class CaseForm(forms.Form):
    """The case as the CHO writes it. ``client_key`` is made when the form opens (the
    offline draft keeps it) so that a case sent twice is one case."""

    client_key = forms.UUIDField(widget=forms.HiddenInput)
    complaints = forms.MultipleChoiceField(
        label=_("Chief complaints"),
        choices=list(COMPLAINTS.items()),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    complaint_text = forms.CharField(
        label=_("Complaints in the patient's words"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    history = forms.CharField(
        label=_("History"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    specialty = forms.ChoiceField(label=_("Specialty to ask"))
    mode = forms.ChoiceField(
        label=_("How should the doctor see the patient?"),
        choices=Case.Mode.choices,
        initial=Case.Mode.LIVE,
        widget=forms.RadioSelect,
    )
    identity_method = forms.CharField(
        label=_("How did you check who the patient is?"),
        max_length=120,
        help_text=_("For example: Aadhaar card seen, known to the centre, ASHA vouched."),
    )
    consent_by = forms.ChoiceField(
        label=_("Consent given by"),
        choices=Case.ConsentBy.choices,
        initial=Case.ConsentBy.PATIENT,
        widget=forms.RadioSelect,
    )
    consent = forms.BooleanField(
        label=_("The patient (or guardian) was told about the teleconsultation and agrees to it"),
        required=False,
    )
    attachment = forms.FileField(
        label=_("Photo of a skin lesion, an ECG or a report (optional)"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "image/*", "capture": "environment"}),
    )
    attachment_kind = forms.ChoiceField(
        label=_("What is it?"), choices=CaseAttachment.Kind.choices, required=False
    )

    def __init__(self, *args: Any, centre: Facility, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["specialty"].choices = specialty_choices(centre)
        if not self.is_bound:
            self.initial.setdefault("client_key", uuid.uuid4())
        for vital in CASE_VITALS:
            low, high, unit = VITAL_RANGES[vital]
            self.fields[vital_field_name(vital)] = forms.DecimalField(
                label=f"{VITAL_LABELS[vital]} ({unit})",
                required=False,
                widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}),
            )
            self.fields[vital_field_name(vital)].unit = unit

    def vital_fields(self) -> list[forms.BoundField]:
        return [self[vital_field_name(vital)] for vital in CASE_VITALS]


def case_data(data: Any) -> dict[str, Any]:
    """The service's input from posted data (a page's form or the API's JSON)."""
    vitals = data.get("vitals")
    if not isinstance(vitals, dict):
        vitals = {vital: data.get(vital_field_name(vital), "") for vital in CASE_VITALS}
    complaints = data.getlist("complaints") if hasattr(data, "getlist") else data.get("complaints")
    consent = data.get("consent")
    return {
        "client_key": data.get("client_key"),
        "complaints": [str(c) for c in (complaints or [])][:30],
        "complaint_text": data.get("complaint_text", ""),
        "history": data.get("history", ""),
        "vitals": {k: v for k, v in vitals.items() if k in CASE_VITALS},
        "specialty": data.get("specialty", ""),
        "mode": data.get("mode", ""),
        "identity_method": data.get("identity_method", ""),
        "consent_by": data.get("consent_by", ""),
        "consent": consent in (True, "on", "true", "1", 1),
        "urgent": data.get("urgent") in (True, "on", "true", "1", 1),
    }


def check_vitals_first(data: dict[str, Any], age_years: int | None) -> None:
    """Refuse impossible vitals before the service is called, one message per vital
    under the form's own field name (``vital_<name>``), so that the page and the API put
    each message next to its field."""
    _vitals, errors, _danger = check_case_vitals(data.get("vitals") or {}, age_years)
    if errors:
        raise ValidationError(
            {vital_field_name(name): [str(message)] for name, message in errors.items()}
        )


def add_service_errors(form: forms.Form, error: ValidationError) -> None:
    """Put a service's refusal on the form, each message on its field."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error.messages)
        return
    for name, messages in error.message_dict.items():
        form.add_error(name if name in form.fields else None, messages)


def service_errors_json(error: ValidationError) -> dict[str, list[str]]:
    """A service's refusal as ``{field: [messages]}`` (``__all__`` for the whole form)."""
    if not hasattr(error, "error_dict"):
        return {"__all__": [str(m) for m in error.messages]}
    return {name: [str(m) for m in messages] for name, messages in error.message_dict.items()}


class ReceiveStockForm(forms.Form):
    medicine = forms.CharField(label=_("Medicine (generic name)"), max_length=120)
    quantity = forms.IntegerField(label=_("Units received"), min_value=1, max_value=100000)
    note = forms.CharField(label=_("Note (supply batch, source)"), max_length=200, required=False)


class AttachmentForm(forms.Form):
    #: No ``capture`` here: the phone offers its camera and its files, so a PDF report
    #: can be added too (the case form's field opens the camera directly).
    file = forms.FileField(
        label=_("Photo or report (JPEG, PNG or PDF)"),
        widget=forms.ClearableFileInput(attrs={"accept": "image/*,application/pdf"}),
    )
    kind = forms.ChoiceField(label=_("What is it?"), choices=CaseAttachment.Kind.choices)
    title = forms.CharField(label=_("Title (optional)"), max_length=150, required=False)
