"""The PDF is rendered once, at issue, and served from storage; the page speaks the
patient's language; the file name is dated in IST."""

from __future__ import annotations

import datetime as dt
import io
import re
from unittest import mock

import pytest
from django.core.management import call_command
from django.utils import timezone, translation
from django.utils.translation import pgettext
from pypdf import PdfReader

from sanjeevani.prescriptions import documents
from sanjeevani.prescriptions.models import Prescription, PrescriptionDocument
from sanjeevani.prescriptions.rendering import pdf_file_name
from tests.factories import PASSWORD
from tests.prescriptions.conftest import api_for, issue, line
from tests.prescriptions.factories import VideoConsultationFactory

pytestmark = pytest.mark.django_db


def pdf_text(data: bytes) -> str:
    return " ".join(
        " ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages).split()
    )


def issued(language: str = "en", **consultation):
    consultation = VideoConsultationFactory(**consultation)
    response = issue(consultation, [line("paracetamol")], language=language)
    assert response.status_code == 201, response.content
    return consultation, Prescription.objects.get(pk=response.json()["id"])


@pytest.fixture
def renders():
    """Counts PDF renders (the one place documents render through)."""
    real = documents.rendering.render_prescription_pdf
    with mock.patch.object(
        documents.rendering, "render_prescription_pdf", side_effect=real
    ) as counted:
        yield counted


def test_the_pdf_is_stored_when_the_prescription_is_issued(renders):
    _consultation, prescription = issued()
    assert renders.call_count == 1
    stored = PrescriptionDocument.objects.get(prescription=prescription)
    assert stored.rendered_for_status == Prescription.Status.ISSUED
    assert bytes(stored.pdf).startswith(b"%PDF")
    assert "paracetamol" in pdf_text(bytes(stored.pdf))


def test_downloads_serve_the_stored_pdf_without_rendering_again(client, renders):
    consultation, prescription = issued()
    stored = bytes(PrescriptionDocument.objects.get(prescription=prescription).pdf)
    renders.reset_mock()
    client.force_login(consultation.patient.account)
    first = client.get(f"/rx/{prescription.pk}/pdf/")
    second = client.get(f"/rx/{prescription.pk}/pdf/")
    api = api_for(consultation.patient.account).get(
        f"/api/v1/prescriptions/{prescription.pk}/pdf/", HTTP_ACCEPT="application/pdf"
    )
    assert [first.status_code, second.status_code, api.status_code] == [200, 200, 200]
    assert first.content == second.content == api.content == stored
    assert renders.call_count == 0


def test_a_prescription_from_before_stored_pdfs_is_rendered_without_a_write_until_stored(
    client, renders
):
    consultation, prescription = issued()
    PrescriptionDocument.objects.filter(prescription=prescription).delete()
    renders.reset_mock()
    client.force_login(consultation.patient.account)
    first = client.get(f"/rx/{prescription.pk}/pdf/")
    assert renders.call_count == 1
    assert not PrescriptionDocument.objects.filter(prescription=prescription).exists()
    assert "paracetamol" in pdf_text(first.content)
    out = io.StringIO()
    call_command("store_prescription_pdfs", stdout=out)
    assert "1 prescription PDF(s) stored" in out.getvalue()
    assert renders.call_count == 2
    second = client.get(f"/rx/{prescription.pk}/pdf/")
    third = client.get(f"/rx/{prescription.pk}/pdf/")
    assert renders.call_count == 2
    assert second.content == third.content
    assert "paracetamol" in pdf_text(second.content)
    call_command("store_prescription_pdfs", stdout=out)
    assert renders.call_count == 2


def test_a_correction_stores_the_superseded_pdf_with_its_banner(client, renders):
    consultation, old = issued()
    renders.reset_mock()
    response = api_for(consultation.doctor.user).post(
        f"/api/v1/prescriptions/{old.pk}/correct/",
        {"items": [line("cetirizine")], "password": PASSWORD},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert renders.call_count == 2  # the new prescription and the old one's banner
    renders.reset_mock()
    client.force_login(consultation.patient.account)
    first = client.get(f"/rx/{old.pk}/pdf/")
    client.get(f"/rx/{old.pk}/pdf/")
    assert renders.call_count == 0
    assert "Superseded" in pdf_text(first.content)
    stored = PrescriptionDocument.objects.get(prescription=old)
    assert stored.rendered_for_status == Prescription.Status.SUPERSEDED


@pytest.mark.parametrize(
    ("issued_at_utc", "expected"),
    [
        # 18:40 UTC on 1 December is 00:10 IST on 2 December.
        (dt.datetime(2026, 12, 1, 18, 40, tzinfo=dt.UTC), "20261202-0010"),
        # 18:29 UTC is still 23:59 IST the same day.
        (dt.datetime(2026, 12, 1, 18, 29, tzinfo=dt.UTC), "20261201-2359"),
    ],
)
def test_the_file_name_is_dated_in_ist(client, issued_at_utc, expected):
    consultation = VideoConsultationFactory()
    with mock.patch.object(timezone, "now", return_value=issued_at_utc):
        # Only the issue is at the fixed time; the rest of the test is now.
        response = issue(consultation, [line("paracetamol")], language="en")
    assert response.status_code == 201, response.content
    prescription = Prescription.objects.get(pk=response.json()["id"])
    assert prescription.issued_at == issued_at_utc
    assert pdf_file_name(prescription).endswith(f"-{expected}.pdf")
    client.force_login(consultation.patient.account)
    download = client.get(f"/rx/{prescription.pk}/pdf/")
    assert f'-{expected}.pdf"' in download["Content-Disposition"]
    # The sheet prints the same IST date and time as the file name.
    hours, minutes = expected[-4:-2], expected[-2:]
    assert f"{hours}:{minutes} IST" in pdf_text(download.content)


def hindi(label: str) -> str:
    with translation.override("hi"):
        translated = pgettext("prescription", label)
    assert translated != label, f"no Hindi for {label!r}"
    return translated


def page_language(html: str) -> str:
    return re.search(r'<html lang="([^"]+)"', html).group(1)


def test_the_family_sees_the_page_in_the_patients_language(client):
    consultation, prescription = issued("en", patient__preferred_language="hi")
    client.force_login(consultation.patient.account)
    html = client.get(f"/rx/{prescription.pk}/").content.decode()
    assert page_language(html) == "hi"
    assert hindi("Download PDF") in html
    # The sheet stays in the prescription's own language.
    assert '<article class="rx-sheet" lang="en">' in html
    assert "Medicines" in html


def test_the_language_the_family_picked_wins_over_the_profile(client, settings):
    consultation, prescription = issued("hi", patient__preferred_language="hi")
    client.force_login(consultation.patient.account)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    html = client.get(f"/rx/{prescription.pk}/").content.decode()
    assert page_language(html) == "en"
    assert "Download PDF" in html
    assert '<article class="rx-sheet" lang="hi">' in html
    assert hindi("Medicines") in html


def test_the_doctor_keeps_their_own_language(client):
    consultation, prescription = issued("en", patient__preferred_language="hi")
    client.force_login(consultation.doctor.user)
    html = client.get(f"/rx/{prescription.pk}/").content.decode()
    assert page_language(html) == "en"
