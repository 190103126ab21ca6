"""One HTML template for the screen and the PDF; WeasyPrint turns it into A4.

The PDF renderer is kept warm: the font configuration and the @font-face stylesheet (Noto
Sans Devanagari from the ``fontpkg-noto-sans-devanagari`` package, which also covers Latin)
are built once per process and reused, which saves most of the first render's cost.
"""

from __future__ import annotations

import atexit
import datetime as dt
import functools
import hashlib
import logging
import os
import tempfile
import threading
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import segno
from django.conf import settings
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.safestring import mark_safe
from django.utils.translation import pgettext

from . import pdf_text
from .addresses import verification_url
from .models import Prescription

SCREEN_PAGE = "prescriptions/screen.html"
SCREEN_WRAPPER = "prescriptions/sheet_fragment.html"
PRINT_WRAPPER = "prescriptions/print_wrapper.html"
PRINT_STYLESHEET = "prescriptions/print.css"
PRINT_UA_STYLESHEET = "prescriptions/print_ua.css"
FONT_FAMILY = "Noto Sans Devanagari"
#: India Standard Time: what the sheet prints ("IST") and the file name uses, whatever the
#: server's TIME_ZONE.
IST = ZoneInfo("Asia/Kolkata")
log = logging.getLogger(__name__)
# Per-render progress and font-instancing chatter would flood the log at INFO.
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)
logging.getLogger("fontTools").setLevel(logging.WARNING)


def devanagari_font_file() -> Path:
    import fontpkg_noto_sans_devanagari as package

    files = sorted((Path(package.ROOT) / "files").glob("*.ttf"))
    if not files:
        raise FileNotFoundError("fontpkg-noto-sans-devanagari ships no .ttf file")
    return files[0]


def sex_label(code: str) -> str:
    return {
        "F": pgettext("prescription", "Female"),
        "M": pgettext("prescription", "Male"),
        "O": pgettext("prescription", "Other"),
    }.get(code, code)


