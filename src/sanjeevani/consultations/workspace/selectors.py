"""Read queries of the workspace pages, shaped for them: the doctor, their queue, the record.

Consultations themselves are found through ``consultations.selectors`` (scoped to the
asking user and the mount's service line).
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied

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
                "language": e.language,
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
