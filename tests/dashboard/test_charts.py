"""The SVG charts: well-formed, named for assistive technology, proportional, and safe on
empty, single and all-zero inputs."""

from __future__ import annotations

import csv
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from sanjeevani.dashboard import charts
from sanjeevani.dashboard.statemap import TILES

SVG = "{http://www.w3.org/2000/svg}"
STATES_CSV = Path(__file__).resolve().parents[2] / "src/sanjeevani/registry/data/states.csv"


def parse(chart: charts.Chart) -> ET.Element:
    return ET.fromstring(str(chart.svg))


def bars(root: ET.Element, cls: str = "bar") -> list[ET.Element]:
    return [r for r in root.iter(f"{SVG}rect") if r.get("class") == cls]


def all_charts(items):
    pairs = [(str(label), value) for label, value in items]
    return [
        charts.bar_chart("b", "Bars", "Bar desc", pairs, ("Label", "Value")),
        charts.column_chart("c", "Columns", "Column desc", pairs, ("Hour", "Value")),
        charts.trend_chart("t", "Trend", "Trend desc", pairs, ("Day", "Value")),
        charts.share_bar("s", "Shares", "Share desc", pairs, ("Line", "Value", "%")),
        charts.hex_map("m", "Map", "Map desc", dict(pairs), {}, ("State", "Value")),
    ]


@pytest.mark.parametrize(
    "items",
    [[], [("only", 7)], [("a", 0), ("b", 0), ("c", 0)], [("a", 3), ("b", 1), ("c", 0)]],
    ids=["empty", "one", "all-zero", "mixed"],
)
def test_every_chart_is_named_svg_whatever_the_input(items):
    for chart in all_charts(items):
        root = parse(chart)
        assert root.tag == f"{SVG}svg"
        assert root.get("role") == "img"
        title = root.find(f"{SVG}title")
        desc = root.find(f"{SVG}desc")
        assert title is not None and title.text == chart.title
        assert desc is not None and desc.text == chart.desc
        assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
        # Colours as attributes: the site's CSP refuses inline style.
        assert not any("style" in el.attrib for el in root.iter())


def test_bar_lengths_are_proportional_to_values():
    chart = charts.bar_chart(
        "b", "t", "d", [("UP", 400), ("BR", 100), ("GA", 0)], ("s", "n"), bar_width=200
    )
    widths = [float(r.get("width")) for r in bars(parse(chart))]
    assert widths == [200.0, 50.0, 0.0]
    assert chart.rows == (("UP", 400), ("BR", 100), ("GA", 0))


def test_column_heights_are_proportional_to_values():
    chart = charts.column_chart("c", "t", "d", [("0", 10), ("1", 5), ("2", 0)], ("h", "n"))
    heights = [float(r.get("height")) for r in bars(parse(chart))]
    assert heights[0] == 2 * heights[1] > 0
    assert heights[2] == 0


def test_shares_split_the_bar_by_value_and_give_percentages():
    chart = charts.share_bar("s", "t", "d", [("OPD", 3), ("Hub", 1)], ("l", "n", "%"))
    widths = [float(r.get("width")) for r in bars(parse(chart), "share")]
    assert widths[0] == pytest.approx(3 * widths[1])
    assert [row[2] for row in chart.rows] == [75.0, 25.0]


def test_all_zero_shares_give_zero_percent_not_a_division_error():
    chart = charts.share_bar("s", "t", "d", [("OPD", 0), ("Hub", 0)], ("l", "n", "%"))
    assert [row[2] for row in chart.rows] == [0.0, 0.0]


def test_trend_highest_day_reaches_the_top_and_zero_days_the_base():
    chart = charts.trend_chart("t", "t", "d", [("1", 0), ("2", 10), ("3", 5)], ("d", "n"))
    line = parse(chart).find(f"{SVG}polyline")
    ys = [float(p.split(",")[1]) for p in line.get("points").split()]
    base, top = ys[0], ys[1]
    assert top < ys[2] < base
    assert base - ys[2] == pytest.approx((base - top) / 2)


def test_labels_are_escaped():
    chart = charts.bar_chart("b", "<t>", "d&", [("<script>", 1)], ("s", "n"))
    text = str(chart.svg)
    assert "<script>" not in text and "&lt;script&gt;" in text
    parse(chart)


def test_the_map_has_every_state_and_ut_of_the_registry():
    with STATES_CSV.open(encoding="utf-8") as f:
        codes = {row["code"] for row in csv.DictReader(f)}
    assert len(codes) == 36
    assert set(TILES) == codes
    assert len(set(TILES.values())) == 36, "two states share a tile"
    chart = charts.hex_map("m", "t", "d", {"UP": 8, "GA": 1}, {"UP": "Uttar Pradesh"}, ("s", "n"))
    tiles = [g for g in parse(chart).iter(f"{SVG}g") if g.get("class") == "tile"]
    assert {g.get("data-state") for g in tiles} == codes
    levels = {g.get("data-state"): int(g.get("data-level")) for g in tiles}
    assert levels["UP"] == 4 and levels["GA"] == 1 and levels["KL"] == 0
    assert len(chart.rows) == 36 and chart.rows[0] == ("Uttar Pradesh", 8)


def test_map_levels_split_the_range_into_quarters():
    assert [charts.map_level(v, 100) for v in (0, 1, 25, 26, 50, 75, 76, 100)] == [
        0,
        1,
        1,
        2,
        2,
        3,
        4,
        4,
    ]
    assert charts.map_level(5, 0) == 0
