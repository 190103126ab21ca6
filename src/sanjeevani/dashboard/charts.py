"""Charts as server-rendered SVG: pure functions from numbers to markup.

Rendered on the server so that a chart reads without JavaScript and costs a few kilobytes on
a slow link. Every chart is an ``<svg role="img">`` named by its own ``<title>`` and
``<desc>`` (``aria-labelledby``), and comes back as a ``Chart`` that also carries its numbers
as rows, which the page shows as a table for screen readers and for anyone who wants the
exact figures. Colours are presentation attributes, not inline styles, because the site's
Content-Security-Policy refuses inline style. No chart divides by a zero maximum: an empty
or all-zero series draws an empty frame.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from .statemap import COLUMNS, ROWS, TILES

#: Bars, lines and the share palette (distinct in hue and lightness; labels carry the
#: numbers, so colour is never the only way to read a chart).
BAR = "#1f6f8b"
LINE = "#1f6f8b"
AREA = "#d6e9f0"
GRID = "#c9ced3"
INK = "#1b1b1b"
SHARE_COLOURS = ("#1f6f8b", "#c0562b", "#6a4c93", "#2e7d32", "#8a6d00")
#: Map colour scale, light to dark; the first is "none". Labels switch to white from
#: ``MAP_DARK_FROM`` so each tile's code keeps a contrast of at least 4.5:1.
MAP_COLOURS = ("#eef0f2", "#cfe9e2", "#8fd0bf", "#1f7a68", "#0b4f43")
MAP_DARK_FROM = 3
FONT = "system-ui, sans-serif"
#: Longer labels are cut with an ellipsis on the chart (the table and the tooltip keep them).
LABEL_CHARACTERS = 20


@dataclass(frozen=True)
class Chart:
    """One figure: its SVG and the same numbers as a table."""

    id: str
    title: str
    desc: str
    svg: SafeString
    header: tuple[str, ...]
    rows: tuple[tuple[object, ...], ...] = field(default_factory=tuple)


def number(value: float) -> str:
    """A count with thousands separators (the page's figures use the same)."""
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}"
    return f"{int(value):,}"


def _short(label: str) -> str:
    return label if len(label) <= LABEL_CHARACTERS else label[: LABEL_CHARACTERS - 1] + "…"


def _open(chart_id: str, title: str, desc: str, width: float, height: float) -> str:
    cid = escape(chart_id)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'viewBox="0 0 {width:g} {height:g}" width="{width:g}" height="{height:g}" '
        f'preserveAspectRatio="xMinYMin meet" font-family="{FONT}" font-size="12" '
        f'aria-labelledby="{cid}-title {cid}-desc">'
        f'<title id="{cid}-title">{escape(title)}</title>'
        f'<desc id="{cid}-desc">{escape(desc)}</desc>'
    )


def _close(parts: list[str]) -> SafeString:
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text above went through escape()


def _scale(value: float, maximum: float, length: float) -> float:
    """``value``'s share of ``length``; 0 when nothing is larger than zero."""
    if maximum <= 0 or value <= 0:
        return 0.0
    return round(length * value / maximum, 2)


def bar_chart(
    chart_id: str,
    title: str,
    desc: str,
    items: Sequence[tuple[str, float]],
    header: tuple[str, str],
    *,
    label_width: int = 140,
    bar_width: int = 160,
) -> Chart:
    """Horizontal bars, one per (label, value), longest for the largest value."""
    row_height, top = 24, 4
    height = top + row_height * max(len(items), 1) + 4
    width = label_width + bar_width + 56
    maximum = max((v for _label, v in items), default=0)
    parts = [_open(chart_id, title, desc, width, height)]
    for i, (label, value) in enumerate(items):
        y = top + i * row_height
        length = _scale(value, maximum, bar_width)
        parts.append(
            f'<text x="{label_width - 6}" y="{y + 16}" text-anchor="end" fill="{INK}">'
            f"<title>{escape(label)}</title>{escape(_short(label))}</text>"
            f'<rect class="bar" x="{label_width}" y="{y + 4}" width="{length:g}" height="16" '
            f'fill="{BAR}" data-value="{value:g}"></rect>'
            f'<text x="{label_width + length + 6:g}" y="{y + 16}" fill="{INK}">'
            f"{number(value)}</text>"
        )
    parts.append(
        f'<line x1="{label_width}" y1="{top}" x2="{label_width}" y2="{height - 4}" '
        f'stroke="{GRID}"></line>'
    )
    rows = tuple((label, value) for label, value in items)
    return Chart(chart_id, title, desc, _close(parts), header, rows)


