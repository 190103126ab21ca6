"""Who may open which dashboard: one answer for the pages, the live figures and the exports.

The national figures are public. A state's operational dashboard is for national
administrators and that state's administrator; a hub's for its coordinator and the
administrators of its state. Reach comes from ``registry.scoping`` (the user's posting), as
everywhere else. As on the rest of the site: the signed-out are sent to sign in, another role
is told whose page it is (403), and an administrator or coordinator of the right kind but of
another state or hub gets 404, so a dashboard never confirms anything about a place outside
their reach.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.http import Http404
from django.urls import reverse
from django.utils.translation import gettext as _

from sanjeevani.accounts.models import Role
from sanjeevani.portal.access import NotYourPage
from sanjeevani.registry.models import Facility, State
from sanjeevani.registry.scoping import scope_of

STATE_ROLES = frozenset({Role.STATE_ADMIN, Role.NATIONAL_ADMIN})
HUB_ROLES = frozenset({Role.HUB_COORDINATOR, Role.STATE_ADMIN, Role.NATIONAL_ADMIN})


class SignInFirst(Exception):
    """The signed-out asked for a dashboard that is not public: the view sends them to sign in."""


def _signed_in(user: Any) -> None:
    if user is None or not user.is_authenticated:
        raise SignInFirst


def state_for(user: Any, code: str) -> State:
    """The state whose operational dashboard ``user`` opens, or the refusal."""
    _signed_in(user)
    if not (user.is_superuser or user.role in STATE_ROLES):
        raise NotYourPage(_("administrators"))
    state = State.objects.filter(code__iexact=code).first()
    if state is None:
        raise Http404(_("There is no such state."))
    reach = scope_of(user)
    if not reach.national and reach.state_id != state.pk:
        raise Http404(_("There is no such state."))
    return state


def hub_for(user: Any, hub_id: uuid.UUID) -> Facility:
    """The hub whose dashboard ``user`` opens, or the refusal."""
    _signed_in(user)
    if not (user.is_superuser or user.role in HUB_ROLES):
        raise NotYourPage(_("hub coordinators"))
    hub = Facility.objects.select_related("state").filter(pk=hub_id, is_hub=True).first()
    if hub is None:
        raise Http404(_("There is no such hub."))
    reach = scope_of(user)
    if reach.national:
        return hub
    if reach.is_facility:
        allowed = user.role == Role.HUB_COORDINATOR and reach.facility_id == hub.pk
    else:
        allowed = user.role == Role.STATE_ADMIN and reach.state_id == hub.state_id
    if not allowed:
        raise Http404(_("There is no such hub."))
    return hub


def sees_every_state(user: Any) -> bool:
    """A national administrator (or superuser): every state's dashboard is theirs."""
    return bool(
        user is not None
        and user.is_authenticated
        and (user.is_superuser or user.role == Role.NATIONAL_ADMIN)
    )


def national_operations_for(user: Any) -> None:
    """The whole country's operational tables: national administrators only."""
    _signed_in(user)
    if not (user.is_superuser or user.role == Role.NATIONAL_ADMIN):
        raise NotYourPage(_("administrators"))


def dashboard_url_for(user: Any) -> str | None:
    """The dashboard the menu offers ``user``: a national administrator the whole country's,
    a state administrator their state's, a hub coordinator their hub's; others none."""
    if user is None or not user.is_authenticated:
        return None
    reach = scope_of(user)
    if user.is_superuser or user.role == Role.NATIONAL_ADMIN:
        return reverse("dashboard:national")
    if user.role == Role.STATE_ADMIN and reach.state_id is not None:
        code = State.objects.filter(pk=reach.state_id).values_list("code", flat=True).first()
        return reverse("dashboard:state", args=[code]) if code else None
    if user.role == Role.HUB_COORDINATOR and reach.facility_id is not None:
        return reverse("dashboard:hub", args=[reach.facility_id])
    return None
