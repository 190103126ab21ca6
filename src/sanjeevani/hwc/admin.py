"""The specialty rule table in the admin: national administrators edit it; the health
worker's form quotes the reasons of the lines that matched (``suggestion``)."""

from __future__ import annotations

from django.contrib import admin

from sanjeevani.registry.admin_scoping import ScopedModelAdmin

from .models import SpecialtyRule


@admin.register(SpecialtyRule)
class SpecialtyRuleAdmin(ScopedModelAdmin):
    state_field = None
    national_only = True
    list_display = (
        "specialty", "complaint", "vital", "comparison", "threshold",
        "min_age_years", "max_age_years", "weight", "reason", "active",
    )  # fmt: skip
    list_filter = ("active", ("specialty", admin.RelatedOnlyFieldListFilter))
    list_editable = ("weight", "active")
    search_fields = ("reason", "complaint", "vital", "specialty__name")
