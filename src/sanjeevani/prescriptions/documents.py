"""The prescription's PDF, rendered once and served from storage.

A download used to render the PDF every time (about 90 ms of worker CPU, the slowest
endpoint). Now the PDF is rendered and stored by the writes that change it: issuing
(``store_pdf_at_issue``) and correcting, which stores the old one again with its
"superseded" banner. ``pdf_for`` serves the stored bytes. A download never writes (no GET
changes state): a prescription issued before PDFs were kept is rendered for that download
only, until ``manage.py store_prescription_pdfs`` (``store_missing_pdfs``) stores it.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import F
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
    """The stored PDF; when none is stored for the prescription's status, one rendered for
    this download and not kept (a read never writes)."""
    stored = (
        PrescriptionDocument.objects.filter(
            prescription=prescription, rendered_for_status=prescription.status
        )
        .values_list("pdf", flat=True)
        .first()
    )
    if stored is not None:
        return bytes(stored)
    return rendering.render_prescription_pdf(prescription, request=request)


def store_missing_pdfs(batch: int = 100) -> int:
    """Render and store the PDF of every prescription that has none for its status (those
    issued before PDFs were kept, or whose render failed at issue). One transaction per
    prescription, so an interrupted run keeps what it stored. Returns how many it stored."""
    stored = 0
    while True:
        missing = list(
            Prescription.objects.exclude(
                pk__in=PrescriptionDocument.objects.filter(
                    rendered_for_status=F("prescription__status")
                ).values("prescription_id")
            ).order_by("issued_at")[:batch]
        )
        for prescription in missing:
            with transaction.atomic():
                store_pdf(prescription)
            stored += 1
        if len(missing) < batch:
            return stored
