"""Charts drawn on the server as SVG: they work under a strict Content Security Policy, print, and go into the
PDF reports unchanged. Each chart has a title and a description for screen readers; the dashboards show the
same figures in a table beside it.

Only presentation attributes (fill, stroke) are used, never style attributes, which the CSP forbids.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import cast

from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from apps.clinic.rules import display_percent

# Narrow drawings with large text: a chart is scaled to its column, and on a phone (about 340 px) 14-unit text on a
# 420-unit drawing still renders above 11 px; on a desktop the column is wider, so it only grows.
WIDTH = 420
FONT_SIZE = 14
ROW_HEIGHT = 44  # a bar's label on a line of its own above the bar, so the bar gets the whole width
BAR_HEIGHT = 14
VALUE_WIDTH = 110  # right of the bars: the rate and its counts ("100.0%  17/17")
PLOT_HEIGHT = 200
MARGIN = 48  # left of the plots: the axis labels ("100%"); also below them for the time-point labels
INK = "#212529"
MUTED = "#6c757d"
BAR = "#0d6efd"
BAND = "#9ec5fe"


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None  # None: no figure (a denominator of 0), drawn as "—"
    low: float | None = None  # a confidence interval, drawn as a whisker
    high: float | None = None
    note: str = ""  # e.g. "13/17"


@dataclass(frozen=True)
class Point:
    label: str
    value: float | None
    low: float | None = None  # an interquartile range or interval, drawn as a band
    high: float | None = None


def _svg(width: int, height: int, title: str, description: str, body: str) -> SafeString:
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {} {}" width="100%" role="img" class="chart">'
        "<title>{}</title><desc>{}</desc>{}</svg>",
        width,
        height,
        title,
        description,
        mark_safe(body),  # noqa: S308 - built only from format_html pieces below
    )


def _axis_labels(y: Callable[[float], float], plot_width: float, last: str, unit: str) -> list[str]:
    """A percent chart's axis labels: 0%, 50% and 100% up the left, 0 and `last` `unit` along the bottom."""
    bottom = MARGIN + PLOT_HEIGHT + FONT_SIZE + 6
    return [
        _text(MARGIN - 6, y(1) + 5, "100%", anchor="end", fill=MUTED),
        _text(MARGIN - 6, y(0.5) + 5, "50%", anchor="end", fill=MUTED),
        _text(MARGIN - 6, y(0) + 5, "0%", anchor="end", fill=MUTED),
        _text(MARGIN, bottom, "0", anchor="middle", fill=MUTED),
        _text(MARGIN + plot_width, bottom, f"{last} {unit}", anchor="end", fill=MUTED),
    ]


def _text(x: float, y: float, text: str, *, anchor: str = "start", fill: str = INK, size: int = FONT_SIZE) -> str:
    return format_html(
        '<text x="{}" y="{}" text-anchor="{}" fill="{}" font-size="{}" font-family="sans-serif">{}</text>',
        round(x, 1),
        round(y, 1),
        anchor,
        fill,
        size,
        text,
    )


def percent(fraction: float | None) -> str:
    """A fraction (0.5) shown as a percentage (50.0%), half-up to one decimal as everywhere; "—" for none."""
    if fraction is None:
        return "—"
    return display_percent(Decimal(repr(fraction)) * 100)


def _format(value: float | None, as_percent: bool) -> str:
    if value is None:
        return "—"
    return percent(value) if as_percent else f"{value:g}"


