"""The dashboards' charts, built from a cached ``Overview`` in the request's language.

Pure and cheap (a few milliseconds of string building, no query), so the figures are cached
once for every language and the words around them follow the visitor's choice.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from sanjeevani.rollups.models import WAIT_EDGES_MINUTES

from . import charts, figures
from .charts import Chart
from .selectors import Overview

#: The service lines, in the order every chart and table shows them.
LINES: dict[str, Any] = {
    "opd": gettext_lazy("Online OPD"),
    "hub_spoke": gettext_lazy("Hub and spoke"),
    "store_forward": gettext_lazy("Store and forward"),
}
RANKING_BARS = 10


def line_name(code: str) -> str:
    return str(LINES.get(code, code))


def day_label(day: Any) -> str:
    return date_format(day, "j M")


def overview_charts(overview: Overview, *, prefix: str = "") -> dict[str, Chart]:
    """The figures every dashboard shows: each line's share, the states' ranking and map
    (the whole country only), and the daily trend."""
    headline = overview.headline
    found: dict[str, Chart] = {}
    shares = [(line_name(code), headline.by_line.get(code, 0)) for code in LINES]
    found["lines"] = charts.share_bar(
        f"{prefix}lines",
        _("Consultations by service line"),
        _("Each service line's share of all consultations to date."),
        shares,
        (_("Service line"), _("Consultations"), _("Share (%)")),
    )
    if overview.scope.state_code is None and overview.ranking:
        top = [row for row in overview.ranking if row.consultations > 0][:RANKING_BARS]
        found["ranking"] = charts.bar_chart(
            f"{prefix}ranking",
            _("Leading states"),
            _("The %(count)s states and union territories with the most consultations.")
            % {"count": len(top)},
            [(row.name, row.consultations) for row in top],
            (_("State or UT"), _("Consultations")),
        )
        found["map"] = charts.hex_map(
            f"{prefix}map",
            _("Consultations by state"),
            _(
                "A map of India's states and union territories as equal tiles, darker where "
                "more consultations were held."
            ),
            {row.code: row.consultations for row in overview.ranking},
            {row.code: row.name for row in overview.ranking},
            (_("State or UT"), _("Consultations")),
        )
    days = len(overview.trend)
    found["trend"] = charts.trend_chart(
        f"{prefix}trend",
        _("Consultations per day"),
        _("Consultations held each day over the last %(days)s days.") % {"days": days},
        [(day_label(row.day), row.consultations) for row in overview.trend],
        (_("Day"), _("Consultations")),
    )
    return found


@dataclass(frozen=True)
class Table:
    """An operational figure that is a table rather than a chart (``more``: rows left out
    of the page, which the CSV download has)."""

    id: str
    title: str
    header: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    note: str = ""
    more: int = 0


#: Every table offered as CSV (``figures.TABLES``), with the name its link shows.
TABLE_LABELS: dict[str, Any] = {
    "states": gettext_lazy("States and union territories"),
    "trend": gettext_lazy("Consultations per day"),
    "waits": gettext_lazy("Waits per OPD and hub per day"),
    "hours": gettext_lazy("Busiest hours"),
    "equity": gettext_lazy("Equity: districts and spokes"),
    "quiet_spokes": gettext_lazy("Quiet spokes"),
}
#: The tables a state or hub dashboard offers.
OPERATIONAL_TABLES = ("trend", "waits", "hours", "equity", "quiet_spokes")
#: A state's spokes' page.
SPOKE_TABLES = ("equity", "quiet_spokes")
ALL_TABLES = frozenset(figures.TABLES)


def export_links(tables: Iterable[str]) -> list[tuple[str, str]]:
    """(table, the name its link shows) for each table."""
    return [(table, str(TABLE_LABELS.get(table, table))) for table in tables]


#: Rows of a long table shown on the page; the rest are in its CSV.
PAGE_ROWS = 50


def _minutes(value: float | None) -> str:
    return "–" if value is None else charts.number(value)


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def _not_known() -> SafeString:
    """A dash for the eye, words for a screen reader (the print stylesheet hides them)."""
    return format_html(
        '<span aria-hidden="true">—</span><span class="visually-hidden">{}</span>',
        _("population not known"),
    )


def _people(value: int | None) -> str:
    return _not_known() if value is None else charts.number(value)


def _per_people(value: float | None) -> str:
    return _not_known() if value is None else f"{value:,.1f}"


def _clipped(
    rows: list[tuple[Any, ...]], limit: int = PAGE_ROWS
) -> tuple[tuple[tuple[Any, ...], ...], int]:
    return tuple(rows[:limit]), max(len(rows) - limit, 0)


def wait_bucket_labels() -> list[str]:
    """ "0–2", "2–5", ... "180+" (minutes), one per wait-time bucket."""
    edges = (0, *WAIT_EDGES_MINUTES)
    labels = [f"{low}–{high}" for low, high in zip(edges, edges[1:], strict=False)]
    return [*labels, f"{WAIT_EDGES_MINUTES[-1]}+"]


def operations_panels(operations: Any, limit: int = PAGE_ROWS) -> list[Chart | Table]:
    """The operations view of a state or hub dashboard, in reading order: waits per place
    and day, the wait-time spread, the busiest hours, who was served, quiet spokes, equity."""
    if operations is None:
        return []
    panels: list[Chart | Table] = []
    places = sorted(operations.places, key=lambda r: (-r.day.toordinal(), r.place))
    shown, more = _clipped(places, limit)  # formatted after clipping: a state has thousands
    # The figures keep only the first place-days of a large state, and count them all.
    more = max(more, getattr(operations, "place_count", 0) - len(shown))
    rows, _none = _clipped(
        [
            (
                r.place,
                day_label(r.day),
                str(_("Hub") if r.kind == "hub" else _("Online OPD")),
                r.consultations,
                _minutes(r.median_wait_minutes),
                _minutes(r.p90_wait_minutes),
                _percent(r.missed_rate),
                r.doctors_rostered,
                r.doctors_served,
            )
            for r in shown
        ],
        limit,
    )
    panels.append(
        Table(
            "ops-waits",
            _("Waits, missed calls and doctors, per OPD and hub per day"),
            (
                _("OPD or hub"),
                _("Day"),
                _("Kind"),
                _("Consultations"),
                _("Median wait (minutes)"),
                _("90th percentile wait (minutes)"),
                _("Missed-call rate"),
                _("Doctors rostered"),
                _("Doctors who served"),
            ),
            rows,
            note=_(
                "Waits are read from the wait-time buckets: each figure is the upper edge of "
                "the bucket it falls in. Most recent days first."
            ),
            more=more,
        )
    )
    histogram = getattr(operations, "wait_histogram", None) or {}
    if histogram:
        buckets = sorted(histogram)
        panels.append(
            charts.column_chart(
                "ops-wait-spread",
                _("How long patients waited"),
                _("Consultations by the minutes the patient waited before the doctor called."),
                list(zip(wait_bucket_labels(), (histogram[b] for b in buckets), strict=False)),
                (_("Minutes waited"), _("Consultations")),
                label_every=2,
            )
        )
    panels.append(
        charts.column_chart(
            "ops-hours",
            _("Busiest hours"),
            _("Consultations completed in each hour of the day (India time)."),
            [(f"{hour:02d}", n) for hour, n in enumerate(operations.busiest_hours)],
            (_("Hour"), _("Consultations")),
            label_every=3,
        )
    )
    panels.append(
        Table(
            "ops-people",
            _("Who was served"),
            (_("Group"), _("Share of consultations")),
            (
                (_("Women"), _percent(operations.women_share)),
                (_("Senior citizens (60 and over)"), _percent(operations.senior_share)),
            ),
        )
    )
    if getattr(operations, "with_spokes", True):
        panels.append(_quiet_table(operations, limit))
    panels.append(_equity_table(operations.equity, limit, operations.with_spokes))
    return panels


def spoke_panels(lists: Any, limit: int = PAGE_ROWS) -> list[Table]:
    """A state's spokes' page: the quiet spokes, then those with the fewest consultations
    per head."""
    return [_quiet_table(lists, limit), _equity_table(lists.fewest, limit, True)]


def _quiet_table(held: Any, limit: int) -> Table:
    rows, _more = _clipped([(s.name, s.code, s.district) for s in held.quiet_spokes], limit)
    return Table(
        "ops-quiet",
        _("Spokes that asked for nothing in 30 days"),
        (_("Spoke"), _("Code"), _("District")),
        rows,
        more=max(held.quiet_spoke_count - len(rows), 0),
    )


def _equity_table(ranked: list, limit: int, with_spokes: bool) -> Table:
    kinds = {"district": _("District"), "spoke": _("Spoke")}
    shown, more = _clipped(list(ranked), limit)  # formatted after clipping
    rows = tuple(
        (
            r.name,
            str(kinds.get(r.kind, r.kind)),
            charts.number(r.consultations),
            _people(r.population),
            _per_people(r.per_100k),
        )
        for r in shown
    )
    return Table(
        "ops-equity",
        (
            _("Equity: the districts and spokes with the fewest consultations per head")
            if with_spokes
            else _("Equity: the districts with the fewest consultations per head")
        ),
        (
            _("District or spoke"),
            _("Kind"),
            _("Consultations"),
            _("Population"),
            _("Consultations per 100,000 people"),
        ),
        rows,
        note=_(
            "Ranked by consultations per 100,000 people, fewest first; a spoke's population "
            "is the people it serves. Where the population is not known (—) the place "
            "comes after the others, ranked by the number of consultations. Populations are "
            "set in the registry (the administration or the bulk import)."
        ),
        more=more,
    )
