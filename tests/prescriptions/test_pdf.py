"""The prescription as PDF and on screen: one template, English and Hindi."""

from __future__ import annotations

import io
import threading

import pytest
from django.utils import translation
from django.utils.translation import pgettext
from pypdf import PdfReader

from tests.prescriptions.conftest import api_for, issue, line
from tests.prescriptions.factories import VideoConsultationFactory

pytestmark = pytest.mark.django_db


def hindi(label: str) -> str:
    """The Hindi label as the catalogues give it; fails if there is none."""
    with translation.override("hi"):
        translated = pgettext("prescription", label)
    assert translated != label, f"no Hindi for {label!r}"
    return translated


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def pdf_fonts(data: bytes) -> set[str]:
    fonts = set()
    for page in PdfReader(io.BytesIO(data)).pages:
        for font in page["/Resources"]["/Font"].values():
            fonts.add(str(font.get_object()["/BaseFont"]))
    return fonts


def issued(language: str):
    consultation = VideoConsultationFactory()
    response = issue(
        consultation,
        [line("metformin", dose="1 tablet", frequency="after breakfast"), line("paracetamol")],
        investigations="HbA1c",
        advice="Walk 30 minutes a day",
        follow_up_on="2030-01-15",
        language=language,
    )
    assert response.status_code == 201, response.content
    return consultation, response.json()


