"""The operational dashboards' filters: a GET form that turns a query string into a ``Scope``.

A filter that does not parse (a date that is no date, a district of another state, a code
that names no facility of the state) is a message on the page, which then shows its figures
unfiltered; it never reaches the read functions, and never becomes a server error.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from sanjeevani.registry.models import District, Facility, OnlineOPD, Specialty, State

from .figures import Scope

#: The longest range a dashboard reads at once: the rollups are per day, so a longer one
#: costs more; a year and a bit covers every report.
LONGEST_RANGE = dt.timedelta(days=400)
EARLIEST_DAY = dt.date(2000, 1, 1)


class DateInput(forms.DateInput):
    input_type = "date"


class DashboardFilters(forms.Form):
    start = forms.DateField(
        label=pgettext_lazy("date range", "From"), required=False, widget=DateInput
    )
    end = forms.DateField(label=pgettext_lazy("date range", "To"), required=False, widget=DateInput)
    district = forms.ModelChoiceField(
        label=_("District"),
        queryset=District.objects.none(),
        required=False,
        empty_label=_("All districts"),
    )
    facility = forms.CharField(
        label=_("Facility or OPD code"),
        required=False,
        max_length=60,
        help_text=_("A hub's or spoke's facility code, or an online OPD's code."),
    )
    specialty = forms.ModelChoiceField(
        label=_("Specialty"),
        queryset=Specialty.objects.order_by("name"),
        to_field_name="code",
        required=False,
        empty_label=_("All specialties"),
    )

    def __init__(self, data: Any = None, *, state: State | None = None, hub: bool = False):
        super().__init__(data)
        self.state = state
        if hub:
            # A hub's dashboard is already one facility: only dates and specialty narrow it.
            del self.fields["district"]
            del self.fields["facility"]
        elif state is not None:
            self.fields["district"].queryset = (
                District.objects.filter(state=state).select_related("state").order_by("name")
            )
        self.facility_id = None

    def clean_start(self) -> dt.date | None:
        return self._sane_day(self.cleaned_data.get("start"))

    def clean_end(self) -> dt.date | None:
        return self._sane_day(self.cleaned_data.get("end"))

    def _sane_day(self, day: dt.date | None) -> dt.date | None:
        if day is not None and not (EARLIEST_DAY <= day <= dt.date.today() + dt.timedelta(days=1)):
            raise forms.ValidationError(_("Choose a day between 2000 and today."))
        return day

    def clean_facility(self) -> str:
        code = (self.cleaned_data.get("facility") or "").strip()
        if not code or self.state is None:
            return code
        found = (
            Facility.objects.filter(state=self.state, code__iexact=code)
            .values_list("pk", flat=True)
            .first()
        ) or (
            OnlineOPD.objects.filter(state=self.state, code__iexact=code)
            .values_list("pk", flat=True)
            .first()
        )
        if found is None:
            raise forms.ValidationError(_("No facility or OPD of this state has that code."))
        self.facility_id = found
        return code

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end:
            if start > end:
                raise forms.ValidationError(_("The first day comes after the last."))
            if end - start > LONGEST_RANGE:
                raise forms.ValidationError(_("Choose a range of at most 400 days."))
        return cleaned

    def scope(self, base: Scope) -> Scope:
        """``base`` narrowed by the valid filters; ``base`` itself when any is invalid."""
        if not self.is_bound or not self.is_valid():
            return base
        data = self.cleaned_data
        district = data.get("district")
        specialty = data.get("specialty")
        return dataclasses.replace(
            base,
            start=data.get("start") or base.start,
            end=data.get("end") or base.end,
            district_id=district.pk if district is not None else base.district_id,
            facility_id=self.facility_id or base.facility_id,
            specialty_code=specialty.code if specialty is not None else base.specialty_code,
        )