#: Month names as printed, per language. Django's Hindi catalogue misspells three months
#: (सितमबर, नवमबर, दिसमबर: the halant is missing); these are CLDR's Hindi names.
MONTHS = {
    "en": (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
    "hi": (
        "जनवरी",
        "फ़रवरी",
        "मार्च",
        "अप्रैल",
        "मई",
        "जून",
        "जुलाई",
        "अगस्त",
        "सितंबर",
        "अक्तूबर",
        "नवंबर",
        "दिसंबर",
    ),
}


def format_date(value: dt.date | None, language: str) -> str:
    """'1 December 2026' / '1 दिसंबर 2026'."""
    if value is None:
        return ""
    months = MONTHS.get(language, MONTHS["en"])
    return f"{value.day} {months[value.month - 1]} {value.year}"


def format_datetime(value: dt.datetime | None, language: str) -> str:
    """'1 December 2026, 14:05' in India time (the content stores it with its offset)."""
    if value is None:
        return ""
    if value.tzinfo is not None:
        value = value.astimezone(IST)
    return f"{format_date(value.date(), language)}, {value:%H:%M}"


def pdf_file_name(prescription: Prescription) -> str:
    """``prescription-<patient number>-<YYYYmmdd-HHMM>.pdf``, the time in IST as printed on
    the sheet (a prescription issued at 00:10 IST is dated that day, not the UTC day before)."""
    number = prescription.content["patient"]["patient_number"]
    return f"prescription-{number}-{prescription.issued_at.astimezone(IST):%Y%m%d-%H%M}.pdf"


def mode_label(code: str) -> str:
    return {
        "video": pgettext("prescription", "Video"),
        "audio": pgettext("prescription", "Audio only"),
        "chat": pgettext("prescription", "Chat (text)"),
    }.get(code, code)


#: Vital signs as printed: (label, unit), in the order they are listed.
def vital_labels() -> dict[str, tuple[str, str]]:
    return {
        "pulse": (pgettext("prescription", "Pulse"), "/min"),
        "bp_systolic": (pgettext("prescription", "BP systolic"), "mmHg"),
        "bp_diastolic": (pgettext("prescription", "BP diastolic"), "mmHg"),
        "temperature_c": (pgettext("prescription", "Temperature"), "°C"),
        "spo2": ("SpO2", "%"),  # no subscript: ₂ is not in the font (a fallback font per PDF)
        "respiratory_rate": (pgettext("prescription", "Respiratory rate"), "/min"),
        "weight_kg": (pgettext("prescription", "Weight"), "kg"),
        "height_cm": (pgettext("prescription", "Height"), "cm"),
        "glucose_mg_dl": (pgettext("prescription", "Blood glucose"), "mg/dL"),
    }


def vital_rows(vitals: dict[str, Any]) -> list[tuple[str, str]]:
    labels = vital_labels()
    rows = []
    for name, (label, unit) in labels.items():
        if vitals.get(name) not in (None, ""):
            rows.append((label, f"{vitals[name]} {unit}"))
    rows += [(name, str(value)) for name, value in vitals.items() if name not in labels]
    return rows


#: One fixed QR mask pattern: a valid code either way, and choosing the "best" of the eight
#: costs more than the rest of the QR code (a twentieth of a PDF render).
QR_MASK = 0


def qr_data_uri(url: str, *, print_mode: bool = False) -> str:
    """The verification QR code: a PNG for the PDF (WeasyPrint draws an image far faster
    than an SVG path of a few hundred squares), an SVG on screen (sharp at any zoom)."""
    code = segno.make(url, error="m", mask=QR_MASK)
    if print_mode:
        return code.png_data_uri(scale=4, border=2)
    return code.svg_data_uri(scale=3, border=2)


def prescription_context(
    prescription: Prescription, *, print_mode: bool, request: HttpRequest | None = None
) -> dict[str, Any]:
    content = prescription.content
    url = verification_url(prescription, request)
    follow_up = content.get("follow_up_on")
    language = prescription.language
    issued_at = dt.datetime.fromisoformat(content["issued_at"])
    identity = content.get("identity") or {}
    confirmed_at = identity.get("confirmed_at")
    return {
        "issued_at_text": format_datetime(issued_at, language),
        "follow_up_text": format_date(
            dt.date.fromisoformat(follow_up) if follow_up else None, language
        ),
        "identity_at_text": format_datetime(
            dt.datetime.fromisoformat(confirmed_at) if confirmed_at else None, language
        ),
        "supersedes_text": format_datetime(
            prescription.supersedes.issued_at if prescription.supersedes_id else None,
            language,
        ),
        "mode_label": mode_label((content.get("consultation") or {}).get("mode", "")),
        "vitals": vital_rows(content.get("vitals") or {}),
        "provisional": any(d.get("provisional") for d in content.get("diagnoses", [])),
        "wrapper": PRINT_WRAPPER if print_mode else SCREEN_WRAPPER,
        "print": print_mode,
        "prescription": prescription,
        "rx": content,
        "issued_at": dt.datetime.fromisoformat(content["issued_at"]),
        "follow_up_on": dt.date.fromisoformat(follow_up) if follow_up else None,
        "sex_label": sex_label(content["patient"]["sex"]),
        "verification_url": url,
        "qr": qr_data_uri(url, print_mode=print_mode),
        "superseded": prescription.status == Prescription.Status.SUPERSEDED,
        "font_family": FONT_FAMILY,
    }


def render_prescription_html(
    prescription: Prescription, *, print_mode: bool = False, request: HttpRequest | None = None
) -> str:
    """The sheet in the prescription's own language, whatever the viewer's language. On
    screen it sits in a page (``screen.html``) in the active language: the viewer's, which
    the view sets (for the family, the patient's chosen language)."""
    with translation.override(prescription.language):
        context = prescription_context(prescription, print_mode=print_mode, request=request)
        sheet = render_to_string("prescriptions/prescription.html", context, request=request)
    if print_mode:
        return sheet
    # The sheet is a rendered, auto-escaped Django template.
    safe_sheet = mark_safe(sheet)  # noqa: S308
    page = {"sheet": safe_sheet, "prescription": prescription, "font_family": FONT_FAMILY}
    return render_to_string(SCREEN_PAGE, page, request=request)


FONT_WEIGHTS = (400, 700)
#: The first renders of a fresh node arrive together (prescriptions signed in the same
#: second, a report). Without this lock each thread made the same file under one temporary
#: name, one moved it away under the other, and the loser fell back to the variable font
#: for the life of the process: every later render about eight times slower.
_FONT_FILES_LOCK = threading.Lock()


def _save_atomically(font: Any, path: Path) -> None:
    """Write a font under a name of its own, then move it into place: another process
    (a second worker starting at the same time) never reads half a file."""
    fd, partial = tempfile.mkstemp(dir=path.parent, prefix=f"{path.stem}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            font.save(out)
        os.chmod(partial, 0o644)  # as any font file: mkstemp makes it the owner's alone
        os.replace(partial, path)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise


def static_font_files() -> dict[int, Path]:
    """Regular and bold static instances of the packaged variable font, made once and kept
    under ``VAR_DIR/fonts``. WeasyPrint would otherwise instantiate the variable font on
    every render (about 250 ms each); with static files a render takes tens of ms. Each file
    also carries spare copies of every glyph, which keep the text layer of Hindi exact
    (``pdf_text``)."""
    source = devanagari_font_file()
    folder = Path(settings.VAR_DIR) / "fonts"
    recipe = f"{source}:{source.stat().st_size}:copies={pdf_text.COPIES}"
    stamp = hashlib.sha256(recipe.encode()).hexdigest()[:10]
    files = {w: folder / f"NotoSansDevanagari-{stamp}-{w}.ttf" for w in FONT_WEIGHTS}
    with _FONT_FILES_LOCK:
        missing = [w for w, path in files.items() if not path.exists()]
        if missing:
            from fontTools.ttLib import TTFont
            from fontTools.varLib import instancer

            folder.mkdir(parents=True, exist_ok=True)
            for weight in missing:
                font = instancer.instantiateVariableFont(
                    TTFont(source), {"wght": weight, "wdth": 100}, updateFontNames=False
                )
                pdf_text.add_glyph_copies(font)
                _save_atomically(font, files[weight])
    from fontTools.ttLib import TTFont

    for path in files.values():
        glyphs = TTFont(path, lazy=True)["maxp"].numGlyphs
        pdf_text.register_prepared_font(glyphs, glyphs // (pdf_text.COPIES + 1))
    return files


def font_face_css() -> str:
    try:
        files = static_font_files()
    except Exception:
        log.exception("Could not make static font instances; using the variable font")
        files = {400: devanagari_font_file()}
    return "\n".join(
        f'@font-face {{ font-family: "{FONT_FAMILY}"; src: url("{path.as_uri()}"); '
        f"font-weight: {weight}; }}"
        for weight, path in files.items()
    )


@functools.lru_cache(maxsize=1)
def _sheet_html_class() -> type:
    """WeasyPrint's ``HTML`` with a small user-agent stylesheet (``print_ua.css``) in place
    of the full HTML one: the cascade is a sixth of a render, most of it matching rules the
    sheet never uses. ``_ua_stylesheets`` is WeasyPrint's own hook for this (its
    presentational-hints and forms variants use it); pinned with ``pdf_text.SUPPORTED``."""
    from weasyprint import CSS, HTML

    ua = CSS(string=render_to_string(PRINT_UA_STYLESHEET))

    class SheetHTML(HTML):
        def _ua_stylesheets(self, forms: bool = False) -> list[Any]:
            return [ua]

    return SheetHTML


@functools.lru_cache(maxsize=1)
def _renderer() -> tuple[Any, list[Any]]:
    """The font configuration and the parsed stylesheets (@font-face rules and
    ``prescriptions/print.css``), made once per process: parsing them is a tenth of a
    render."""
    from weasyprint import CSS
    from weasyprint.text.fonts import FontConfiguration

    pdf_text.install()
    font_config = FontConfiguration()
    # Release the fontconfig handles while the interpreter is still whole.
    atexit.register(_renderer.cache_clear)
    sheet = render_to_string(PRINT_STYLESHEET, {"font_family": FONT_FAMILY})
    return font_config, [
        CSS(string=font_face_css(), font_config=font_config),
        CSS(string=sheet, font_config=font_config),
    ]


#: One PDF render at a time per process. WeasyPrint lays text out with Pango and
#: fontconfig through the process's one shared ``FontConfiguration``, whose font maps are
#: not safe to use from two threads at once: with prescriptions signed at the same moment on
#: one node (bench/peak_day.py), GLib reported "corrupted double-linked list". The GIL
#: already runs most of a render one thread at a time, so taking turns costs little.
RENDER_LOCK = threading.Lock()


def html_to_pdf(html: str, base_url: str | None = None) -> bytes:
    font_config, stylesheets = _renderer()
    with RENDER_LOCK:
        return _sheet_html_class()(string=html, base_url=base_url).write_pdf(
            stylesheets=stylesheets, font_config=font_config
        )


def render_prescription_pdf(
    prescription: Prescription, request: HttpRequest | None = None
) -> bytes:
    html = render_prescription_html(prescription, print_mode=True, request=request)
    return html_to_pdf(html)


def warm_up() -> None:
    """Build the renderer before the first request needs it."""
    _renderer()