def column_chart(
    chart_id: str,
    title: str,
    desc: str,
    items: Sequence[tuple[str, float]],
    header: tuple[str, str],
    *,
    label_every: int = 1,
) -> Chart:
    """Vertical columns (e.g. the 24 hours of a day); every ``label_every``-th labelled."""
    plot_height, left, bottom = 140, 8, 22
    column = 16 if len(items) > 12 else 32
    width = left * 2 + column * max(len(items), 1)
    height = plot_height + bottom + 8
    maximum = max((v for _label, v in items), default=0)
    parts = [_open(chart_id, title, desc, width, height)]
    base = plot_height + 8
    for i, (label, value) in enumerate(items):
        x = left + i * column
        tall = _scale(value, maximum, plot_height)
        parts.append(
            f'<rect class="bar" x="{x + 2}" y="{base - tall:g}" width="{column - 4}" '
            f'height="{tall:g}" fill="{BAR}" data-value="{value:g}">'
            f"<title>{escape(label)}: {number(value)}</title></rect>"
        )
        if i % label_every == 0:
            parts.append(
                f'<text x="{x + column / 2:g}" y="{base + 15}" text-anchor="middle" '
                f'font-size="10" fill="{INK}">{escape(label)}</text>'
            )
    parts.append(f'<line x1="{left}" y1="{base}" x2="{width - left}" y2="{base}" stroke="{GRID}"/>')
    rows = tuple((label, value) for label, value in items)
    return Chart(chart_id, title, desc, _close(parts), header, rows)


def trend_chart(
    chart_id: str,
    title: str,
    desc: str,
    points: Sequence[tuple[str, float]],
    header: tuple[str, str],
) -> Chart:
    """A line over a shaded area, oldest point on the left; the first, last and highest
    values are written on the chart, every value is in the table."""
    width, height = 400, 170
    left, right, top, bottom = 44, 10, 12, 24
    plot_w, plot_h = width - left - right, height - top - bottom
    maximum = max((v for _label, v in points), default=0)
    parts = [_open(chart_id, title, desc, width, height)]
    base = top + plot_h
    parts.append(
        f'<line x1="{left}" y1="{base}" x2="{width - right}" y2="{base}" stroke="{GRID}"/>'
        f'<text x="{left - 4}" y="{top + 4}" text-anchor="end" font-size="10" fill="{INK}">'
        f"{number(maximum)}</text>"
        f'<text x="{left - 4}" y="{base}" text-anchor="end" font-size="10" fill="{INK}">0</text>'
    )
    if points:
        step = plot_w / (len(points) - 1) if len(points) > 1 else 0
        coords = [
            (round(left + i * step, 2), round(base - _scale(v, maximum, plot_h), 2))
            for i, (_label, v) in enumerate(points)
        ]
        if len(coords) == 1:  # one day: a short flat line so it shows
            coords.append((left + plot_w, coords[0][1]))
        line = " ".join(f"{x:g},{y:g}" for x, y in coords)
        area = f"{coords[0][0]:g},{base} {line} {coords[-1][0]:g},{base}"
        parts.append(
            f'<polygon class="area" points="{area}" fill="{AREA}"></polygon>'
            f'<polyline class="line" points="{line}" fill="none" stroke="{LINE}" '
            f'stroke-width="2"></polyline>'
            f'<text x="{left}" y="{height - 6}" font-size="10" fill="{INK}">'
            f"{escape(points[0][0])}</text>"
            f'<text x="{width - right}" y="{height - 6}" text-anchor="end" font-size="10" '
            f'fill="{INK}">{escape(points[-1][0])}</text>'
        )
    rows = tuple((label, value) for label, value in points)
    return Chart(chart_id, title, desc, _close(parts), header, rows)


