"""The consultation's states and the checks every step of its lifecycle makes: the acting
doctor is the consultation's, the row is locked, the consultation is still open; and the
``consultation.status`` event a step publishes after commit.

Event ``consultation.status`` to ``consultation.<uuid>`` and the doctor's group::

    {"type": "consultation.status", "consultation": "<uuid>", "status": "on_hold",
     "outcome": ""}
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

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


def locked(consultation: Consultation) -> Consultation:
    """In the caller's transaction: the consultation row, locked, with what the steps read."""
    return (
        Consultation.objects.select_for_update(of=("self",))
        .select_related("doctor__user", "patient", "opd")
        .get(pk=consultation.pk)
    )


def require_open(consultation: Consultation) -> None:
    if consultation.status == CStatus.ENDED:
        raise ConsultationError(
            "consultation_ended", _("This consultation has ended; it can no longer be changed.")
        )


def publish_status(consultation: Consultation) -> None:
    event = {
        "type": "consultation.status",
        "consultation": str(consultation.pk),
        "status": consultation.status,
        "outcome": consultation.outcome,
    }
    publish_many_after_commit(
        [
            (consultation_group(consultation.pk), event),
            (doctor_group(consultation.doctor_id), event),
        ]
    )
