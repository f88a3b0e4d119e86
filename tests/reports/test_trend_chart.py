"""The trend chart's drawer (apps.reports.trend_chart): any number of measures as panels on one time axis, with the
procedures marked across them."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from decimal import Decimal

from apps.reports.trend_chart import (
    GRID,
    TrendLine,
    TrendMarker,
    TrendPoint,
    TrendSeries,
    _month_ticks,
    _tag_rows,
    number_text,
    trend_chart,
)

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # noqa: S314 - our own drawing, not outside input


DAY = dt.date(2026, 3, 1)


def pain(*lines: TrendLine) -> TrendSeries:
    return TrendSeries(name="Pain (NRS 0–10)", lines=lines, minimum=0, maximum=10)


def mme(points) -> TrendSeries:
    return TrendSeries(name="Daily MME", lines=[TrendLine("", points, step=True)], note="Factors CDC-2022")


MARKERS = [
    TrendMarker(DAY, 1, "Diagnostic block, genicular branches, left", "block"),
    TrendMarker(DAY + dt.timedelta(days=10), 2, "Cryoablation, genicular branches, left", "treatment"),
]


def draw(series, markers=MARKERS):
    return trend_chart(series, markers, end=DAY + dt.timedelta(days=200), title="Trend", empty_text="Nothing yet.")


def test_the_chart_is_valid_svg_with_a_title_and_a_description_naming_each_measure_and_procedure():
    # given
    series = [
        pain(
            TrendLine(
                "After 2",
                [TrendPoint(DAY + dt.timedelta(days=10), 7, open=True), TrendPoint(DAY + dt.timedelta(days=100), 3)],
            )
        ),
        mme([TrendPoint(DAY, Decimal("30.00")), TrendPoint(DAY + dt.timedelta(days=50), Decimal("20.0"))]),
    ]
    # when
    svg = draw(series)
    # then
    root = parse(svg)
    assert root.tag == f"{SVG}svg" and root.get("role") == "img"
    assert root.find(f"{SVG}title").text == "Trend"
    description = root.find(f"{SVG}desc").text
    assert "Pain (NRS 0–10): 2 values from 2026-03-11 to 2026-06-09, the latest 3." in description
    assert "Daily MME: 2 values from 2026-03-01 to 2026-04-20, the latest 20." in description
    assert "1, 2026-03-01, Diagnostic block, genicular branches, left" in description
    assert "style=" not in svg and "<script" not in svg


def test_each_measure_with_data_is_a_panel_and_one_without_is_left_out():
    # given
    empty = TrendSeries(name="PEG-3 (0–10)", lines=[TrendLine("", [])], maximum=10)
    series = [pain(TrendLine("", [TrendPoint(DAY, 5)])), empty, mme([TrendPoint(DAY, Decimal(30))])]
    # when
    root = parse(draw(series))
    # then: a frame per panel with data, titled
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert len(root.findall(f"{SVG}rect")) == 2
    assert "Pain (NRS 0–10)" in texts and "Daily MME" in texts and "PEG-3 (0–10)" not in texts
    # MME's scale is rounded up from its data; pain's is the one given
    assert "50" in texts and "10" in texts


def test_procedures_are_numbered_vertical_lines_through_every_panel_blocks_dashed():
    # given
    series = [
        pain(TrendLine("", [TrendPoint(DAY, 5), TrendPoint(DAY + dt.timedelta(days=90), 2)])),
        mme([TrendPoint(DAY, Decimal(30))]),
    ]
    # when
    root = parse(draw(series))
    # then
    lines = root.findall(f"{SVG}line")
    verticals = [
        line
        for line in lines
        if line.get("x1") == line.get("x2")
        and float(line.get("y2")) - float(line.get("y1")) > 50
        and line.get("stroke") != GRID
    ]
    assert len(verticals) == 4  # two procedures, two panels
    assert [v.get("stroke-dasharray") for v in verticals] == ["3 3", None, "3 3", None]
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "1" in texts and "2" in texts


def test_several_lines_in_a_panel_get_a_legend_and_open_points_stay_open():
    # given
    series = [
        pain(
            TrendLine(
                "After 2 (cryoablation)", [TrendPoint(DAY, 7, open=True), TrendPoint(DAY + dt.timedelta(days=30), 2)]
            ),
            TrendLine("Before each block", [TrendPoint(DAY - dt.timedelta(days=10), 8, open=True)], joined=False),
        )
    ]
    # when
    root = parse(draw(series))
    # then
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "After 2 (cryoablation)" in texts and "Before each block" in texts
    fills = [c.get("fill") for c in root.findall(f"{SVG}circle")]
    assert fills.count("#ffffff") == 3  # two open points and the legend's open point
    assert len(root.findall(f"{SVG}polyline")) == 1  # the block scores are not joined


def test_with_no_data_at_all_the_chart_says_so_in_words():
    assert draw([pain(TrendLine("", []))], markers=[]) == '<p class="text-muted trend-empty">Nothing yet.</p>'


def test_the_time_axis_is_labelled_by_month_or_year_and_close_tags_go_on_another_row():
    assert _month_ticks(dt.date(2026, 1, 15), dt.date(2026, 5, 20)) == [
        (dt.date(2026, 3, 1), "Mar 2026"),
        (dt.date(2026, 5, 1), "May 2026"),
    ]
    assert [label for _, label in _month_ticks(dt.date(2020, 1, 15), dt.date(2026, 5, 20))] == [
        "2022",
        "2024",
        "2026",
    ]
    assert _tag_rows([50, 55, 60, 90]) == [0, 1, 2, 0]
    assert [number_text(v) for v in (3, Decimal("30.000"), 4.3333, Decimal("40.10"))] == ["3", "30", "4.33", "40.1"]


def test_a_month_label_at_the_right_edge_ends_there_instead_of_being_cut_off():
    # given: a month begins four days before the axis ends
    series = [pain(TrendLine("", [TrendPoint(dt.date(2026, 1, 10), 5), TrendPoint(dt.date(2026, 6, 30), 3)]))]
    # when
    root = parse(trend_chart(series, [], end=dt.date(2026, 6, 30), title="Trend", empty_text=""))
    # then
    (july,) = [t for t in root.iter(f"{SVG}text") if t.text == "Jul 2026"]
    assert (july.get("x"), july.get("text-anchor")) == ("420", "end")
    (march,) = [t for t in root.iter(f"{SVG}text") if t.text == "Mar 2026"]
    assert march.get("text-anchor") == "middle"


def test_the_time_axis_sits_under_the_last_plot_above_its_legend():
    # given: pain alone (no opioids), with a legend
    series = [
        pain(
            TrendLine("After 1 (cryoablation)", [TrendPoint(dt.date(2026, 1, 10), 7), TrendPoint(DAY, 3)]),
            TrendLine("Before each block", [TrendPoint(dt.date(2026, 1, 2), 8, open=True)], joined=False),
        )
    ]
    # when
    svg = trend_chart(series, [], end=dt.date(2026, 6, 30), title="Trend", empty_text="")
    root = parse(svg)
    # then
    texts = {t.text: float(t.get("y")) for t in root.iter(f"{SVG}text")}
    frame = root.find(f"{SVG}rect")
    plot_bottom = float(frame.get("y")) + float(frame.get("height"))
    assert plot_bottom < texts["Mar 2026"] < texts["After 1 (cryoablation)"] < texts["Before each block"]
    assert float(root.get("viewBox").split()[3]) >= texts["Before each block"]
