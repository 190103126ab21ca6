"""The registry in the Django admin, scoped by role rather than by per-model permissions.

Each admin declares only the lookup paths from its model to a ``State`` (and, where hub
coordinators work, to their ``Facility``); ``ScopedModelAdmin`` (``admin_scoping``) does the
rest: the rows listed, the objects that open by URL, the choices in every foreign-key field
and the check that a saved object stays inside the editor's scope.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from sanjeevani.accounts.models import Role
from sanjeevani.accounts.services import set_password_path

from . import scoping
from .admin_scoping import EDITED_OBJECT, ScopedInline, ScopedModelAdmin
from .models import (
    District,
    DoctorProfile,
    Facility,
    HubSpokeLink,
    OnlineOPD,
    OpeningWindow,
    Posting,
    RosterShift,
    Specialty,
    State,
)
from .schedule import format_schedule
from .services import import_registry_csv

#: The population fields' own validators (``models.population_validators``) say what is
#: wrong with a figure; the form's default floor would say only "greater than or equal to 0".
POPULATION_FORM_FIELD = {"min_value": None}


# --- reference data -------------------------------------------------------------------
@admin.register(State)
class StateAdmin(ScopedModelAdmin):
    state_field = None
    national_only = True
    list_display = ("name", "code", "kind")
    list_filter = ("kind",)
    search_fields = ("name", "code")


@admin.register(District)
class DistrictAdmin(ScopedModelAdmin):
    """Districts are reference data; their population (for the dashboards' equity view, per
    100,000 people) is set here, or by a ``district`` row of the bulk import."""

    state_field = None
    national_only = True
    list_display = ("name", "state", "population")
    formfield_overrides = {models.PositiveBigIntegerField: POPULATION_FORM_FIELD}
    list_filter = (("state", admin.RelatedOnlyFieldListFilter),)
    list_select_related = ("state",)
    search_fields = ("name", "state__name", "state__code")


@admin.register(Specialty)
class SpecialtyAdmin(ScopedModelAdmin):
    state_field = None
    national_only = True
    list_display = ("name", "code")
    search_fields = ("name", "code")


# --- places ------------------------------------------------------------------------------
@admin.register(Facility)
class FacilityAdmin(ScopedModelAdmin):
    state_field = "state"
    list_display = (
        "name",
        "code",
        "level",
        "state",
        "district",
        "is_hub",
        "is_spoke",
        "catchment_population",
        "active",
    )
    formfield_overrides = {models.PositiveIntegerField: POPULATION_FORM_FIELD}
    list_filter = (
        "level",
        "is_hub",
        "is_spoke",
        "active",
        ("district", admin.RelatedOnlyFieldListFilter),
    )
    national_list_filter = (("state", admin.RelatedOnlyFieldListFilter),)
    list_select_related = ("state", "district")
    search_fields = ("name", "code")
    change_list_template = "admin/registry/facility/change_list.html"
    show_full_result_count = False

    def get_urls(self):
        view = self.admin_site.admin_view(self.import_view)
        return [path("import/", view, name="registry_facility_import"), *super().get_urls()]

    def import_view(self, request: HttpRequest) -> HttpResponse:
        """Upload a registry CSV; any bad row is listed and nothing is written."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        result = None
        form = RegistryImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            result = import_registry_csv(
                form.cleaned_data["file"].read(),
                request.user,
                dry_run=form.cleaned_data["check_only"],
                request=request,
            )
            if result.ok and not result.dry_run:
                messages.success(request, result.summary())
                if result.doctors_without_password:
                    links = "; ".join(
                        f"{user.username}: {request.build_absolute_uri(set_password_path(user))}"
                        for user in get_user_model().objects.filter(
                            username__in=result.doctors_without_password
                        )
                    )
                    messages.warning(
                        request,
                        gettext(
                            "%(count)d new doctors have no password yet. Send each their "
                            "one-time link to choose one: %(links)s"
                        )
                        % {"count": len(result.doctors_without_password), "links": links},
                    )
                return HttpResponseRedirect(reverse("admin:registry_facility_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Import the registry from CSV"),
            "form": form,
            "result": result,
        }
        status = 400 if result is not None and not result.ok else 200
        return TemplateResponse(
            request, "admin/registry/facility/import.html", context, status=status
        )


class RegistryImportForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_("UTF-8 CSV in the format of docs/registry-import.md, at most 5 MB."),
    )
    check_only = forms.BooleanField(label=_("Only check the file; write nothing"), required=False)

    MAX_BYTES = 5 * 1024 * 1024

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > self.MAX_BYTES:
            raise forms.ValidationError(
                _("The file is larger than 5 MB; split it into several files.")
            )
        return upload


