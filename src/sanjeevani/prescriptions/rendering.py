"""One HTML template for the screen and the PDF; WeasyPrint turns it into A4.

The PDF renderer is kept warm: the font configuration and the @font-face stylesheet (Noto
Sans Devanagari from the ``fontpkg-noto-sans-devanagari`` package, which also covers Latin)
are built once per process and reused, which saves most of the first render's cost.
"""

from __future__ import annotations

import datetime as dt
import functools
from pathlib import Path
from typing import Any

import segno
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import pgettext

from .addresses import verification_url
from .models import Prescription

SCREEN_WRAPPER = "prescriptions/screen_wrapper.html"
PRINT_WRAPPER = "prescriptions/print_wrapper.html"
FONT_FAMILY = "Noto Sans Devanagari"


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


def qr_data_uri(url: str) -> str:
    return segno.make(url, error="m").svg_data_uri(scale=3, border=2)


def prescription_context(
    prescription: Prescription, *, print_mode: bool, request: HttpRequest | None = None
) -> dict[str, Any]:
    content = prescription.content
    url = verification_url(prescription, request)
    follow_up = content.get("follow_up_on")
    return {
        "wrapper": PRINT_WRAPPER if print_mode else SCREEN_WRAPPER,
        "print": print_mode,
        "prescription": prescription,
        "rx": content,
        "issued_at": dt.datetime.fromisoformat(content["issued_at"]),
        "follow_up_on": dt.date.fromisoformat(follow_up) if follow_up else None,
        "sex_label": sex_label(content["patient"]["sex"]),
        "verification_url": url,
        "qr": qr_data_uri(url),
        "superseded": prescription.status == Prescription.Status.SUPERSEDED,
        "font_family": FONT_FAMILY,
    }


def render_prescription_html(
    prescription: Prescription, *, print_mode: bool = False, request: HttpRequest | None = None
) -> str:
    """The sheet in the prescription's own language, whatever the viewer's language."""
    with translation.override(prescription.language):
        context = prescription_context(prescription, print_mode=print_mode, request=request)
        return render_to_string("prescriptions/prescription.html", context, request=request)


@functools.lru_cache(maxsize=1)
def _renderer() -> tuple[Any, Any]:
    from weasyprint import CSS
    from weasyprint.text.fonts import FontConfiguration

    font_config = FontConfiguration()
    font_url = devanagari_font_file().as_uri()
    font_css = CSS(
        string=(
            f'@font-face {{ font-family: "{FONT_FAMILY}"; src: url("{font_url}"); '
            "font-weight: 100 900; }"
        ),
        font_config=font_config,
    )
    return font_config, font_css


def html_to_pdf(html: str, base_url: str | None = None) -> bytes:
    from weasyprint import HTML

    font_config, font_css = _renderer()
    return HTML(string=html, base_url=base_url).write_pdf(
        stylesheets=[font_css], font_config=font_config
    )


def render_prescription_pdf(
    prescription: Prescription, request: HttpRequest | None = None
) -> bytes:
    html = render_prescription_html(prescription, print_mode=True, request=request)
    return html_to_pdf(html)


def warm_up() -> None:
    """Build the renderer before the first request needs it."""
    _renderer()
