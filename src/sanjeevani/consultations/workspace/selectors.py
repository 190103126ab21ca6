"""Read queries of the workspace pages, shaped for them: the doctor, their queue, the record.

Consultations themselves are found through ``consultations.selectors`` (scoped to the
asking user and the mount's service line).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied

from sanjeevani.accounts.models import Role
from sanjeevani.audit.models import AuditEvent
from sanjeevani.consultations import diagnoses
from sanjeevani.consultations import services as consultation_services
from sanjeevani.consultations.models import Consultation
from sanjeevani.queueing import selectors as queue_selectors
from sanjeevani.queueing.models import DoctorPresence
from sanjeevani.registry.models import DoctorProfile


def doctor_profile_of(user) -> DoctorProfile | None:
    return DoctorProfile.objects.filter(user=user).first() if user.is_authenticated else None


def search_icd10(query: str, limit: int = diagnoses.DEFAULT_LIMIT) -> list[dict[str, str]]:
    """ICD-10 codes for the diagnosis field, most relevant first (code, title, then lay and
    Hindi terms: see ``consultations.diagnoses``); the page needs only code and label."""
    return [{"code": d.code, "label": d.label} for d in diagnoses.search(query, limit)]


def presence_of(doctor: DoctorProfile) -> DoctorPresence | None:
    return queue_selectors.presence_of(doctor)


def prescriptions_of(consultation: Consultation) -> list:
    related = getattr(consultation, "prescriptions", None)
    return list(related.order_by("-issued_at") if related is not None else [])


def doctor_queue_view(doctor: DoctorProfile) -> dict | None:
    """The queue the doctor serves now, or None when they are not online."""
    try:
        queue = queue_selectors.doctor_queue(doctor)
    except PermissionDenied:
        return None
    return {
        "opd": {"id": str(queue.opd.pk), "name": queue.opd.name},
        "waiting": queue.waiting,
        "longest_wait_minutes": queue.longest_wait_seconds // 60,
        "entries": [
            {
                "token_number": e.token_number,
                "age": e.age,
                "sex": e.sex,
                "language": language_name(e.language),
                "complaint": e.complaint,
                "waited_minutes": e.waited_seconds // 60,
                "follow_up_for_me": e.follow_up_for_me,
            }
            for e in queue.entries
        ],
    }


def record_of(consultation: Consultation) -> dict:
    """The record as the editor loads it, with the revision it was read at."""
    return {
        "revision": consultation.record_revision,
        "complaints": consultation.complaints,
        "history": consultation.history,
        "findings": consultation.findings,
        "vitals": vitals_for_editor(consultation.vitals or {}),
        "diagnoses": consultation.diagnoses or [],
        "investigations": consultation.investigations,
        "advice": consultation.advice,
        "follow_up_on": consultation.follow_up_on.isoformat() if consultation.follow_up_on else "",
        "referral": consultation.referral,
    }


def vitals_for_editor(vitals: dict) -> dict:
    """The stored vitals plus the temperature in °F, the unit the editor asks for."""
    shown = dict(vitals)
    if shown.get("temperature_c") is not None:
        shown["temperature_f"] = consultation_services.fahrenheit(shown["temperature_c"])
    return shown


def language_name(code: str) -> str:
    """A language as the doctor reads it ("Kannada"), not its code ("kn")."""
    return str(dict(settings.LANGUAGES).get(code or "", code or ""))


def ending_of(consultation: Consultation) -> dict[str, str]:
    """How an ended consultation ended (``reason``) and who ended it (``by``), from its
    ``consultation.closed`` audit row: the page shows it as the live event said it."""
    if consultation.status != Consultation.Status.ENDED:
        return {"reason": "", "by": ""}
    closed = (
        AuditEvent.objects.filter(action="consultation.closed", object_id=str(consultation.pk))
        .order_by("-at")
        .only("detail", "actor_role")
        .first()
    )
    if closed is None:
        return {"reason": "", "by": ""}
    role = closed.actor_role
    by = "doctor" if role == Role.DOCTOR else "patient" if role == Role.PATIENT else "system"
    return {"reason": str((closed.detail or {}).get("reason", "")), "by": by}


def workspace_state(consultation: Consultation) -> dict[str, Any]:
    """What the workspace page shows of the consultation's state, in the shape of the live
    ``consultation.status`` event plus the steps already done."""
    return {
        "consultation": str(consultation.pk),
        "status": consultation.status,
        "outcome": consultation.outcome or "",
        **ending_of(consultation),
        "identity_confirmed": consultation.identity_confirmed_at is not None,
        "has_prescription": bool(prescriptions_of(consultation)),
    }
