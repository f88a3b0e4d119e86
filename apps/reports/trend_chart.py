"""A patient's measures over time as small multiples: one panel per measure (its own scale), all on one time axis,
with the procedures marked across every panel. Drawn on the server as SVG, like the dashboards' charts (charts.py):
presentation attributes only (the CSP forbids style attributes), a title and a description for screen readers,
and the same figures in a table beside it (the page's part).

A measure is data (TrendSeries): the drawer knows no measure by name, so a new one is a series more.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from .charts import BAR, FONT_SIZE, INK, MUTED, SERIES_COLOURS, SERIES_DASHES, WIDTH, _svg, _text

LEFT = 44  # the scale's labels ("120") left of each panel
RIGHT = 10
PANEL_HEIGHT = 84
PANEL_GAP = 16
ROW = 20  # a line of text: a panel's title, its note, a legend entry, a row of procedure tags
TAG_SPACING = 18  # procedure tags closer than this go on another row, so their numbers never overlap
AXIS_HEIGHT = 26
GRID = "#dee2e6"
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
TICK_STEPS = (1, 2, 3, 6, 12, 24, 60)  # months between the time axis's labels: the smallest giving at most MAX_TICKS
TICK_HALF_WIDTH = 32  # half of "Mar 2026" at FONT_SIZE
MAX_TICKS = 4  # "Mar 2026" is about 60 units at FONT_SIZE: four fit the narrow drawing with room between them


def number_text(value: float | int | Decimal) -> str:
    """A figure as the tables show it: "3", "4.33", "40.1" (no trailing zeros)."""
    if isinstance(value, Decimal):
        text = f"{value.normalize():f}"
    elif isinstance(value, int):
        text = str(value)
    else:
        text = f"{value:.2f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


@dataclass(frozen=True)
class TrendPoint:
    on: dt.date
    value: float | int | Decimal
    note: str = ""  # what the figure is, for the table: "Survey, 3 months", "Before the treatment"
    open: bool = False  # drawn as an open circle: a score taken before a procedure, against the answers after it

    @property
    def value_text(self) -> str:
        return number_text(self.value)


@dataclass(frozen=True)
class TrendLine:
    label: str  # in the panel's legend when it has several lines; "" for a panel's only line
    points: Sequence[TrendPoint]
    joined: bool = True  # False: points only (scores of unrelated procedures)
    step: bool = False  # the value holds until the next point (a daily dose), drawn as steps to the axis's end


@dataclass(frozen=True)
class TrendSeries:
    """One measure: one panel of the chart, with its own scale."""

    name: str  # the panel's title, with its unit: "Pain (NRS 0–10)"
    lines: Sequence[TrendLine]
    minimum: float = 0
    maximum: float | None = None  # None: from the data, rounded up
    note: str = ""  # under the title, e.g. the factor table and the list's last review for MME
    short_name: str = ""  # in the description for screen readers; the name when empty

    @property
    def points(self) -> list[TrendPoint]:
        return sorted((p for line in self.lines for p in line.points), key=lambda p: p.on)

    @property
    def has_data(self) -> bool:
        return any(line.points for line in self.lines)


@dataclass(frozen=True)
class TrendMarker:
    """A procedure, drawn as a vertical line across every panel with its number on top."""

    on: dt.date
    number: int
    label: str  # "Cryoablation, genicular branches, right"
    kind: str  # "block" or "treatment": blocks dashed and grey, treatments solid
    notes: Sequence[str] = field(default_factory=tuple)  # e.g. "superseded by the treatment of 2026-06-01"


def _nice_ceiling(value: float) -> float:
    """The scale's top for data reaching `value`: 1, 2, 2.5 or 5 times a power of ten, at least 10."""
    if value <= 10:
        return 10
    magnitude = 10 ** (len(str(int(value))) - 1)
    for factor in (1, 2, 2.5, 5, 10):
        if value <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude  # pragma: no cover - the loop ends at 10 x magnitude, above any value of that length


def _month_ticks(start: dt.date, end: dt.date) -> list[tuple[dt.date, str]]:
    """First days of months between start and end, every few months, labelled "Mar 2026" (or "2026" for a year)."""
    months = (end.year - start.year) * 12 + end.month - start.month + 1
    step = next((s for s in TICK_STEPS if months / s <= MAX_TICKS), TICK_STEPS[-1])
    ticks = []
    year, month = start.year, start.month
    while (year, month) <= (end.year, end.month):
        day = dt.date(year, month, 1)
        if start <= day <= end and (year * 12 + month - 1) % step == 0:
            ticks.append((day, str(year) if step >= 12 else f"{MONTHS[month - 1]} {year}"))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return ticks


