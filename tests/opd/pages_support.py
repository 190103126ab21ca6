"""Sample data for the OPD page tests: a state with an open OPD, a family, a doctor."""

from __future__ import annotations

import io
from dataclasses import dataclass

from django.core.files.uploadedfile import SimpleUploadedFile

from sanjeevani.patients.models import Patient
from sanjeevani.registry.models import DoctorProfile, OnlineOPD, State
from tests.factories import (
    DoctorFactory,
    OnlineOPDFactory,
    PatientFactory,
    StateFactory,
)

PNG_BYTES = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00"
    b"\x00\x00\x00IEND\xaeB`\x82"
)


@dataclass
class Clinic:
    state: State
    opd: OnlineOPD
    patient: Patient
    doctor: DoctorProfile


def make_clinic(**opd_kwargs) -> Clinic:
    state = StateFactory(code="KA", name="Karnataka")
    opd = OnlineOPDFactory(state=state, name="Karnataka General OPD", **opd_kwargs)
    patient = PatientFactory(state=state, name="Asha Devi")
    doctor = DoctorFactory(state=state, registration_number="KMC-424242")
    doctor.opds.add(opd)
    return Clinic(state=state, opd=opd, patient=patient, doctor=doctor)


def png_upload(name: str = "report.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PNG_BYTES, content_type="image/png")


def text_upload(name: str = "report.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(
        name, b"just text pretending to be a PDF", content_type="application/pdf"
    )


def pdf_bytes() -> bytes:
    from pypdf import PdfWriter

    out = io.BytesIO()
    writer = PdfWriter()
    writer.add_blank_page(width=72, height=72)
    writer.write(out)
    return out.getvalue()
