"""Who may do what with sign-in: the rules the views, the API and the admin share."""

from __future__ import annotations

from django.conf import settings

from .models import ADMIN_ROLES, ADMIN_SITE_ROLES


def requires_second_factor(user) -> bool:
    """Administrators, and anyone who can open the admin, must use TOTP when 2FA is on."""
    if not settings.REQUIRE_STAFF_2FA:
        return False
    return user.role in ADMIN_ROLES or user.is_staff or user.is_superuser


def may_open_admin(user) -> bool:
    """The role test for the Django admin; each model admin then narrows to its scope."""
    if not (user.is_authenticated and user.is_active and user.is_staff):
        return False
    return user.is_superuser or user.role in ADMIN_SITE_ROLES


def is_verified(user) -> bool:
    """Whether this session presented a TOTP code (set by django-otp's middleware)."""
    check = getattr(user, "is_verified", None)
    return bool(check and check())


def admin_site_allows(user) -> bool:
    return may_open_admin(user) and (not settings.REQUIRE_STAFF_2FA or is_verified(user))
