"""The machinery of the registry admin's role scoping: :class:`ScopedModelAdmin` and
:class:`ScopedInline`. An admin declares only the lookup paths from its model to a
``State`` (and, where hub coordinators work, to their ``Facility``); these classes limit
the rows listed, the objects that open by URL, the choices in every foreign-key field, and
check that a saved object stays inside the editor's scope (answers from ``scoping``)."""

from collections.abc import Callable
from typing import Any

from django.contrib import admin
from django.db import models
from django.http import HttpRequest
from django.utils.translation import gettext

from sanjeevani.accounts.models import Role

from . import scoping
from .models import (
    District,
    DoctorProfile,
    Facility,
    OnlineOPD,
    State,
)

#: For each related model, the query that limits a form's choices to the editor's scope.
CHOICES: dict[type[models.Model], Callable[[Any], models.QuerySet]] = {
    State: scoping.states_visible_to,
    District: scoping.districts_visible_to,
    Facility: scoping.facilities_visible_to,
    OnlineOPD: scoping.opds_visible_to,
    DoctorProfile: scoping.doctors_visible_to,
}
#: The request attribute holding the object a form edits, for choices that must keep its value.
EDITED_OBJECT = "_scoped_admin_object"


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
        setattr(request, EDITED_OBJECT, obj)
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
            current = getattr(getattr(request, EDITED_OBJECT, None), db_field.attname, None)
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
