"""Read queries for prescriptions: who may see one, the catalogue search, the history the
guideline rules need."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from sanjeevani.consultations import care_team
from sanjeevani.consultations.care_team import Action
from sanjeevani.consultations.models import Consultation

from .doctor_keys import doctor_signature_status
from .guidelines import FOLLOW_UP_WINDOW_DAYS, PatientHistory, normalise_name
from .medicine_names import resolve
from .models import Medicine, Prescription, PrescriptionItem
from .signing import verify


def viewable_prescription(user: Any, prescription_id: uuid.UUID | str) -> Prescription:
    """The prescription if the care-team policy lets ``user`` see it (the family, the
    consultation's doctor, the centre it was requested from); otherwise 404, so that a
    stranger cannot tell whether the id exists."""
    try:
        prescription = (
            Prescription.objects.select_related(
                "patient",
                "doctor__user",
                "consultation__patient",
                "consultation__doctor",
                "supersedes",
                "superseded_by",
            )
            .prefetch_related("items")
            .get(pk=prescription_id)
        )
    except (Prescription.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc
    if not care_team.may(user, Action.VIEW_PRESCRIPTION, prescription.consultation):
        raise Http404
    return prescription


def prescriptions_for(user: Any) -> QuerySet[Prescription]:
    """The prescriptions a user may list: those of the consultations the care-team policy
    lets them see prescriptions of (their family's, the ones they issued, their centre's)."""
    visible = care_team.cases_visible_to(user, Action.VIEW_PRESCRIPTION)
    return (
        Prescription.objects.filter(consultation__in=visible.values("pk"))
        .select_related("patient", "doctor__user")
        .order_by("-issued_at")
    )


def prescription_by_code(code: str) -> Prescription | None:
    """One indexed lookup for the public verification page."""
    return (
        Prescription.objects.only(
            "id",
            "patient_id",
            "status",
            "content",
            "signature",
            "key_id",
            "doctor_id",
            "doctor_signature",
            "doctor_key_id",
            "verification_code",
            "issued_at",
        )
        .filter(verification_code=code)
        .first()
    )


def search_medicines(query: str, limit: int = 20) -> QuerySet[Medicine]:
    """Prefix matches first (any word of the generic name), then other substring matches."""
    query = query.strip().casefold()
    qs = Medicine.objects.filter(is_active=True)
    if not query:
        return qs.order_by("generic_name", "form", "strength")[:limit]
    prefix = list(qs.filter(search_name__startswith=query)[:limit])
    if len(prefix) >= limit:
        return prefix  # type: ignore[return-value]
    seen = [m.pk for m in prefix]
    rest = list(qs.filter(search_name__contains=query).exclude(pk__in=seen)[: limit - len(prefix)])
    return prefix + rest  # type: ignore[return-value]


def diagnosis_categories(diagnoses: Any) -> frozenset[str]:
    """ICD-10 categories (the three characters before the dot: "E11" of "E11.9") of a
    diagnosis list as stored (``[{"code", "label"}]``); anything malformed is skipped."""
    found = set()
    for diagnosis in diagnoses or []:
        code = str(diagnosis.get("code", "")) if isinstance(diagnosis, dict) else ""
        category = code.strip().upper().split(".")[0][:3]
        if len(category) == 3 and category[0].isalpha():
            found.add(category)
    return frozenset(found)


def patient_history(consultation: Consultation) -> PatientHistory:
    """The facts the List A and List B rules depend on (see ``guidelines``), from the
    patient's own earlier prescriptions only: issued and not superseded, in the last six
    months, written by the same doctor (or, hub and spoke, at the same hub), for the same
    condition (a shared ICD-10 category). A booked follow-up link alone does not make one: a
    follow-up token taken by another doctor is not a follow-up with the same doctor. What
    this very consultation prescribes is not yet a medicine the patient "already takes"."""
    categories = diagnosis_categories(consultation.diagnoses)
    since = timezone.now() - dt.timedelta(days=FOLLOW_UP_WINDOW_DAYS)
    earlier = list(
        Prescription.objects.filter(
            patient_id=consultation.patient_id,
            status=Prescription.Status.ISSUED,
            issued_at__gte=since,
        )
        .exclude(consultation_id=consultation.pk)
        .select_related("consultation")
        .only("id", "doctor_id", "content", "consultation__hub_id", "consultation__diagnoses")
    )
    basis, note = [], ""
    if earlier:

        def same_team(p: Prescription) -> bool:
            hub_id = consultation.hub_id
            return p.doctor_id == consultation.doctor_id or bool(
                hub_id and p.consultation.hub_id == hub_id
            )

        def same_condition(p: Prescription) -> bool:
            stored = (p.content or {}).get("diagnoses") or p.consultation.diagnoses
            return bool(categories & diagnosis_categories(stored))

        basis = [p for p in earlier if same_team(p) and same_condition(p)]
        if not basis:
            if not categories:
                note = "no_diagnosis"
            elif any(same_condition(p) for p in earlier):
                note = "other_doctor"
            elif any(same_team(p) for p in earlier):
                note = "other_condition"
    names = PrescriptionItem.objects.filter(prescription__in=basis).values_list(
        "generic_name", flat=True
    )
    current, classes = set(), set()
    for name in names:
        for generic in resolve(name).generics:
            current.add(normalise_name(generic.name))
            if generic.category:
                classes.add(generic.category)
    return PatientHistory(
        had_video=bool(consultation.had_video),
        is_follow_up=bool(basis),
        current_medicines=frozenset(current),
        current_categories=frozenset(classes),
        note=note,
    )


def medicines_by_id(ids: list[Any]) -> dict[str, Medicine]:
    return {str(m.pk): m for m in Medicine.objects.filter(Q(pk__in=ids))}


PUBLIC_MEDICINE_FIELDS = (
    "generic_name",
    "form",
    "strength",
    "dose",
    "frequency",
    "route",
    "duration",
    "quantity",
)


def public_verification(code: str) -> dict[str, Any]:
    """What the QR page and the public API say: the verdict and only what a pharmacist needs
    (no full name, no phone, no diagnosis). ``status`` is genuine, superseded, altered or
    not_found; an altered prescription shows nothing of its (untrusted) contents."""
    prescription = prescription_by_code(code) if code else None
    if prescription is None:
        return {"status": "not_found", "summary": None, "signatures": None}
    # Both signatures are checked and shown; either one failing means "altered". "absent"
    # is only for prescriptions issued before doctors signed with their own key.
    signatures = {
        "platform": {
            "key_id": prescription.key_id,
            "status": "valid" if verify(prescription) else "invalid",
        },
        "doctor": {
            "key_id": prescription.doctor_key_id,
            "status": doctor_signature_status(prescription),
        },
    }
    if "invalid" in (signatures["platform"]["status"], signatures["doctor"]["status"]):
        return {
            "status": "altered",
            "summary": None,
            "signatures": signatures,
            "prescription": prescription,
        }
    content = prescription.content
    summary = {
        "issued_at": content["issued_at"],
        "doctor": {
            key: content["doctor"].get(key, "")
            for key in ("name", "registration_number", "council", "phone", "email")
        },
        "patient": {key: content["patient"][key] for key in ("initials", "age_years", "sex")},
        "medicines": [
            {key: m.get(key, "") for key in PUBLIC_MEDICINE_FIELDS} for m in content["medicines"]
        ],
    }
    status = "superseded" if prescription.status == Prescription.Status.SUPERSEDED else "genuine"
    return {
        "status": status,
        "summary": summary,
        "signatures": signatures,
        "prescription": prescription,
    }
