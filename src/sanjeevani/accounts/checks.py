"""Deployment check: no account that can sign in still has the published demo password.

``seed_demo`` refuses to run in production, but a database seeded on a trial machine may be
promoted, and whoever signs in first to a demo administrator (no authenticator enrolled yet)
enrols their own and owns the deployment. The hasher is slow by design, so it runs only on
the accounts that could carry the demo password and matter most: those ``seed_demo``
marked (``demo_password_set``) and every administrator or admin-site account (tens, not
the thousands of doctors). A deployment with ten thousand staff checks in well under a
second plus about 0.1 s per marked or administrator account.
"""

from __future__ import annotations

from django.contrib.auth.hashers import check_password
from django.core.checks import Error, Tags, Warning, register
from django.db import DatabaseError, connection
from django.db.models import Q

from .models import ADMIN_ROLES, Role, User

#: The password ``seed_demo`` gives its staff accounts, printed in the README and by the
#: command itself: public, so never acceptable on a deployment.
DEMO_PASSWORD = "sanjeevani-demo"


def accounts_with_demo_password() -> list[str]:
    """Usernames of active staff accounts whose password is the demo password."""
    suspects = (
        User.objects.filter(is_active=True)
        .exclude(role=Role.PATIENT, is_staff=False, is_superuser=False)
        .filter(
            Q(demo_password_set=True)
            | Q(role__in=ADMIN_ROLES)
            | Q(is_staff=True)
            | Q(is_superuser=True)
        )
        .values_list("username", "password")
    )
    return sorted(
        username
        for username, encoded in suspects.iterator()
        if encoded and check_password(DEMO_PASSWORD, encoded)
    )


@register(Tags.security, deploy=True)
def no_demo_passwords(app_configs, **kwargs) -> list[Error | Warning]:
    try:
        if "accounts_user" not in connection.introspection.table_names():
            return []  # not migrated yet: no accounts at all
        found = accounts_with_demo_password()
    except DatabaseError as error:
        return [
            Warning(
                f"Could not look for demo passwords: {error}",
                hint="Run `manage.py check --deploy` again once the database is reachable.",
                id="sanjeevani.W010",
            )
        ]
    if not found:
        return []
    return [
        Error(
            f"{len(found)} active account(s) still have the published demo password: "
            + ", ".join(found[:20])
            + (" ..." if len(found) > 20 else ""),
            hint=(
                "Deactivate or delete the demo accounts (they come from `seed_demo`), or give "
                "each a new password through its one-time set-password link."
            ),
            id="sanjeevani.E010",
        )
    ]
