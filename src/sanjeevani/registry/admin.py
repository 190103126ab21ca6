"""The registry in the Django admin, scoped by role rather than by per-model permissions.

Each admin declares only the lookup paths from its model to a ``State`` (and, where hub
coordinators work, to their ``Facility``); :class:`ScopedModelAdmin` does the rest: the
rows listed, the objects that open by URL, the choices in every foreign-key field and
the check that a saved object stays inside the editor's scope.
"""

from __future__ import annotations

from collections.abc import Callable
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

#: For each related model, the query that limits a form's choices to the editor's scope.
CHOICES: dict[type[models.Model], Callable[[Any], models.QuerySet]] = {
    State: scoping.states_visible_to,
    District: scoping.districts_visible_to,
    Facility: scoping.facilities_visible_to,
    OnlineOPD: scoping.opds_visible_to,
    DoctorProfile: scoping.doctors_visible_to,
}
_EDITED_OBJECT = "_scoped_admin_object"


class ScopedModelAdmin(admin.ModelAdmin):
    """A model admin whose reach follows the user's role and posting.

    ``state_field``: lookup path(s) from the model to its State; None means the rows are
    the same for everyone (reference data). ``facility_field``: path(s) to the Facility of
    a facility-bound user, used when the user's role is in ``facility_roles``.
    ``national_only``: state administrators may look but not change.
    """

    state_field: str | tuple[str, ...] | None = "state"
    facility_field: str | tuple[str, ...] = ()
    facility_roles: frozenset[str] = frozenset()
    national_only: bool = False
    national_list_filter: tuple[Any, ...] = ()

    # --- who ----------------------------------------------------------------------
    def scope(self, request: HttpRequest) -> scoping.AdminScope:
        return scoping.scope_of(request.user)

    def may_view(self, request: HttpRequest) -> bool:
        scope = self.scope(request)
        if scope.national:
            return True
        role = getattr(request.user, "role", None)
        if scope.is_state_wide and role == Role.STATE_ADMIN:
            return True
        return scope.is_facility and role in self.facility_roles

    def may_change(self, request: HttpRequest) -> bool:
        if self.national_only:
            return self.scope(request).national
        return self.may_view(request)

    def in_scope(self, request: HttpRequest, obj: models.Model | None) -> bool:
        if obj is None or obj.pk is None:
            return True
        return self.get_queryset(request).filter(pk=obj.pk).exists()

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.may_view(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.may_view(request) and self.in_scope(request, obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self.may_change(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.may_change(request) and self.in_scope(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.may_change(request) and self.in_scope(request, obj)

    # --- what ---------------------------------------------------------------------
    @classmethod
    def _paths(cls, value: str | tuple[str, ...] | None) -> tuple[str, ...]:
        if value is None:
            return ()
        return (value,) if isinstance(value, str) else tuple(value)

    def get_queryset(self, request: HttpRequest) -> models.QuerySet:
        queryset = super().get_queryset(request)
        if self.state_field is None:
            return queryset if self.may_view(request) else queryset.none()
        facility_paths = (
            self._paths(self.facility_field)
            if getattr(request.user, "role", None) in self.facility_roles
            else ()
        )
        return scoping.restrict(
            queryset, self.scope(request), self._paths(self.state_field), facility_paths
        )

    def get_list_filter(self, request: HttpRequest) -> tuple[Any, ...]:
        extra = self.national_list_filter if self.scope(request).national else ()
        return tuple(extra) + tuple(super().get_list_filter(request))

    # --- choices --------------------------------------------------------------------
    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs):
        setattr(request, _EDITED_OBJECT, obj)
        form = super().get_form(request, obj, change=change, **kwargs)
        if self.scope(request).national or self.state_field is None:
            return form
        model_admin = self

        class ScopedForm(form):
            def _post_clean(self) -> None:
                super()._post_clean()
                if not self._errors and not model_admin.reaches(
                    request, self.instance, self.cleaned_data
                ):
                    self.add_error(
                        None,
                        gettext(
                            "This record would be outside your posting: it must belong to "
                            "your state (or, for a hub coordinator, your hub)."
                        ),
                    )

        ScopedForm.__name__ = form.__name__
        return ScopedForm

    def reaches(self, request: HttpRequest, instance: models.Model, cleaned: dict) -> bool:
        """Whether the unsaved ``instance`` lies in the editor's scope."""
        scope = self.scope(request)
        if scope.is_facility:
            paths, target = self._paths(self.facility_field), scope.facility_id
        else:
            paths, target = self._paths(self.state_field), scope.state_id
        return any(target in _reach(instance, p.split("__"), cleaned) for p in paths)

    def _limited(self, request: HttpRequest, db_field: models.Field) -> models.QuerySet | None:
        choices = CHOICES.get(db_field.related_model)
        if choices is None or self.scope(request).national:
            return None
        return choices(request.user)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        queryset = self._limited(request, db_field)
        if queryset is not None:
            current = getattr(getattr(request, _EDITED_OBJECT, None), db_field.attname, None)
            if current is not None:
                queryset = queryset | db_field.related_model._default_manager.filter(pk=current)
            kwargs["queryset"] = queryset
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        queryset = self._limited(request, db_field)
        if queryset is not None:
            kwargs["queryset"] = queryset
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def save_related(self, request: HttpRequest, form, formsets, change: bool) -> None:
        """Keep many-to-many values the editor cannot see (another state's OPDs, say)."""
        hidden: dict[str, list[Any]] = {}
        if change and not self.scope(request).national:
            for db_field in form.instance._meta.many_to_many:
                visible = self._limited(request, db_field)
                if visible is not None and db_field.name in form.cleaned_data:
                    manager = getattr(form.instance, db_field.name)
                    hidden[db_field.name] = list(manager.exclude(pk__in=visible.values("pk")))
        super().save_related(request, form, formsets, change)
        for name, objects in hidden.items():
            getattr(form.instance, name).add(*objects)


def _reach(obj: Any, parts: list[str], cleaned: dict | None = None) -> set[Any]:
    """The ids found at the end of a lookup path from ``obj`` (unsaved values included)."""
    if obj is None:
        return set()
    if not parts or parts == ["pk"]:
        return {obj.pk}
    name, rest = parts[0], parts[1:]
    db_field = obj._meta.get_field(name)
    if db_field.many_to_many:
        if cleaned is not None and name in cleaned:
            items = cleaned[name]
        else:
            items = getattr(obj, name).all() if obj.pk else []
        found: set[Any] = set()
        for item in items:
            found |= _reach(item, rest)
        return found
    if not rest:
        value = getattr(obj, db_field.attname)
        return set() if value is None else {value}
    return _reach(getattr(obj, name), rest)


class ScopedInline(admin.TabularInline):
    """Rows edited with their parent: allowed exactly when the parent may be changed."""

    extra = 0

    def _parent_admin(self) -> admin.ModelAdmin:
        return self.admin_site._registry[self.parent_model]

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._parent_admin().has_view_permission(request, obj)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._parent_admin().has_change_permission(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._parent_admin().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._parent_admin().has_change_permission(request, obj)


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
    state_field = None
    national_only = True
    list_display = ("name", "state")
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
    list_display = ("name", "code", "level", "state", "district", "is_hub", "is_spoke", "active")
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
    current = getattr(getattr(request, _EDITED_OBJECT, None), "user_id", None)
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
