"""After a completed consultation: a follow-up token in the same OPD that waits for the
same doctor."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from sanjeevani.queueing.errors import ConsultationError
from sanjeevani.queueing.models import Ticket

from . import care_team
from .care_team import Action
from .models import Consultation
from .states import CStatus, Outcome
from .tokens import take_token


def book_follow_up(actor: Any, consultation: Consultation, complaint: str = "") -> Ticket:
    """A token in the same OPD that waits for the same doctor while they are online there
    (and goes to any doctor when they are not)."""
    care_team.require(actor, Action.BOOK_FOLLOW_UP, consultation)
    if consultation.status != CStatus.ENDED or consultation.outcome in (
        Outcome.NO_SHOW,
        Outcome.DROPPED,
    ):
        raise ConsultationError(
            "not_completed", _("A follow-up can be booked after a completed consultation.")
        )
    if consultation.opd_id is None:
        raise ConsultationError("no_opd", _("This consultation was not in an online OPD."))
    opd = consultation.opd
    doctor = consultation.doctor
    if not opd.doctors.filter(pk=doctor.pk).exists():
        raise ConsultationError(
            "doctor_not_on_opd",
            _("%(doctor)s no longer serves %(opd)s. Take a token there to see any doctor.")
            % {"doctor": doctor, "opd": opd.name},
        )
    complaint = (complaint or "").strip() or _("Follow-up")
    return take_token(
        actor,
        consultation.patient,
        opd,
        complaint,
        preferred_doctor=doctor,
        follow_up_of=consultation,
    )
