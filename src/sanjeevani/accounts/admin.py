"""The admin: user management for national administrators, and the admin site's door.

The admin site's own login page is replaced by the staff sign-in (password + TOTP), and
its permission check adds the role rule and, when ``REQUIRE_STAFF_2FA`` is on, a
verified second factor.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import UserChangeForm
from django.contrib.auth.views import redirect_to_login
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import resolve_url
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_totp.admin import TOTPDeviceAdmin
from django_otp.plugins.otp_totp.models import TOTPDevice

from sanjeevani.audit.services import client_ip
from sanjeevani.config.admin_lists import CappedCountList

from .api_tokens import expires_at, revoke_device, sign_out_everywhere
from .errors import SignInError
from .mobile_numbers import normalise_mobile
from .models import DeviceToken, Role, User
from .passwords import set_password_path
from .policies import admin_site_allows
from .selectors import accounts_matching


def _admin_has_permission(request: HttpRequest) -> bool:
    return admin_site_allows(request.user)


def _admin_login(request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
    """Send the admin's sign-in to the staff page, which also asks for the TOTP code."""
    next_url = request.GET.get(REDIRECT_FIELD_NAME) or resolve_url("admin:index")
    return redirect_to_login(next_url, resolve_url("accounts:staff_login"))


admin.site.has_permission = _admin_has_permission
admin.site.login = _admin_login
admin.site.site_header = _("Sanjeevani administration")
admin.site.site_title = _("Sanjeevani administration")


class NationalAdminOnly:
    """Accounts and second factors are managed nationally, never within a state's scope."""

    def _allowed(self, request: HttpRequest) -> bool:
        return request.user.is_active and request.user.is_national_admin

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._allowed(request)

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return self._allowed(request)

    def has_add_permission(self, request: HttpRequest, *args) -> bool:
        return self._allowed(request)

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return self._allowed(request)

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return self._allowed(request)

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        """Signing people's devices out (the admin actions that do it)."""
        return self._allowed(request)


def _clean_mobile(value: str) -> str:
    if not value:
        return value
    try:
        return normalise_mobile(value)
    except SignInError as error:
        raise forms.ValidationError(error.message) from None


class SanjeevaniUserCreationForm(forms.ModelForm):
    """A new account has no password: a password typed here would be known to the
    administrator (and often shared by chat). Its owner chooses one through the one-time
    set-password link shown after saving, as imported doctors do."""

    class Meta:
        model = User
        fields = ("username", "first_name", "last_name", "email", "role", "mobile")

    def clean_mobile(self) -> str:
        return _clean_mobile(self.cleaned_data.get("mobile", ""))

    def save(self, commit: bool = True) -> User:
        user = super().save(commit=False)
        user.set_unusable_password()
        if commit:
            user.save()
        return user


class SanjeevaniUserChangeForm(UserChangeForm):
    class Meta(UserChangeForm.Meta):
        model = User
        fields = "__all__"

    def clean_mobile(self) -> str:
        return _clean_mobile(self.cleaned_data.get("mobile", ""))


@admin.action(description=_("Sign out everywhere (every app and browser)"), permissions=["revoke"])
def sign_out_users_everywhere(modeladmin, request: HttpRequest, queryset: QuerySet) -> None:
    """For a lost phone or a person who left: every device token and session ends."""
    for user in queryset:
        sign_out_everywhere(request.user, user, client_ip(request))
    modeladmin.message_user(
        request,
        ngettext(
            "%(count)d person is signed out everywhere.",
            "%(count)d people are signed out everywhere.",
            len(queryset),
        )
        % {"count": len(queryset)},
        messages.SUCCESS,
    )


@admin.register(User)
class SanjeevaniUserAdmin(NationalAdminOnly, CappedCountList, UserAdmin):
    actions = [sign_out_users_everywhere]
    form = SanjeevaniUserChangeForm
    add_form = SanjeevaniUserCreationForm
    list_display = ("username", "get_full_name", "role", "mobile", "is_active", "last_login")
    list_filter = ("role", "is_active", "is_staff")
    # The box is shown for these; what a search matches is ``accounts_matching``.
    search_fields = ("username",)
    search_help_text = _(
        "A patient by mobile number; a staff member by username, name, e-mail or mobile "
        "number. Any account by the beginning of its username."
    )
    ordering = ("username",)
    fieldsets = (
        *UserAdmin.fieldsets,
        (_("Sanjeevani"), {"fields": ("role", "mobile", "preferred_language")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("username", "first_name", "last_name", "email", "role", "mobile"),
            },
        ),
    )

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        """Through indexes only, at tens of millions of accounts (``accounts_matching``; an
        empty search matches everyone)."""
        return queryset.filter(accounts_matching(search_term)), False

    def response_add(self, request: HttpRequest, obj: User, post_url_continue=None):
        """Show the one-time link the new staff member sets their first password with."""
        if obj.role != Role.PATIENT:
            messages.warning(
                request,
                gettext(
                    "%(username)s has no password yet. Send them this one-time link to choose "
                    "one (it stops working once used): %(link)s"
                )
                % {
                    "username": obj.get_username(),
                    "link": request.build_absolute_uri(set_password_path(obj)),
                },
            )
        return super().response_add(request, obj, post_url_continue)


if admin.site.is_registered(TOTPDevice):
    admin.site.unregister(TOTPDevice)


@admin.register(TOTPDevice)
class NationalTOTPDeviceAdmin(NationalAdminOnly, TOTPDeviceAdmin):
    """A national administrator removes a lost authenticator so its owner can enrol again."""


@admin.action(description=_("Sign out the selected devices"), permissions=["revoke"])
def sign_out_devices(modeladmin, request: HttpRequest, queryset: QuerySet) -> None:
    """Each revocation through the service, so each leaves its audit row."""
    revoked = sum(
        revoke_device(request.user, token, client_ip(request))
        for token in queryset.select_related("user")
    )
    modeladmin.message_user(
        request,
        ngettext("%(count)d device is signed out.", "%(count)d devices are signed out.", revoked)
        % {"count": revoked},
        messages.SUCCESS,
    )


@admin.register(DeviceToken)
class DeviceTokenAdmin(NationalAdminOnly, CappedCountList, admin.ModelAdmin):
    """Who is signed in on which device. Read-only: tokens come from signing in, and leave
    through the action (never a bare delete, which would skip the audit trail)."""

    actions = [sign_out_devices]
    list_display = ("user", "device", "created_at", "last_used_at", "expires")
    list_select_related = ("user",)
    search_fields = ("user__username", "user__mobile", "device")
    fields = ("user", "device", "key_prefix", "created_at", "last_used_at", "expires")
    readonly_fields = fields
    ordering = ("-last_used_at",)

    @admin.display(description=_("expires"))
    def expires(self, token: DeviceToken):
        return expires_at(token)

    def has_add_permission(self, request: HttpRequest, *args) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
