"""Earlier prescriptions and reports a patient shares before a consultation.

Uploading is a state change (one transaction, audited); who may read a document is decided
here too, so the page view and the API ask the same question.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from sanjeevani.audit.services import record_event

from .models import Patient, PatientDocument
from .uploads import check_clinical_upload


def _is_family_account(user, patient: Patient) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and patient.account_id == user.pk


def _doctor_of(user, patient: Patient) -> bool:
    """A doctor sees a patient's documents while the patient is in their care: any
    consultation of this doctor with this patient, open or ended."""
    profile = getattr(user, "doctor_profile", None) if user.is_authenticated else None
    if profile is None:
        return False
    return patient.consultations.filter(doctor=profile).exists()


def can_read_documents(user, patient: Patient) -> bool:
    return _is_family_account(user, patient) or _doctor_of(user, patient)


def documents_of(patient: Patient) -> QuerySet[PatientDocument]:
    return PatientDocument.objects.filter(patient=patient).select_related("uploaded_by")


def upload_document(
    actor, patient: Patient, file: UploadedFile, title: str, kind: str, *, request=None
) -> PatientDocument:
    """Store one checked file for a patient of the actor's own family.

    Raises ``ValidationError`` (too big, empty, not a PDF/JPEG/PNG) or ``PermissionDenied``.
    """
    if not _is_family_account(actor, patient):
        raise PermissionDenied(_("You can add documents only to your own family's profiles."))
    checked = check_clinical_upload(file)
    if kind not in PatientDocument.Kind.values:
        kind = PatientDocument.Kind.OTHER
    title = (title or "").strip()[:150] or PatientDocument.Kind(kind).label
    file.name = f"upload.{checked.extension}"
    with transaction.atomic():
        document = PatientDocument(
            patient=patient,
            uploaded_by=actor,
            title=str(title),
            kind=kind,
            content_type=checked.content_type,
            size=checked.size,
        )
        document.file = file
        document.save()
        try:
            record_event(
                actor,
                "patient_document.upload",
                obj=document,
                patient_id=patient.pk,
                request=request,
                detail={"kind": kind, "size": checked.size, "content_type": checked.content_type},
            )
        except Exception:
            document.file.delete(save=False)
            raise
    return document


def open_document_for(user, document: PatientDocument, *, request=None):
    """The stored file, opened for reading, after the access check and an audit row.

    Raises ``PermissionDenied`` for anyone who is not the patient's account or their doctor;
    views turn that into 404 so a document's existence is not revealed.
    """
    if not can_read_documents(user, document.patient):
        raise PermissionDenied
    record_event(
        user,
        "patient_document.download",
        obj=document,
        patient_id=document.patient_id,
        request=request,
    )
    return document.file.open("rb")