def _tag_rows(xs: Sequence[float]) -> list[int]:
    """A row for each procedure tag (xs in date order): the first row whose last tag is far enough to the left."""
    last: list[float] = []
    rows = []
    for x in xs:
        row = next((i for i, previous in enumerate(last) if x - previous >= TAG_SPACING), len(last))
        if row == len(last):
            last.append(x)
        else:
            last[row] = x
        rows.append(row)
    return rows


def _describe(series: Sequence[TrendSeries], markers: Sequence[TrendMarker]) -> str:
    parts = []
    for one in series:
        points = one.points
        parts.append(
            f"{one.short_name or one.name}: {len(points)} value{'s' if len(points) != 1 else ''} from "
            f"{points[0].on:%Y-%m-%d} to {points[-1].on:%Y-%m-%d}, the latest {points[-1].value_text}."
        )
    if markers:
        parts.append("Procedures: " + "; ".join(f"{m.number}, {m.on:%Y-%m-%d}, {m.label}" for m in markers) + ".")
    return " ".join(parts)


def trend_chart(
    series: Sequence[TrendSeries],
    markers: Sequence[TrendMarker],
    *,
    end: dt.date,
    title: str,
    empty_text: str,
) -> SafeString:
    """The panels of the series that have data, stacked on one time axis from the first date of any point or
    procedure to `end` (today), procedures marked across them all. With no figure at all, `empty_text` in words."""
    panels = [one for one in series if one.has_data]
    markers = sorted(markers, key=lambda m: m.on)
    if not panels:
        return format_html('<p class="text-muted trend-empty">{}</p>', empty_text)
    dates = [p.on for one in panels for p in one.points] + [m.on for m in markers]
    start, end = min(dates), max([*dates, end])
    # A little room at both ends, so a point on the first or last day is not drawn on the panel's edge.
    pad = max(3, (end - start).days // 30)
    first, last = start - dt.timedelta(days=pad), end + dt.timedelta(days=pad)
    plot_width = WIDTH - LEFT - RIGHT

    def x(day: dt.date) -> float:
        return LEFT + (day - first).days / ((last - first).days or 1) * plot_width

    ticks = _month_ticks(first, last)
    tag_rows = _tag_rows([x(m.on) for m in markers])
    tags_height = ROW * (max(tag_rows) + 1) if markers else 0
    parts: list[str] = []
    plots: list[tuple[float, float]] = []
    y: float = 0
    for index, one in enumerate(panels):
        # The procedures' numbers go between the first panel's title and its plot: over the lines they name,
        # and clear of every title and legend.
        # The time axis goes right under the last plot, above that panel's legend.
        y, plot = _panel(
            parts,
            one,
            y,
            x,
            last,
            space_above_plot=tags_height if index == 0 else 0,
            space_below_plot=AXIS_HEIGHT if index == len(panels) - 1 else 0,
        )
        plots.append(plot)
        y += PANEL_GAP
    bottom = plots[-1][1]

    # Behind the data: light lines at the axis's months, and each procedure's line through every plot.
    behind = []
    for index, (top, plot_bottom) in enumerate(plots):
        for day, _ in ticks:
            behind.append(_vertical(x(day), top, plot_bottom, GRID))
        for marker, row in zip(markers, tag_rows, strict=True):
            from_y = top - tags_height + ROW * row + FONT_SIZE + 3 if index == 0 else top
            behind.append(_vertical(x(marker.on), from_y, plot_bottom, _marker_ink(marker), marker.kind == "block"))
    for marker, row in zip(markers, tag_rows, strict=True):
        tag_y = plots[0][0] - tags_height + ROW * row + FONT_SIZE
        parts.append(_text(x(marker.on), tag_y, str(marker.number), anchor="middle", fill=_marker_ink(marker)))
    parts[:0] = behind

    for day, label in ticks:
        parts.append(_vertical(x(day), bottom, bottom + 5, MUTED))
        # A label near the drawing's right edge ends at the edge instead of being cut off by it.
        at, anchor = (WIDTH, "end") if x(day) > WIDTH - TICK_HALF_WIDTH else (x(day), "middle")
        parts.append(_text(at, bottom + 5 + FONT_SIZE, label, anchor=anchor, fill=MUTED))
    height = y - PANEL_GAP
    return _svg(WIDTH, round(height), title, _describe(panels, markers), "".join(parts))


def _vertical(at: float, top: float, bottom: float, colour: str, dashed: bool = False) -> str:
    return format_html(
        '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="{}" stroke-width="1"{}/>',
        round(at, 1),
        round(at, 1),
        round(top, 1),
        round(bottom, 1),
        colour,
        mark_safe(' stroke-dasharray="3 3"') if dashed else "",  # noqa: S308 - a constant
    )


def _marker_ink(marker: TrendMarker) -> str:
    return MUTED if marker.kind == "block" else INK


def _panel(
    parts: list[str],
    series: TrendSeries,
    y: float,
    x: Callable[[dt.date], float],
    last: dt.date,
    *,
    space_above_plot: float,
    space_below_plot: float,
) -> tuple[float, tuple[float, float]]:
    """Draws one measure's panel from `y` down: its title, note, plot and legend, with room left above and below
    the plot. Returns where it ends and its plot's top and bottom."""
    parts.append(_text(0, y + FONT_SIZE, series.name))
    y += ROW
    if series.note:
        parts.append(_text(0, y + FONT_SIZE, series.note, fill=MUTED))
        y += ROW
    y += 6 + space_above_plot
    highest = max(float(p.value) for p in series.points)
    maximum = series.maximum if series.maximum is not None else _nice_ceiling(highest)
    minimum = series.minimum
    plot_top, plot_bottom = y, y + PANEL_HEIGHT

    def y_of(value: float | int | Decimal) -> float:
        return plot_bottom - (float(value) - minimum) / ((maximum - minimum) or 1) * PANEL_HEIGHT

    parts.append(
        format_html(
            '<rect x="{}" y="{}" width="{}" height="{}" fill="none" stroke="{}" stroke-width="0.5"/>',
            LEFT,
            plot_top,
            WIDTH - LEFT - RIGHT,
            PANEL_HEIGHT,
            MUTED,
        )
    )
    parts.append(_text(LEFT - 6, plot_top + 5, f"{maximum:g}", anchor="end", fill=MUTED))
    parts.append(_text(LEFT - 6, plot_bottom + 4, f"{minimum:g}", anchor="end", fill=MUTED))
    several = len([line for line in series.lines if line.points]) > 1
    legend = []
    drawn = 0
    for line in series.lines:
        if not line.points:
            continue
        colour = SERIES_COLOURS[drawn % len(SERIES_COLOURS)] if several else BAR
        dash = SERIES_DASHES[drawn % len(SERIES_DASHES)] if several else ""
        drawn += 1
        dash_attribute = format_html(' stroke-dasharray="{}"', dash) if dash else ""
        points = sorted(line.points, key=lambda p: p.on)
        if line.joined and (len(points) > 1 or line.step):
            path = []
            for i, point in enumerate(points):
                if line.step and i:
                    path.append(f"{x(point.on):.1f},{y_of(points[i - 1].value):.1f}")
                path.append(f"{x(point.on):.1f},{y_of(point.value):.1f}")
            if line.step:
                path.append(f"{x(last):.1f},{y_of(points[-1].value):.1f}")
            parts.append(
                format_html(
                    '<polyline points="{}" fill="none" stroke="{}" stroke-width="2"{}/>',
                    " ".join(path),
                    colour,
                    dash_attribute,
                )
            )
        if not line.step:
            for point in points:
                parts.append(_dot(x(point.on), y_of(point.value), colour, point.open))
        if several:
            legend.append((line, colour, dash_attribute))
    y = plot_bottom + space_below_plot
    for line, colour, dash_attribute in legend:
        y += ROW
        if line.joined:
            parts.append(
                format_html(
                    '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="{}" stroke-width="3"{}/>',
                    LEFT,
                    LEFT + 28,
                    y - 5,
                    y - 5,
                    colour,
                    dash_attribute,
                )
            )
        else:
            parts.append(_dot(LEFT + 14, y - 5, colour, True))
        parts.append(_text(LEFT + 36, y, line.label))
    return y + (6 if legend else 0), (plot_top, plot_bottom)


def _dot(cx: float, cy: float, colour: str, hollow: bool) -> str:
    return format_html(
        '<circle cx="{}" cy="{}" r="3.5" fill="{}" stroke="{}" stroke-width="1.5"/>',
        round(cx, 1),
        round(cy, 1),
        "#ffffff" if hollow else colour,
        colour,
    )
