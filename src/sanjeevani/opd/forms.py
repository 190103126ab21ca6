"""Forms of the OPD pages: they parse and check input; the services decide."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from sanjeevani.patients.models import PatientDocument


class TakeTokenForm(forms.Form):
    complaint = forms.CharField(
        label=_("What is troubling you? (optional)"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class DocumentUploadForm(forms.Form):
    file = forms.FileField(
        label=_("File (PDF, JPEG or PNG)"),
        widget=forms.ClearableFileInput(attrs={"accept": "application/pdf,image/jpeg,image/png"}),
    )
    title = forms.CharField(label=_("Title"), max_length=150, required=False)
    kind = forms.ChoiceField(
        label=_("Kind"), choices=PatientDocument.Kind.choices, initial=PatientDocument.Kind.OTHER
    )


class FeedbackForm(forms.Form):
    rating = forms.TypedChoiceField(
        label=_("How was your consultation? (1 poor – 5 excellent)"),
        choices=[(i, str(i)) for i in range(1, 6)],
        coerce=int,
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label=_("Comment (optional)"),
        max_length=1000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
