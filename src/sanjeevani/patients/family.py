"""The family tie: one mobile-number account holds a family of patient profiles, and its
holder acts for all of them (takes tokens, answers calls, uploads documents, gives
feedback). The one definition of that tie: the queue asks it for tokens, and the care-team
policy (``consultations.care_team``, a layer above) builds its ``family`` tie on it.

Beside it, the assisting operator's tie (``is_assisting_operator``): an operator at a Common
Service Centre or an institution acts for the patients they registered or assisted
(``patients.assisted``), and for a consultation only through a token they took themselves.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from sanjeevani.accounts.models import Role

from .models import AssistedAction, Patient


def is_account_holder(user: Any, patient: Patient) -> bool:
    """Whether ``user`` is the signed-in, active holder of the account ``patient`` is in."""
    return bool(
        getattr(user, "is_authenticated", False)
        and getattr(user, "is_active", False)
        and patient.account_id == user.pk
    )


def require_account_holder(user: Any, patient: Patient) -> None:
    if not is_account_holder(user, patient):
        raise PermissionDenied(_("You can act only for the profiles of your own family."))


def _active_operator(user: Any) -> bool:
    return bool(
        getattr(user, "is_authenticated", False)
        and getattr(user, "is_active", False)
        and getattr(user, "role", None) == Role.OPERATOR
    )


def is_assisting_operator(user: Any, patient: Patient, ticket_id: Any = None) -> bool:
    """Whether ``user`` is an active operator holding an assisted action for ``patient``
    (registered them, took a token, joined a room); with ``ticket_id``, one for that very
    token, so a token the patient took themselves stays theirs alone."""
    if not _active_operator(user):
        return False
    actions = AssistedAction.objects.filter(operator=user, patient=patient)
    if ticket_id is not None:
        actions = actions.filter(ticket_id=ticket_id)
    return actions.exists()


def assisted_ticket_ids(user: Any) -> Any:
    """The ids of the tokens ``user`` took as an operator, as a subquery (empty for anyone
    else): the list form of ``is_assisting_operator(user, patient, ticket_id)``."""
    if not _active_operator(user):
        return AssistedAction.objects.none().values("ticket_id")
    return AssistedAction.objects.filter(operator=user, kind=AssistedAction.Kind.TOOK_TOKEN).values(
        "ticket_id"
    )


def acts_for(user: Any, patient: Patient) -> bool:
    """The holder of the patient's account, or an operator assisting them."""
    return is_account_holder(user, patient) or is_assisting_operator(user, patient)