def share_bar(
    chart_id: str,
    title: str,
    desc: str,
    parts_in: Sequence[tuple[str, float]],
    header: tuple[str, str, str],
) -> Chart:
    """One bar split into each part's share of the whole, with a legend naming each part,
    its number and its percentage. Table rows: (label, value, percent)."""
    width, bar_h = 360, 26
    total = sum(v for _label, v in parts_in)
    legend_top = bar_h + 16
    height = legend_top + 20 * max(len(parts_in), 1)
    parts = [_open(chart_id, title, desc, width, height)]
    parts.append(f'<rect x="0" y="0" width="{width}" height="{bar_h}" fill="#eef0f2"></rect>')
    x = 0.0
    rows = []
    for i, (label, value) in enumerate(parts_in):
        colour = SHARE_COLOURS[i % len(SHARE_COLOURS)]
        length = _scale(value, total, width)
        percent = round(100 * value / total, 1) if total > 0 else 0.0
        parts.append(
            f'<rect class="share" x="{x:g}" y="0" width="{length:g}" height="{bar_h}" '
            f'fill="{colour}" data-value="{value:g}"></rect>'
        )
        x += length
        y = legend_top + i * 20
        parts.append(
            f'<rect x="0" y="{y - 11}" width="12" height="12" fill="{colour}"></rect>'
            f'<text x="18" y="{y}" fill="{INK}">{escape(label)}: {number(value)} '
            f"({percent:g}%)</text>"
        )
        rows.append((label, value, percent))
    return Chart(chart_id, title, desc, _close(parts), header, tuple(rows))


def map_level(value: float, maximum: float) -> int:
    """The colour step of a value: 0 for none, then 1-4 by its share of the largest."""
    if value <= 0 or maximum <= 0:
        return 0
    return max(1, min(4, math.ceil(4 * value / maximum)))


def hex_map(
    chart_id: str,
    title: str,
    desc: str,
    values: dict[str, float],
    names: dict[str, str],
    header: tuple[str, str],
) -> Chart:
    """The hex-tile map of every state and UT, each shaded by its value (a missing state
    counts as zero), with a legend of the colour steps. Table rows: (name, value), every
    state, largest first."""
    radius = 22.0
    tile_w = math.sqrt(3) * radius
    width = round(tile_w * (COLUMNS + 0.5) + 8, 2)
    map_h = radius * 2 + 1.5 * radius * (ROWS - 1)
    legend_top = map_h + 22
    height = round(legend_top + 24, 2)
    maximum = max(values.values(), default=0)
    parts = [_open(chart_id, title, desc, width, height)]
    for code, (col, row) in TILES.items():
        value = values.get(code, 0)
        level = map_level(value, maximum)
        cx = 4 + tile_w / 2 + col * tile_w + (tile_w / 2 if row % 2 else 0)
        cy = 4 + radius + row * 1.5 * radius
        corners = " ".join(
            f"{cx + radius * math.cos(math.radians(60 * k - 30)):.1f},"
            f"{cy + radius * math.sin(math.radians(60 * k - 30)):.1f}"
            for k in range(6)
        )
        ink = "#ffffff" if level >= MAP_DARK_FROM else INK
        name = names.get(code, code)
        parts.append(
            f'<g class="tile" data-state="{escape(code)}" data-level="{level}">'
            f"<title>{escape(name)}: {number(value)}</title>"
            f'<polygon points="{corners}" fill="{MAP_COLOURS[level]}" stroke="#ffffff" '
            f'stroke-width="2"></polygon>'
            f'<text x="{cx:.1f}" y="{cy + 4:.1f}" text-anchor="middle" font-size="11" '
            f'font-weight="bold" fill="{ink}">{escape(code)}</text></g>'
        )
    for level, colour in enumerate(MAP_COLOURS):
        x = 4 + level * 64
        low, high = _level_bounds(level, maximum)
        label = (
            "0" if level == 0 else f"{number(low)}–{number(high)}" if high > low else number(low)
        )
        if level and high < low:
            continue
        parts.append(
            f'<rect x="{x}" y="{legend_top - 10}" width="12" height="12" fill="{colour}" '
            f'stroke="{GRID}"></rect>'
            f'<text x="{x + 16}" y="{legend_top}" font-size="10" fill="{INK}">{label}</text>'
        )
    rows = tuple(
        sorted(
            ((names.get(code, code), values.get(code, 0)) for code in TILES),
            key=lambda r: (-r[1], r[0]),
        )
    )
    return Chart(chart_id, title, desc, _close(parts), header, rows)


def _level_bounds(level: int, maximum: float) -> tuple[int, int]:
    """The whole numbers that fall in a colour step (high < low when none do)."""
    if level == 0 or maximum <= 0:
        return 0, 0
    low = math.floor(maximum * (level - 1) / 4) + 1
    high = math.floor(maximum * level / 4)
    return low, high
