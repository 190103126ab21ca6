"""Earlier prescriptions and reports a patient shares before a consultation.

Uploading is a state change (one transaction, audited), by the family only. Who else may
read a document is the care-team policy's answer (``consultations.care_team``), a layer
above this one: callers ask it and pass the answer in as ``permitted``.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import QuerySet
from django.http import FileResponse
from django.utils.translation import gettext as _

from sanjeevani.audit.services import record_event

from .family import is_account_holder
from .models import Patient, PatientDocument
from .uploads import check_clinical_upload


def documents_of(patient: Patient) -> QuerySet[PatientDocument]:
    return PatientDocument.objects.filter(patient=patient).select_related("uploaded_by")


def upload_document(
    actor, patient: Patient, file: UploadedFile, title: str, kind: str, *, request=None
) -> PatientDocument:
    """Store one checked file for a patient of the actor's own family.

    Raises ``ValidationError`` (too big, empty, not a PDF/JPEG/PNG) or ``PermissionDenied``.
    """
    if not is_account_holder(actor, patient):
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


def open_document_for(user, document: PatientDocument, *, permitted: bool, request=None):
    """The stored file, opened for reading, after the access check and an audit row.

    ``permitted`` is the care-team policy's answer (``may(user, VIEW_DOCUMENTS, patient)``).
    Raises ``PermissionDenied`` when it is no; views turn that into 404 so a document's
    existence is not revealed.
    """
    if not permitted:
        raise PermissionDenied
    record_event(
        user,
        "patient_document.download",
        obj=document,
        patient_id=document.patient_id,
        request=request,
    )
    return document.file.open("rb")


#: Types a browser may show in its own tab; everything else (PDF included) is downloaded.
#: Chromium's PDF viewer does not run inside a sandboxed document, and a PDF opened by the
#: reader on the device is outside this origin altogether.
INLINE_TYPES = frozenset({"image/jpeg", "image/png"})
#: The policy of a served document: a sandbox (a unique origin: no scripts, no forms, no
#: cookies or storage of this site, no plugins) and nothing to load. Inline styles only
#: because Chromium's own image viewer centres the picture with them (tests/e2e/test_csp.py);
#: with scripts off they cannot do anything else.
DOCUMENT_CSP = (
    "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; frame-ancestors 'none'"
)


def document_response(document: PatientDocument, handle) -> FileResponse:
    """The stored file as a response that can never act as a page of this site.

    Even a file that slipped past the upload check (``uploads.hidden_formats``) is shown in
    a sandbox with sniffing off, and anything but an image is a download, never rendered
    in this origin. Page views and the API both answer with this.
    """
    extension = document.file.name.rsplit(".", 1)[-1]
    response = FileResponse(
        handle,
        content_type=document.content_type,
        as_attachment=document.content_type not in INLINE_TYPES,
        filename=f"{document.title}.{extension}",
    )
    response["Content-Security-Policy"] = DOCUMENT_CSP
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    return response
