"""The monthly state report as PDF: one month's figures and charts for a state, in English or
Hindi, from the same read functions and charts as the dashboards.

WeasyPrint draws the HTML (``dashboard/report.html``) with the charts' SVG inline, in the
Noto Sans Devanagari font the prescriptions use (``prescriptions.rendering``: static font
instances and the text-layer fix for Devanagari, made once per process), so Hindi shapes
correctly and copies out as the words printed.
"""

from __future__ import annotations

import atexit
import calendar
import dataclasses
import datetime as dt
import functools
import re
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.safestring import mark_safe

from sanjeevani.prescriptions import rendering
from sanjeevani.registry.models import State

from . import figures, panels
from .charts import FONT, Chart
from .figures import Scope
from .selectors import Overview

MONTH = re.compile(r"^(\d{4})-(\d{2})$")
#: Rows of the waits table printed (the CSV download has them all).
PRINTED_ROWS = 40


class BadMonth(ValueError):
    """``month`` is not a YYYY-MM month between 2000 and this one."""


def month_bounds(month: str | None, today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """First and last day of ``month`` ("YYYY-MM"; the month before this one when empty).
    This month ends today."""
    today = today or timezone.localdate()
    if not month:
        last_of_previous = today.replace(day=1) - dt.timedelta(days=1)
        return last_of_previous.replace(day=1), last_of_previous
    found = MONTH.match(month)
    if not found:
        raise BadMonth(month)
    year, number = int(found.group(1)), int(found.group(2))
    if not (1 <= number <= 12) or year < 2000 or (year, number) > (today.year, today.month):
        raise BadMonth(month)
    first = dt.date(year, number, 1)
    last = dt.date(year, number, calendar.monthrange(year, number)[1])
    return first, min(last, today)


def report_language(requested: str | None) -> str:
    """The language asked for when the site offers it, else English."""
    offered = {code for code, _name in settings.LANGUAGES}
    return requested if requested in offered else "en"


def _for_print(chart: Chart) -> Chart:
    """The chart in the PDF's font (WeasyPrint has no system UI font; Noto covers Latin
    and Devanagari)."""
    svg = str(chart.svg).replace(
        f'font-family="{FONT}"', f'font-family="{rendering.FONT_FAMILY}"', 1
    )
    return dataclasses.replace(chart, svg=mark_safe(svg))  # noqa: S308 - the chart's own markup


def report_context(state: State, first: dt.date, last: dt.date, language: str) -> dict[str, Any]:
    """Everything the report prints, worded in the active language."""
    scope = Scope(state_code=state.code, start=first, end=last)
    days = (last - first).days + 1
    overview = Overview(
        scope=scope,
        today=last,
        headline=figures.headline(scope, today=last),
        ranking=[],
        trend=list(figures.daily_trend(scope, days=days, today=last)),
        operations=figures.operations(scope, today=last),
    )
    charts = {name: _for_print(c) for name, c in panels.overview_charts(overview).items()}
    operations = [
        _for_print(p) if isinstance(p, Chart) else p
        for p in panels.operations_panels(overview.operations, limit=PRINTED_ROWS)
    ]
    month_name = rendering.MONTHS.get(language, rendering.MONTHS["en"])[first.month - 1]
    return {
        "state": state,
        "language": language,
        "month_text": f"{month_name} {first.year}",
        "first_text": rendering.format_date(first, language),
        "last_text": rendering.format_date(last, language),
        "made_text": rendering.format_date(timezone.localdate(), language),
        "headline": overview.headline,
        "lines": [
            (panels.line_name(code), overview.headline.by_line.get(code, 0))
            for code in panels.LINES
        ],
        "charts": charts,
        "operations": operations,
        "font_family": rendering.FONT_FAMILY,
    }


@functools.lru_cache(maxsize=1)
def _renderer() -> tuple[Any, list[Any]]:
    """Font configuration and stylesheets, once per process (as the prescriptions do)."""
    from weasyprint import CSS
    from weasyprint.text.fonts import FontConfiguration

    rendering.warm_up()  # installs the Devanagari text-layer fix once
    font_config = FontConfiguration()
    # Release the fontconfig handles while the interpreter is still whole.
    atexit.register(_renderer.cache_clear)
    style = render_to_string("dashboard/report.css", {"font_family": rendering.FONT_FAMILY})
    return font_config, [
        CSS(string=rendering.font_face_css(), font_config=font_config),
        CSS(string=style, font_config=font_config),
    ]


def render_report_pdf(state: State, first: dt.date, last: dt.date, language: str) -> bytes:
    from weasyprint import HTML

    with translation.override(language):
        html = render_to_string(
            "dashboard/report.html", report_context(state, first, last, language)
        )
    font_config, stylesheets = _renderer()
    with rendering.RENDER_LOCK:  # Pango is shared with the prescriptions' renders
        return HTML(string=html).write_pdf(stylesheets=stylesheets, font_config=font_config)


def report_file_name(state: State, first: dt.date, language: str) -> str:
    return f"sanjeevani-{state.code.lower()}-{first:%Y-%m}-{language}.pdf"