def test_english_pdf_holds_what_the_guidelines_ask(client):
    consultation, rx = issued("en")
    client.force_login(consultation.patient.account)
    response = client.get(f"/rx/{rx['id']}/pdf/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    text = pdf_text(response.content)
    doctor = consultation.doctor
    for expected in (
        doctor.registration_number,
        doctor.council,
        "metformin",
        "paracetamol",
        "This prescription is generated on a teleconsultation",
        consultation.patient.name,
        consultation.patient.patient_number,
        "HbA1c",
        "Fever, unspecified",
        rx["verification_code"],
    ):
        assert expected in text, expected
    assert any(
        "NotoSansDevanagari" in name.replace("-", "") for name in pdf_fonts(response.content)
    )


def test_hindi_pdf_uses_hindi_labels_and_the_devanagari_font(client):
    consultation, rx = issued("hi")
    client.force_login(consultation.patient.account)
    response = client.get(f"/rx/{rx['id']}/pdf/")
    assert response.status_code == 200
    text = pdf_text(response.content)
    assert consultation.doctor.registration_number in text
    assert "metformin" in text
    assert "This prescription is generated" not in text
    label = hindi("Registration No.")
    assert label in text
    assert any(
        "NotoSansDevanagari" in name.replace("-", "") for name in pdf_fonts(response.content)
    )


def test_screen_view_renders_the_same_sheet(client):
    consultation, rx = issued("en")
    client.force_login(consultation.patient.account)
    response = client.get(f"/rx/{rx['id']}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert consultation.doctor.registration_number in html
    assert "This prescription is generated on a teleconsultation" in html
    assert 'class="rx-sheet"' in html
    assert "data:image/svg+xml" in html
    assert f"/rx/{rx['id']}/pdf/" in html


def test_hindi_screen_view_is_in_hindi(client):
    consultation, rx = issued("hi")
    client.force_login(consultation.doctor.user)
    html = client.get(f"/rx/{rx['id']}/").content.decode()
    assert hindi("This prescription is generated on a teleconsultation") in html
    assert hindi("Medicines") in html


def test_api_returns_the_pdf(client):
    consultation, rx = issued("en")
    response = api_for(consultation.patient.account).get(
        f"/api/v1/prescriptions/{rx['id']}/pdf/", HTTP_ACCEPT="application/pdf"
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert "metformin" in pdf_text(response.content)


def complete_prescription(language: str, **consultation):
    consultation = VideoConsultationFactory(
        findings="Throat congested",
        vitals={"pulse": 92, "temperature_c": 38.4},
        patient__address="12 Gandhi Road, Mysuru",
        **consultation,
    )
    response = issue(
        consultation,
        [line("metformin", quantity="60 tablets"), line("paracetamol", quantity="10 tablets")],
        follow_up_on="2030-12-15",
        language=language,
    )
    assert response.status_code == 201, response.content
    return consultation, response.json()


def test_pdf_carries_the_complete_prescription(client):
    consultation, rx = complete_prescription("en")
    client.force_login(consultation.patient.account)
    text = pdf_text(client.get(f"/rx/{rx['id']}/pdf/").content)
    flat = " ".join(text.split())
    for expected in (
        consultation.doctor.contact_phone,
        consultation.patient.account.mobile,
        "12 Gandhi Road, Mysuru",
        "Throat congested",
        "Pulse: 92 /min",
        "Temperature: 38.4 °C",
        "60 tablets",
        "10 tablets",
        "Mode of consultation: Video",
        "Identity and age (35 years) of the patient verified by Dr",
        consultation.identity_method,
        rx["doctor_key_id"],
        rx["key_id"],
        "15 December 2030",
        "This prescription is generated on a teleconsultation",
    ):
        assert expected in flat, expected


def test_hindi_pdf_text_layer_extracts_the_words_it_printed(client):
    """The text layer must give back what is printed: the Hindi patient name, the medicine,
    Hindi labels and month names (a wrong ToUnicode map turned दवाइयाँ into दिवाइयाँ)."""
    consultation, rx = complete_prescription("hi", patient__name="सीता राम वर्मा")
    client.force_login(consultation.patient.account)
    text = pdf_text(client.get(f"/rx/{rx['id']}/pdf/").content)
    flat = " ".join(text.split())
    for expected in (
        "सीता राम वर्मा",
        "metformin",
        "60 tablets",
        hindi("Medicines"),
        hindi("Registration No."),
        hindi("Quantity"),
        hindi("Mode of consultation"),
        "15 दिसंबर 2030",
    ):
        assert expected in flat, expected
    assert "दिसमबर" not in flat


@pytest.mark.parametrize(
    ("language", "names"),
    [
        ("en", ["January", "September", "November", "December"]),
        ("hi", ["जनवरी", "सितंबर", "नवंबर", "दिसंबर"]),
    ],
)
def test_month_names_are_spelt_right(language, names):
    import datetime as dt

    from sanjeevani.prescriptions.rendering import format_date

    dates = [dt.date(2030, month, 5) for month in (1, 9, 11, 12)]
    assert [format_date(d, language).split()[1] for d in dates] == names


def test_substitute_glyphs_draw_the_glyphs_they_stand_for(client):
    """The exact text layer gives a glyph a second id where it stands for other text; that id
    must be a composite of the very same glyph, or the page would look different."""
    from fontTools.ttLib import TTFont

    from sanjeevani.prescriptions import pdf_text

    consultation, rx = complete_prescription("hi", patient__name="सीता राम वर्मा")
    client.force_login(consultation.patient.account)
    reader = PdfReader(io.BytesIO(client.get(f"/rx/{rx['id']}/pdf/").content))
    originals = set(pdf_text._PREPARED.values())
    checked = 0
    for font in reader.pages[0]["/Resources"]["/Font"].values():
        descendant = font.get_object()["/DescendantFonts"][0].get_object()
        data = descendant["/FontDescriptor"]["/FontFile2"].get_data()
        ttfont = TTFont(io.BytesIO(data))
        order, glyf = ttfont.getGlyphOrder(), ttfont["glyf"]
        for count in originals:
            for gid in range(count, len(order)):
                glyph = glyf[order[gid]]
                if glyph.numberOfContours == 0:
                    continue  # not used in this document (kept empty by the subset)
                assert glyph.isComposite(), order[gid]
                [component] = glyph.components
                assert ttfont.getGlyphID(component.glyphName) == gid % count
                assert ttfont["hmtx"][order[gid]][0] == ttfont["hmtx"][component.glyphName][0]
                checked += 1
    assert checked, "the Hindi sheet used no substitute glyph: the test proves nothing"


def test_renders_take_turns_in_a_process(monkeypatch):
    """Pango and fontconfig behind WeasyPrint are not safe to share between threads (GLib
    reported corrupted lists under bench/peak_day.py): every render holds the lock."""
    from weasyprint import HTML

    from sanjeevani.prescriptions import rendering

    held = []
    real = HTML.write_pdf

    def write_pdf(self, *args, **kwargs):
        held.append(rendering.RENDER_LOCK.locked())
        return real(self, *args, **kwargs)

    monkeypatch.setattr(HTML, "write_pdf", write_pdf)
    pdf = rendering.html_to_pdf("<p>Paracetamol 500 mg</p>")
    assert pdf.startswith(b"%PDF") and held == [True]
    assert not rendering.RENDER_LOCK.locked()


def test_a_fresh_nodes_first_renders_together_all_get_the_static_fonts(settings, tmp_path):
    """The first renders on a node with no fonts made yet arrive together; none may fall
    back to the variable font (each of its renders is about eight times slower, for the
    life of the process), and no partial file is left behind."""
    from sanjeevani.prescriptions import rendering

    settings.VAR_DIR = tmp_path
    start = threading.Barrier(3)
    made, failed = [], []

    def first_render() -> None:
        start.wait()
        try:
            made.append(rendering.static_font_files())
        except Exception as exc:  # noqa: BLE001 - the test reports every thread's failure
            failed.append(exc)

    threads = [threading.Thread(target=first_render) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failed == []
    assert len(made) == 3 and made[0] == made[1] == made[2]
    assert sorted(path.parent for path in made[0].values()) == [tmp_path / "fonts"] * 2
    assert all(path.stat().st_size > 100_000 for path in made[0].values())
    assert all(path.stat().st_mode & 0o644 == 0o644 for path in made[0].values())
    assert [p.name for p in (tmp_path / "fonts").iterdir() if p.suffix != ".ttf"] == []