def bar_chart(
    bars: Sequence[Bar], *, title: str, description: str = "", maximum: float | None = None, percent: bool = True
) -> SafeString:
    """Horizontal bars, one per row, with an optional interval whisker. Rates are fractions (0..1) when
    `percent`; otherwise `maximum` (default the largest value) sets the scale."""
    top = maximum if maximum is not None else (1.0 if percent else max((b.value or 0 for b in bars), default=0) or 1)
    plot = WIDTH - VALUE_WIDTH - 8
    height = ROW_HEIGHT * len(bars) + 6
    parts = []
    for row, bar in enumerate(bars):
        y = row * ROW_HEIGHT
        bar_top = y + FONT_SIZE + 8
        parts.append(_text(0, y + FONT_SIZE + 2, bar.label))
        if bar.value is not None:
            length = max(0.0, min(1.0, bar.value / top)) * plot
            parts.append(
                format_html(
                    '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"/>',
                    0,
                    bar_top,
                    round(length, 1),
                    BAR_HEIGHT,
                    BAR,
                )
            )
            if bar.low is not None and bar.high is not None:
                x1 = max(0.0, min(1.0, bar.low / top)) * plot
                x2 = max(0.0, min(1.0, bar.high / top)) * plot
                middle = bar_top + BAR_HEIGHT / 2
                parts.append(
                    format_html(
                        '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="{}" stroke-width="1.5"/>',
                        round(x1, 1),
                        round(x2, 1),
                        middle,
                        middle,
                        INK,
                    )
                )
        label = _format(bar.value, percent) + (f"  {bar.note}" if bar.note else "")
        parts.append(
            _text(WIDTH, bar_top + BAR_HEIGHT - 1, label, anchor="end", fill=MUTED if bar.value is None else INK)
        )
    return _svg(WIDTH, height, title, description or title, "".join(parts))


def line_chart(
    points: Sequence[Point], *, title: str, description: str = "", minimum: float = 0, maximum: float = 10
) -> SafeString:
    """Values at successive labelled points (e.g. median pain by time point) joined by a line, with a shaded
    band for their range (e.g. the interquartile range). Points without a value break the line."""
    height = PLOT_HEIGHT + 2 * MARGIN
    plot_width = WIDTH - 2 * MARGIN
    step = plot_width / max(1, len(points) - 1) if len(points) > 1 else 0

    def x(i: int) -> float:
        return MARGIN + (i * step if len(points) > 1 else plot_width / 2)

    def y(v: float) -> float:
        return MARGIN + PLOT_HEIGHT - (v - minimum) / ((maximum - minimum) or 1) * PLOT_HEIGHT

    parts = [
        format_html(
            '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="{}"/>', MARGIN, MARGIN, MARGIN, MARGIN + PLOT_HEIGHT, MUTED
        ),
        _text(MARGIN - 6, y(maximum) + 4, f"{maximum:g}", anchor="end", fill=MUTED),
        _text(MARGIN - 6, y(minimum) + 4, f"{minimum:g}", anchor="end", fill=MUTED),
    ]
    band = [(i, p) for i, p in enumerate(points) if p.low is not None and p.high is not None]
    if len(band) > 1:
        outline = [(x(i), y(cast(float, p.high))) for i, p in band] + [
            (x(i), y(cast(float, p.low))) for i, p in reversed(band)
        ]
        parts.append(
            format_html(
                '<polygon points="{}" fill="{}" fill-opacity="0.5"/>',
                " ".join(f"{px:.1f},{py:.1f}" for px, py in outline),
                BAND,
            )
        )
    segment: list[str] = []
    for i, point in enumerate(points):
        # Every other label a line lower: six time points' names side by side would overlap on a narrow drawing.
        below = MARGIN + PLOT_HEIGHT + FONT_SIZE + 6 + (FONT_SIZE + 4) * (i % 2)
        parts.append(_text(x(i), below, point.label, anchor="middle", fill=MUTED))
        if point.value is None:
            if len(segment) > 1:
                parts.append(
                    format_html(
                        '<polyline points="{}" fill="none" stroke="{}" stroke-width="2"/>', " ".join(segment), BAR
                    )
                )
            segment = []
            continue
        segment.append(f"{x(i):.1f},{y(point.value):.1f}")
        parts.append(
            format_html('<circle cx="{}" cy="{}" r="3.5" fill="{}"/>', round(x(i), 1), round(y(point.value), 1), BAR)
        )
        parts.append(_text(x(i), y(point.value) - 8, f"{point.value:g}", anchor="middle"))
    if len(segment) > 1:
        parts.append(
            format_html('<polyline points="{}" fill="none" stroke="{}" stroke-width="2"/>', " ".join(segment), BAR)
        )
    return _svg(WIDTH, height, title, description or title, "".join(parts))


