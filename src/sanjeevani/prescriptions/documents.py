"""The prescription's PDF, rendered once and served from storage.

A download used to render the PDF every time (about 90 ms of worker CPU, the slowest
endpoint). Now ``store_pdf`` renders it inside the issuing transaction, and ``pdf_for``
serves the stored bytes; a prescription issued before PDFs were kept, or one whose status
changed since (a correction adds the "superseded" banner), is rendered on its next download
and stored then.
"""

from __future__ import annotations

import logging

from django.http import HttpRequest

from . import rendering
from .models import Prescription, PrescriptionDocument

log = logging.getLogger(__name__)


def store_pdf(prescription: Prescription, request: HttpRequest | None = None) -> bytes:
    """Render the PDF and keep it (inserted or replaced). Called in the issuing transaction;
    ``request`` gives the address printed under the QR code, as on a download."""
    pdf = rendering.render_prescription_pdf(prescription, request=request)
    PrescriptionDocument.objects.update_or_create(
        prescription=prescription,
        defaults={"pdf": pdf, "rendered_for_status": prescription.status},
    )
    return pdf


def store_pdf_at_issue(prescription: Prescription, request: HttpRequest | None = None) -> None:
    """``store_pdf`` that never fails the issue: a signed prescription is the record, its
    PDF a rendering of it; if rendering breaks, the first download renders it again."""
    try:
        pdf = rendering.render_prescription_pdf(prescription, request=request)
    except Exception:
        log.exception("Could not render the PDF of prescription %s at issue", prescription.pk)
        return
    PrescriptionDocument.objects.create(
        prescription=prescription, pdf=pdf, rendered_for_status=prescription.status
    )


def pdf_for(prescription: Prescription, request: HttpRequest | None = None) -> bytes:
    """The stored PDF, rendered and stored first when missing or stale."""
    stored = (
        PrescriptionDocument.objects.filter(
            prescription=prescription, rendered_for_status=prescription.status
        )
        .values_list("pdf", flat=True)
        .first()
    )
    if stored is not None:
        return bytes(stored)
    return store_pdf(prescription, request)
