"""Where each role lands: one answer used by every sign-in path, the home page, the
header's account links and the error pages' "way on"."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from sanjeevani.accounts.models import Role


@dataclass(frozen=True)
class Landing:
    """A person's own page: its address and the name the header gives the link."""

    url_name: str
    label: str | Promise
    #: Whose page this is, for the 403 page ("This page is for doctors").
    audience: str | Promise

    @property
    def url(self) -> str:
        return reverse(self.url_name)


LANDINGS: dict[str, Landing] = {
    Role.PATIENT: Landing("patients:family", _("My consultations"), _("patients")),
    Role.DOCTOR: Landing("workspace:console", _("Doctor's console"), _("doctors")),
    Role.CHO: Landing("centre:workspace", _("My health centre"), _("Community Health Officers")),
    Role.HUB_COORDINATOR: Landing("hub:desk", _("My hub"), _("hub coordinators")),
    Role.STATE_ADMIN: Landing("portal:overview", _("Overview"), _("administrators")),
    Role.NATIONAL_ADMIN: Landing("portal:overview", _("Overview"), _("administrators")),
    Role.OPERATOR: Landing("assisted:desk", _("Assisted registration"), _("operators")),
}


def landing_for(user) -> Landing | None:
    """The signed-in person's own page; ``None`` for anonymous visitors (and for an
    account with no role we know, who then stays on the home page)."""
    if user is None or not user.is_authenticated:
        return None
    return LANDINGS.get(getattr(user, "role", ""))


def landing_url(user) -> str:
    """Where a sign-in sends this person when no safe ``next`` was given."""
    landing = landing_for(user)
    return landing.url if landing is not None else reverse("portal:home")