# Several curves on one chart: colours told apart also by people with colour blindness (Okabe-Ito), and a dash
# pattern each, so the lines differ in print and in greyscale too.
SERIES_COLOURS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9"]
SERIES_DASHES = ["", "8 4", "2 3", "10 3 2 3", "4 4", "12 2"]
LEGEND_ROW = 22


@dataclass(frozen=True)
class Series:
    label: str
    steps: Sequence[tuple[float, float]]  # (time, estimate), from (0, 1.0); see step_chart


def step_chart(
    steps: Sequence[tuple[float, float]], *, title: str, description: str = "", x_label: str = "days"
) -> SafeString:
    """A Kaplan–Meier survival curve: `steps` are (time, estimate) pairs, starting at (0, 1.0); the estimate
    holds until the next time. A dotted line marks 50%, where the median is read."""
    return step_chart_series([Series("", steps)], title=title, description=description, x_label=x_label)


def step_chart_series(
    series: Sequence[Series], *, title: str, description: str = "", x_label: str = "days"
) -> SafeString:
    """Kaplan–Meier curves on one chart (step_chart's), each in its own colour and dash pattern, with a legend
    below the plot naming each (one entry a line, so it fits a phone's width) when there are several."""
    legend = len(series) > 1 or any(s.label for s in series)
    height = PLOT_HEIGHT + 2 * MARGIN + (LEGEND_ROW * len(series) + 6 if legend else 0)
    plot_width = WIDTH - 2 * MARGIN
    last = max((t for one in series for t, _ in one.steps), default=0) or 1

    def x(t: float) -> float:
        return MARGIN + t / last * plot_width

    def y(s: float) -> float:
        return MARGIN + (1 - s) * PLOT_HEIGHT

    parts = [
        format_html(
            '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="{}" stroke-dasharray="4 4"/>',
            MARGIN,
            MARGIN + plot_width,
            round(y(0.5), 1),
            round(y(0.5), 1),
            MUTED,
        ),
        # In percent, like the table of the estimates beside it.
        *_axis_labels(y, plot_width, f"{last:g}", x_label if last != 1 else x_label.removesuffix("s")),
    ]
    for index, one in enumerate(series):
        colour = BAR if len(series) == 1 else SERIES_COLOURS[index % len(SERIES_COLOURS)]
        dash = "" if len(series) == 1 else SERIES_DASHES[index % len(SERIES_DASHES)]
        dash_attribute = format_html(' stroke-dasharray="{}"', dash) if dash else ""
        path, previous = [], None
        for t, s in one.steps:
            if previous is not None:
                path.append(f"{x(t):.1f},{y(previous):.1f}")
            path.append(f"{x(t):.1f},{y(s):.1f}")
            previous = s
        if path:
            parts.append(
                format_html(
                    '<polyline points="{}" fill="none" stroke="{}" stroke-width="2"{}/>',
                    " ".join(path),
                    colour,
                    dash_attribute,
                )
            )
        if legend:
            row = MARGIN + PLOT_HEIGHT + FONT_SIZE + 6 + LEGEND_ROW * (index + 1)
            parts.append(
                format_html(
                    '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="{}" stroke-width="3"{}/>',
                    MARGIN,
                    MARGIN + 36,
                    row - 5,
                    row - 5,
                    colour,
                    dash_attribute,
                )
            )
            parts.append(_text(MARGIN + 44, row, one.label))
    return _svg(WIDTH, height, title, description or title, "".join(parts))


@dataclass(frozen=True)
class FunnelPoint:
    label: str
    n: int  # the denominator, the plot's x
    value: float  # the rate (0..1), the plot's y
    own: bool = False  # drawn in its own colour (the reader's own site)


