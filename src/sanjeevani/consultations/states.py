"""The consultation's states and the checks every step of its lifecycle makes: the acting
doctor is the consultation's, the row is locked, the consultation is still open; and the
``consultation.status`` event a step publishes after commit.

Event ``consultation.status`` to ``consultation.<uuid>`` and the doctor's group, on every
change of state (the patient joined, hold, resume, and every ending)::

    {"type": "consultation.status", "consultation": "<uuid>", "status": "ended",
     "outcome": "no_show", "reason": "missed", "by": "system"}

``reason`` is the ``CloseReason`` of an ending (``completed``, ``no_show``, ``missed``,
``cancelled``, ``dropped``), else ``""``; ``by`` says who made the change (``doctor``,
``patient`` or ``system`` for housekeeping), so both pages can say it at once.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from sanjeevani.accounts.models import Role
from sanjeevani.config.compiled_queries import locked_row
from sanjeevani.live.groups import consultation_group, doctor_group
from sanjeevani.live.publisher import publish_many_after_commit
from sanjeevani.queueing import services as queue
from sanjeevani.queueing.errors import ConsultationError

from .models import Consultation

Outcome = Consultation.Outcome
CStatus = Consultation.Status
#: Consultation states in which the doctor is occupied and cannot call another patient.
ACTIVE = (CStatus.CALLING, CStatus.IN_PROGRESS)
OPEN = (*ACTIVE, CStatus.ON_HOLD)


def require_doctor_of(user: Any, consultation: Consultation) -> None:
    doctor = queue.doctor_of(user)
    if consultation.doctor_id != doctor.pk:
        raise PermissionDenied(_("Only the doctor of this consultation can do this."))


_locked = locked_row(Consultation, "doctor__user", "patient", "opd", "ticket", "feedback")


def locked(consultation: Consultation) -> Consultation:
    """In the caller's transaction: the consultation row, locked, with what the steps and
    the answer's serializer read (the token and the patient's rating ride on the same query
    instead of one query each). Every write step of the workspace makes this read, so it
    is compiled once per connection."""
    return _locked.one(pk=consultation.pk)


def require_open(consultation: Consultation) -> None:
    if consultation.status == CStatus.ENDED:
        raise ConsultationError(
            "consultation_ended", _("This consultation has ended; it can no longer be changed.")
        )


def changed_by(actor: Any) -> str:
    """Who made a change, as the ``consultation.status`` event says it."""
    if actor is None or not getattr(actor, "is_authenticated", False):
        return "system"
    return "doctor" if getattr(actor, "role", None) == Role.DOCTOR else "patient"


def publish_status(consultation: Consultation, actor: Any = None, reason: str = "") -> None:
    """After commit: the consultation's state to its room and to its doctor's pages."""
    event = {
        "type": "consultation.status",
        "consultation": str(consultation.pk),
        "status": consultation.status,
        "outcome": consultation.outcome,
        "reason": reason,
        "by": changed_by(actor),
    }
    publish_many_after_commit(
        [
            (consultation_group(consultation.pk), event),
            (doctor_group(consultation.doctor_id), event),
        ]
    )
