"""Uploads that are one allowed type on the outside and something else inside are refused.

Each sample below is a file that passes a first-bytes type check (the check before issue 10)
and that some other program would open as a web page, an archive or a PDF. Genuine files
made by real encoders (Pillow, pypdf), with metadata, and plain random data behind a valid
header must still pass: a false alarm stops a patient from sharing a real report.
"""

from __future__ import annotations

import io
import random
import zipfile

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image
from rest_framework.test import APIClient

from sanjeevani.patients.models import PatientDocument
from sanjeevani.patients.uploads import check_clinical_upload, hidden_formats
from tests.opd.pages_support import PNG_BYTES, make_clinic, pdf_bytes

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
HTML = b"<html><body><script>fetch('/api/v1/patients/')</script></body></html>"


def jpeg_bytes(**save_options) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 24), (200, 30, 30)).save(out, "JPEG", **save_options)
    return out.getvalue()


def png_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 24), (30, 200, 30)).save(out, "PNG")
    return out.getvalue()


def zip_bytes(content: bytes = HTML) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("index.html", content)
    return out.getvalue()


def upload(data: bytes, name: str = "report.bin") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


def refusal(data: bytes) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        check_clinical_upload(upload(data))
    return caught.value


# --- genuine files pass ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "mime"),
    [
        (lambda: PDF, "application/pdf"),
        (pdf_bytes, "application/pdf"),
        (png_bytes, "image/png"),
        (lambda: PNG_BYTES, "image/png"),
        (jpeg_bytes, "image/jpeg"),
        # a phone photo carries EXIF and often XMP (XML, but not a web page)
        (
            lambda: jpeg_bytes(
                exif=Image.Exif(),
                comment=b'<?xpacket begin=""?><x:xmpmeta xmlns:x="adobe:ns:meta/"/>',
            ),
            "image/jpeg",
        ),
    ],
    ids=["tiny-pdf", "pypdf", "pillow-png", "tiny-png", "pillow-jpeg", "jpeg-with-xmp"],
)
def test_genuine_files_pass(make, mime):
    assert check_clinical_upload(upload(make())).content_type == mime


def test_random_data_behind_a_valid_header_raises_no_false_alarm():
    """Compressed image data looks random: 20 MB of it must not contain a marker by chance."""
    rng = random.Random(20261201)
    for header in (b"\xff\xd8\xff\xe0", b"\x89PNG\r\n\x1a\n", b"%PDF-1.7\n"):
        data = header + rng.randbytes(5 * 1024 * 1024)
        mime = {b"\xff": "image/jpeg", b"\x89": "image/png", b"%": "application/pdf"}[header[:1]]
        assert hidden_formats(mime, data) == []


# --- polyglots are refused ------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        PDF.replace(b"trailer", b"%" + HTML + b"\ntrailer"),  # PDF and HTML
        PDF + zip_bytes(),  # PDF and ZIP (a ZIP reader starts from the end)
        png_bytes() + HTML,  # PNG with trailing HTML
        png_bytes() + b"<svg onload=alert(1)>",  # PNG and SVG
        jpeg_bytes() + b"\n<ScRiPt>alert(1)</sCrIpT>",  # any letter case
        jpeg_bytes(comment=b"%PDF-1.7\n1 0 obj<<>>endobj"),  # a PDF inside a JPEG comment
        jpeg_bytes() + zip_bytes(),  # JPEG and ZIP (the old GIFAR trick)
        png_bytes() + b"<!DOCTYPE html><title>x</title>",
    ],
    ids=[
        "pdf-html",
        "pdf-zip",
        "png-trailing-html",
        "png-svg",
        "jpeg-script-mixed-case",
        "jpeg-pdf",
        "jpeg-zip",
        "png-doctype",
    ],
)
def test_polyglots_are_refused_with_a_clear_message(data):
    error = refusal(data)
    assert error.code == "mixed_type"
    assert "hidden inside" in error.messages[0]
    assert "save or scan it again" in error.messages[0]


@pytest.mark.parametrize(
    "data",
    [
        HTML + b"\n" + PDF,  # a PDF reader finds %PDF within the first kilobyte
        b"\xef\xbb\xbf" + PDF,  # a byte-order mark before the header
        b"\x89PNG\r\n" + b"\x00" * 64,  # a truncated PNG signature
        zip_bytes(),
    ],
    ids=["html-then-pdf", "bom-pdf", "truncated-png-signature", "bare-zip"],
)
def test_the_signature_must_sit_at_byte_zero(data):
    error = refusal(data)
    assert error.code == "bad_type"
    assert "Only PDF, JPEG or PNG" in error.messages[0]


def test_a_zip_signature_by_chance_is_not_a_zip():
    """The four bytes of a ZIP end record alone do not make an archive: the central directory
    it points to must really be there."""
    data = png_bytes() + b"PK\x05\x06" + b"\x00" * 8 + b"\xff" * 10
    assert hidden_formats("image/png", data) == []
    assert hidden_formats("image/png", png_bytes() + zip_bytes(b"notes")) == ["zip"]


# --- through HTTP, both doors, on whichever database the run uses ---------------------------


@pytest.fixture
def clinic(db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "private-media"
    return make_clinic()


def test_api_refuses_a_pdf_zip_polyglot_and_stores_nothing(clinic):
    api = APIClient()
    api.force_authenticate(clinic.patient.account)
    response = api.post(
        f"/api/v1/patients/{clinic.patient.pk}/documents/",
        {"file": upload(pdf_bytes() + zip_bytes(), "old-rx.pdf"), "kind": "report"},
    )
    assert response.status_code == 400
    assert "hidden inside" in response.json()["error"]["message"]
    assert not PatientDocument.objects.exists()


def test_page_upload_refuses_a_png_with_html_and_says_why(client, clinic):
    client.force_login(clinic.patient.account)
    back = reverse("opd:history")
    response = client.post(
        reverse("opd:upload", args=[clinic.patient.pk]),
        {
            "file": upload(png_bytes() + HTML, "scan.png"),
            "title": "Scan",
            "kind": "report",
            "back": back,
        },
    )
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "hidden inside" in page
    assert not PatientDocument.objects.exists()


def test_room_file_share_refuses_a_jpeg_zip_polyglot(db, settings, tmp_path):
    """Files shared during a call pass the same check (realtime.services.share_file)."""
    from sanjeevani.realtime.models import ChatMessage
    from tests.realtime.factories import ConsultationFactory

    settings.MEDIA_ROOT = tmp_path / "private-media"
    consultation = ConsultationFactory()
    api = APIClient()
    api.force_authenticate(consultation.patient.account)
    response = api.post(
        f"/api/v1/realtime/rooms/{consultation.pk}/files",
        {"file": upload(jpeg_bytes() + zip_bytes(), "photo.jpg")},
        format="multipart",
    )
    assert response.status_code == 400
    assert "hidden inside" in response.json()["error"]["message"]
    assert not ChatMessage.objects.filter(consultation=consultation, kind="file").exists()