@admin.register(HubSpokeLink)
class HubSpokeLinkAdmin(ScopedModelAdmin):
    state_field = ("hub__state", "spoke__state")
    list_display = ("spoke", "hub", "priority", "specialty_list", "active")
    list_filter = ("active", "priority", "specialties")
    list_select_related = ("hub", "spoke")
    search_fields = ("hub__code", "hub__name", "spoke__code", "spoke__name")
    autocomplete_fields = ("hub", "spoke")
    filter_horizontal = ("specialties",)

    def get_queryset(self, request: HttpRequest) -> models.QuerySet:
        return super().get_queryset(request).prefetch_related("specialties")

    @admin.display(description=_("specialties"))
    def specialty_list(self, obj: HubSpokeLink) -> str:
        return ", ".join(s.code for s in obj.specialties.all())


class OpeningWindowInline(ScopedInline):
    model = OpeningWindow


@admin.register(OnlineOPD)
class OnlineOPDAdmin(ScopedModelAdmin):
    state_field = "state"
    inlines = (OpeningWindowInline,)
    list_display = ("name", "code", "scope", "state", "specialty", "schedule", "active")
    list_filter = ("scope", "active", "specialty")
    national_list_filter = (("state", admin.RelatedOnlyFieldListFilter),)
    list_select_related = ("state", "specialty")
    search_fields = ("name", "code")

    def get_queryset(self, request: HttpRequest) -> models.QuerySet:
        return super().get_queryset(request).prefetch_related("opening_windows")

    @admin.display(description=_("weekly schedule (IST)"))
    def schedule(self, obj: OnlineOPD) -> str:
        return format_schedule(obj.opening_windows.all()) or gettext("closed")


# --- people --------------------------------------------------------------------------------
@admin.register(DoctorProfile)
class DoctorProfileAdmin(ScopedModelAdmin):
    state_field = ("state", "opds__state", "hubs__state")
    list_display = ("__str__", "registration_number", "council", "qualification", "state")
    list_filter = ("specialties", "sex")
    national_list_filter = (("state", admin.RelatedOnlyFieldListFilter),)
    list_select_related = ("user", "state")
    search_fields = ("registration_number", "user__first_name", "user__last_name")
    autocomplete_fields = ("opds", "hubs")
    filter_horizontal = ("specialties",)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "user":
            kwargs["queryset"] = _doctor_accounts(request)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


def _doctor_accounts(request: HttpRequest) -> models.QuerySet:
    """Doctor accounts without a profile, plus the one being edited."""
    user_model = DoctorProfile._meta.get_field("user").related_model
    queryset = user_model.objects.filter(role=Role.DOCTOR, doctor_profile__isnull=True)
    current = getattr(getattr(request, EDITED_OBJECT, None), "user_id", None)
    return queryset | user_model.objects.filter(pk=current) if current else queryset


@admin.register(RosterShift)
class RosterShiftAdmin(ScopedModelAdmin):
    state_field = ("opd__state", "hub__state")
    facility_field = "hub"
    facility_roles = frozenset({Role.HUB_COORDINATOR})
    list_display = ("doctor", "opd", "hub", "weekday", "hours")
    list_filter = ("weekday",)
    list_select_related = ("doctor__user", "opd", "hub")
    search_fields = ("doctor__registration_number", "doctor__user__last_name")

    def get_autocomplete_fields(self, request: HttpRequest) -> tuple[str, ...]:
        return () if self.scope(request).is_facility else ("doctor", "opd", "hub")

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        initial = super().get_changeform_initial_data(request)
        scope = self.scope(request)
        if scope.is_facility:
            initial.setdefault("hub", scope.facility_id)
        return initial

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        scope = self.scope(request)
        if scope.is_facility and db_field.name == "opd":
            kwargs["queryset"] = OnlineOPD.objects.none()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description=_("hours (IST)"))
    def hours(self, obj: RosterShift) -> str:
        start, end = obj.start_minute, obj.end_minute
        return f"{start // 60:02d}:{start % 60:02d}–{end // 60:02d}:{end % 60:02d}"


@admin.register(Posting)
class PostingAdmin(ScopedModelAdmin):
    state_field = ("state", "facility__state")
    list_display = ("user", "role", "state", "facility")
    list_select_related = ("user", "state", "facility")
    search_fields = ("user__username", "user__first_name", "user__last_name", "facility__code")
    autocomplete_fields = ("facility",)

    @admin.display(description=_("role"))
    def role(self, obj: Posting) -> str:
        return obj.user.get_role_display()

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "user":
            kwargs["queryset"] = _postable_staff(request)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


def _postable_staff(request: HttpRequest) -> models.QuerySet:
    """Staff who may be posted by this editor: never patients, and never over their head."""
    user_model = Posting._meta.get_field("user").related_model
    queryset = user_model.objects.exclude(role=Role.PATIENT)
    if not scoping.scope_of(request.user).national:
        queryset = queryset.exclude(role=Role.NATIONAL_ADMIN).exclude(is_superuser=True)
        visible = scoping.postings_visible_to(request.user).values("user")
        queryset = queryset.filter(posting__isnull=True) | queryset.filter(pk__in=visible)
    return queryset.order_by("username")
