"""After a consultation: the patient's rating of it."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from sanjeevani.audit.services import record_event
from sanjeevani.queueing.errors import ConsultationError

from . import care_team
from .care_team import Action
from .models import Consultation, Feedback
from .states import CStatus, locked


def submit_feedback(
    actor: Any, consultation: Consultation, rating: int, comment: str = ""
) -> Feedback:
    """The patient rates an ended consultation, 1 to 5, once."""
    care_team.require(actor, Action.GIVE_FEEDBACK, consultation)
    try:
        rating = int(rating)
    except (TypeError, ValueError):
        rating = 0
    if not 1 <= rating <= 5:
        raise ValidationError({"rating": _("Choose a rating from 1 to 5.")})
    comment = (comment or "").strip()
    if len(comment) > 1000:
        raise ValidationError({"comment": _("Keep the comment under 1000 characters.")})
    with transaction.atomic():
        consultation = locked(consultation)
        if consultation.status != CStatus.ENDED:
            raise ConsultationError(
                "consultation_open", _("You can give feedback once the consultation has ended.")
            )
        try:
            with transaction.atomic():
                feedback = Feedback.objects.create(
                    consultation=consultation, rating=rating, comment=comment, submitted_by=actor
                )
        except IntegrityError:
            raise ConsultationError(
                "feedback_given",
                _("You have already given feedback on this consultation. Thank you!"),
            ) from None
        record_event(
            actor,
            "consultation.feedback",
            obj=feedback,
            patient_id=consultation.patient_id,
            detail={"rating": rating},
        )
    return feedback