@dataclass(frozen=True)
class FunnelLimit:
    label: str  # e.g. "95% limits"
    curve: Sequence[tuple[int, float, float]]  # (n, low, high) over the plot's n, rates 0..1


FUNNEL_DASHES = ["6 4", "2 3"]


def funnel_plot(
    points: Sequence[FunnelPoint],
    *,
    centre: float,
    limits: Sequence[FunnelLimit],
    title: str,
    description: str = "",
    x_label: str = "treatments",
) -> SafeString:
    """A funnel plot: each unit's rate against its number of cases (a dot, labelled), the pooled rate as a line and
    the control limits around it as curves that narrow as the number grows; a legend below names the lines."""
    entries = ["Network", *(limit.label for limit in limits)]
    height = PLOT_HEIGHT + 2 * MARGIN + LEGEND_ROW * len(entries) + 6
    plot_width = WIDTH - 2 * MARGIN
    last = max((p.n for p in points), default=0) or max((n for limit in limits for n, _, _ in limit.curve), default=1)

    def x(n: float) -> float:
        return MARGIN + n / last * plot_width

    def y(v: float) -> float:
        return MARGIN + (1 - max(0.0, min(1.0, v))) * PLOT_HEIGHT

    def line(x1: float, x2: float, y1: float, y2: float, colour: str, dash: str, width: int = 2) -> str:
        dash_attribute = format_html(' stroke-dasharray="{}"', dash) if dash else ""
        return format_html(
            '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="{}" stroke-width="{}"{}/>',
            round(x1, 1),
            round(x2, 1),
            round(y1, 1),
            round(y2, 1),
            colour,
            width,
            dash_attribute,
        )

    parts = [
        line(MARGIN, MARGIN, MARGIN, MARGIN + PLOT_HEIGHT, MUTED, "", 1),
        line(MARGIN, MARGIN + plot_width, MARGIN + PLOT_HEIGHT, MARGIN + PLOT_HEIGHT, MUTED, "", 1),
        *_axis_labels(y, plot_width, f"{last}", x_label if last != 1 else x_label.removesuffix("s")),
        line(MARGIN, MARGIN + plot_width, y(centre), y(centre), INK, ""),
    ]
    styles = [(INK, "")]
    for index, limit in enumerate(limits):
        colour = SERIES_COLOURS[index % len(SERIES_COLOURS)]
        dash = FUNNEL_DASHES[index % len(FUNNEL_DASHES)]
        styles.append((colour, dash))
        for side in (1, 2):
            path = " ".join(f"{x(point[0]):.1f},{y(point[side]):.1f}" for point in limit.curve)
            if path:
                parts.append(
                    format_html(
                        '<polyline points="{}" fill="none" stroke="{}" stroke-width="1.5" stroke-dasharray="{}"/>',
                        path,
                        colour,
                        dash,
                    )
                )
    for point in points:
        px, py = x(point.n), y(point.value)
        parts.append(
            format_html(
                '<circle class="site-dot" cx="{}" cy="{}" r="{}" fill="{}" stroke="#ffffff"><title>{}: {}, {}</title>'
                "</circle>",
                round(px, 1),
                round(py, 1),
                7 if point.own else 5,
                SERIES_COLOURS[2] if point.own else INK,
                point.label,
                percent(point.value),
                f"n = {point.n}",
            )
        )
        # The label to the dot's left near the right edge, so it stays inside the drawing.
        right = px > WIDTH - MARGIN - 40
        parts.append(_text(px - 9 if right else px + 9, py - 7, point.label, anchor="end" if right else "start"))
    for index, (label, (colour, dash)) in enumerate(zip(entries, styles, strict=True)):
        row = MARGIN + PLOT_HEIGHT + FONT_SIZE + 6 + LEGEND_ROW * (index + 1)
        parts.append(line(MARGIN, MARGIN + 36, row - 5, row - 5, colour, dash, 3))
        parts.append(_text(MARGIN + 44, row, label))
    return _svg(WIDTH, height, title, description or title, "".join(parts))
