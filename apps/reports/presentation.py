"""The dashboard's charts and tables from the engine's figures: one context for the page and for the PDF of a
report run (the same templates render both). Rates are shown half-up to one decimal (apps.clinic.rules) and "—"
where the denominator is 0; every count links to the procedures behind it unless `links` is off (the PDF)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.urls import reverse
from django.utils.dateformat import format as format_date

from apps.accounts.models import User
from apps.blocks.models import Side
from apps.clinic.models import Nerve, Site, TimePoint
from apps.clinic.rules import display_number
from apps.clinic.selectors import PROTOCOL_PK
from apps.cryoablations.models import Kind
from apps.instruments.models import Instrument

from . import charts, outcomes
from .channels import ChannelRow
from .charts import percent
from .models import ReportRun

# What each drill-down lists, in words ({time_point}: its label, {band}: a threshold band); the keys are those of
# selectors.DRILL_FIGURES.
DRILL_TITLES = {
    ("funnel", "blocks"): "Blocks",
    ("funnel", "evaluable"): "Evaluable blocks",
    ("funnel", "positive"): "Positive blocks",
    ("funnel", "ablated"): "Positive blocks followed by a treatment",
    ("funnel_3m", "evaluable_3m"): "Evaluable at 3 months of the funnel's treatments",
    ("funnel_3m", "responders_3m"): "Responders at 3 months of the funnel's treatments",
    ("response", "ablations"): "Treatments followed to {time_point}",
    ("response", "closed"): "Closed at {time_point}",
    ("response", "evaluable"): "Evaluable at {time_point}",
    ("response", "responders"): "Responders at {time_point}",
    ("response", "responders_30"): "Responders with ≥30% less pain at {time_point}",
    ("response", "pgic_improved"): "Much or very much improved (PGIC) at {time_point}",
    ("response", "missing"): "Missing surveys at {time_point}",
    ("response", "superseded"): "Superseded by a repeat treatment at {time_point}",
    ("response", "completed"): "Completed surveys at {time_point}",
    ("band", "evaluable_3m"): "Evaluable at 3 months after a block of {band}% relief",
    ("band", "responders_3m"): "Responders at 3 months after a block of {band}% relief",
    ("durability", "ablations"): "Treatments followed for durability",
    ("durability", "events"): "Losses of response",
    ("durability", "censored"): "Still responding at the last survey",
    ("opioids", "on_opioids"): "Treatments of patients on opioids, followed to {time_point}",
    ("opioids", "evaluable"): "On opioids, evaluable at {time_point}",
    ("opioids", "reduced_50"): "Opioid dose (MME) at least halved at {time_point}",
    ("opioids", "discontinued"): "Opioids discontinued at {time_point}",
    ("instruments", "evaluable"): "{instrument}: evaluable at {time_point}",
    ("instruments", "responders"): "{instrument}: responders at {time_point}",
    (
        "instruments",
        "positive_baseline",
    ): "{instrument}: positive screen at baseline, of those evaluable at {time_point}",
    ("instruments", "positive_now"): "{instrument}: positive screen at {time_point}",
}


def in_words(day: date) -> str:
    return format_date(day, "j F Y")


def setting_percent(value: Decimal | int | float) -> str:
    """A percentage the clinic set (50.00 → "50%", 37.50 → "37.5%")."""
    return f"{Decimal(value).normalize():f}%"


def filter_words(
    *,
    nerve: str = "",
    physician: str = "",
    side: str = "",
    kind: str = "",
    date_from: date | None = None,
    date_to: date | None = None,
    site_ids: list[int] | tuple[int, ...] | None = None,
) -> list[str]:
    """Filters as a person names them: the sites (in a network, when kept to some), the nerve, the physician, the
    side, the treatment, the procedures' dates."""
    words = [_site_names(site_ids), nerve, physician]
    if side:
        words.append(f"{Side(side).label.lower()} side")
    if kind:
        words.append(Kind(kind).label.lower())
    if date_from and date_to:
        words.append(f"procedures from {in_words(date_from)} to {in_words(date_to)}")
    elif date_from:
        words.append(f"procedures from {in_words(date_from)}")
    elif date_to:
        words.append(f"procedures up to {in_words(date_to)}")
    return [w for w in words if w]


def _site_names(site_ids: list[int] | tuple[int, ...] | None) -> str:
    """ "Northside, Riverside": the sites figures are kept to (none: every patient's, nothing to say)."""
    if site_ids is None:
        return ""
    return ", ".join(Site.objects.filter(pk__in=site_ids).order_by("name").values_list("name", flat=True)) or "no site"


def filters_in_words(filters: outcomes.OutcomesFilters) -> list[str]:
    nerve = Nerve.objects.filter(pk=filters.nerve_id).values_list("name", flat=True).first() if filters.nerve_id else ""
    physician = User.objects.filter(pk=filters.physician_id).first() if filters.physician_id else None
    return filter_words(
        nerve=nerve or "",
        physician=physician.display_name if physician else "",
        side=filters.side or "",
        kind=filters.kind or "",
        date_from=filters.date_from,
        date_to=filters.date_to,
        site_ids=filters.site_ids,
    )


def report_run_filters_in_words(run: ReportRun) -> str:
    """A report run's filters (its nerve and physician already loaded), or "the whole clinic"."""
    words = filter_words(
        nerve=run.nerve.name if run.nerve else "",
        physician=run.physician.display_name if run.physician else "",
        side=run.side,
        kind=run.treatment_kind,
        date_from=run.date_from,
        date_to=run.date_to,
        site_ids=run.site_ids,
    )
    return " · ".join(words) or "All procedures"


def drill_title(
    *,
    filters: outcomes.OutcomesFilters,
    figure: str,
    measure: str,
    time_point: str,
    band: str,
    instrument: str = "",
) -> str:
    """ "Responders at 3 months · Superior cluneal · Dr Hale": the figure and its filters in words."""
    label = TimePoint.objects.filter(protocol_id=PROTOCOL_PK, code=time_point).values_list("label", flat=True)
    name = Instrument.objects.filter(code=instrument).values_list("name", flat=True).first() if instrument else ""
    what = DRILL_TITLES[(figure, measure)].format(
        time_point=label.first() or time_point, band=band.replace("-", "–"), instrument=name or instrument
    )
    return " · ".join([what, *filters_in_words(filters)])


def interval(ci: tuple[float | None, float | None]) -> str:
    low, high = ci
    if low is None or high is None:
        return "—"
    return f"{percent(low)} – {percent(high)}"


@dataclass
class Cell:
    text: str
    url: str = ""


def filters_query(filters: outcomes.OutcomesFilters) -> dict[str, str]:
    """The filters as URL parameters (the drill-down re-runs the engine with exactly these)."""
    values = {
        "as_of": filters.as_of.isoformat(),
        "date_from": filters.date_from.isoformat() if filters.date_from else "",
        "date_to": filters.date_to.isoformat() if filters.date_to else "",
        "physician": str(filters.physician_id or ""),
        "nerve": str(filters.nerve_id or ""),
        "side": filters.side or "",
        "kind": filters.kind or "",
    }
    return values


class _Linker:
    def __init__(self, filters: outcomes.OutcomesFilters, links: bool) -> None:
        self.base = filters_query(filters)
        self.links = links
        self.drill = reverse("reports:drill") if links else ""

    def __call__(self, count: int, figure: str, measure: str, **extra: Any) -> Cell:
        if not self.links or not count:
            return Cell(str(count))
        query = {**self.base, **{k: str(v) for k, v in extra.items()}, "figure": figure, "measure": measure}
        return Cell(str(count), f"{self.drill}?{urlencode(query)}")


def dashboard_context(dashboard: outcomes.Dashboard, *, links: bool = True) -> dict[str, Any]:
    """The dashboard's (and a report run's PDF's) tables and charts, section by section."""
    report = dashboard.report
    link = _Linker(report.filters, links)
    # Labels come with the (cached) figures: a dashboard read from the cache costs no query here.
    labels = {**report.time_point_labels, outcomes.PAIN_BASELINE: "Baseline"}
    # The protocol's responder percent the figures were computed with, for the labels that name it.
    responder = setting_percent(report.filters.responder_percent)
    return {
        "filters": report.filters,
        "responder_percent": responder,
        **_funnel_part(report, link),
        **_response_part(dashboard, labels, link, responder),
        **_pain_part(dashboard, labels),
        **_durability_part(report, link),
        **_bands_part(report, link),
        **_completion_part(dashboard, labels, link),
        **_opioids_part(dashboard.report, labels, link),
        **_instruments_part(dashboard.report, labels, link),
    }


def _instruments_part(report: outcomes.OutcomesReport, labels: dict[str, str], link: _Linker) -> dict[str, Any]:
    """Function and mood instruments by time point (overall): the median change from baseline, the responders by the
    instrument's own rule with the Wilson interval and, for a screening instrument (PHQ-2, GAD-2), the positive
    screens at baseline and now among the evaluable, each count linking to its treatments."""
    rows = []
    for row in report.instruments:
        if row.group != outcomes.OVERALL:
            continue
        tp, code = row.time_point, row.instrument
        screens = row.positive_baseline is not None

        def cell(count: int, measure: str, code: str = code, tp: str = tp) -> Cell:
            return link(count, "instruments", measure, time_point=tp, instrument=code)

        rows.append(
            {
                "instrument": code,
                "name": report.instrument_names.get(code, code),
                "time_point": tp,
                "label": labels.get(tp, tp),
                "evaluable": cell(row.evaluable, "evaluable"),
                "median_change": display_number(row.median_change),
                "responders": cell(row.responders, "responders"),
                "rate": percent(row.rate),
                "ci": interval(row.ci),
                "screens": screens,
                "positive_baseline": cell(row.positive_baseline or 0, "positive_baseline") if screens else None,
                "positive_baseline_rate": percent(row.positive_baseline_rate),
                "positive_baseline_ci": interval(row.positive_baseline_ci),
                "positive_now": cell(row.positive_now or 0, "positive_now") if screens else None,
                "positive_now_rate": percent(row.positive_now_rate),
                "positive_now_ci": interval(row.positive_now_ci),
            }
        )
    return {"instrument_rows": rows}


def _opioids_part(report: outcomes.OutcomesReport, labels: dict[str, str], link: _Linker) -> dict[str, Any]:
    """Opioid users (MME above 0 on the treatment day) by time point: reduced by at least 50% and discontinued, each
    with its Wilson interval, and the median change of MME, as a table and a chart."""
    rows, bars = [], []
    for row in report.opioids:
        if row.group != outcomes.OVERALL:
            continue
        tp = row.time_point
        name = labels.get(tp, tp)
        rows.append(
            {
                "time_point": tp,
                "label": name,
                "on_opioids": link(row.on_opioids, "opioids", "on_opioids", time_point=tp),
                "evaluable": link(row.evaluable, "opioids", "evaluable", time_point=tp),
                "reduced_50": link(row.reduced_50, "opioids", "reduced_50", time_point=tp),
                "rate": percent(row.rate),
                "ci": interval(row.ci),
                "discontinued": link(row.discontinued, "opioids", "discontinued", time_point=tp),
                "discontinued_rate": percent(row.discontinued_rate),
                "discontinued_ci": interval(row.discontinued_ci),
                "median_change": display_number(row.median_change),
            }
        )
        bars.append(charts.Bar(f"{name} halved", row.rate, *row.ci, note=f"{row.reduced_50}/{row.evaluable}"))
        bars.append(
            charts.Bar(f"{name} stopped", row.discontinued_rate, *row.discontinued_ci,
                       note=f"{row.discontinued}/{row.evaluable}")
        )  # fmt: skip
    chart = charts.bar_chart(
        bars,
        title="Opioid use after treatment by time point",
        description="Share of opioid users with MME at least halved, and with opioids stopped, "
        "with Wilson 95% intervals",
    )
    return {"opioid_rows": rows, "opioid_chart": chart}


def _funnel_part(report: outcomes.OutcomesReport, link: _Linker) -> dict[str, Any]:
    """The funnel: overall, then each nerve with a block under the filters (a nerve's figures drill down with that
    nerve as the filter)."""
    nerves = report.nerve_names
    funnel_rows = []
    for row in report.funnel:
        if row.group != outcomes.OVERALL and (row.group not in nerves or not row.blocks):
            continue
        nerve = nerves.get(row.group)
        scope = {"nerve": nerve[0]} if nerve else {}
        funnel_rows.append(
            {
                "label": nerve[1] if nerve else "All nerves",
                "cells": [link(getattr(row, m), "funnel", m, **scope) for m in ("blocks", "evaluable", "positive")]
                + [link(row.treated, "funnel", "ablated", **scope)]
                + [link(getattr(row, m), "funnel_3m", m, **scope) for m in ("evaluable_3m", "responders_3m")],
                "rate": percent(row.rate_3m),
            }
        )
    overall_funnel = report.funnel[0]
    funnel_chart = charts.bar_chart(
        [
            charts.Bar(label, value)
            for label, value in [
                ("Blocks", overall_funnel.blocks),
                ("Evaluable", overall_funnel.evaluable),
                ("Positive", overall_funnel.positive),
                ("Treated", overall_funnel.treated),
                ("Evaluable at 3 months", overall_funnel.evaluable_3m),
                ("Responders at 3 months", overall_funnel.responders_3m),
            ]
        ],
        title="Block-to-treatment funnel",
        description="Number of procedures at each step, under the filters",
        percent=False,
    )
    return {"funnel_rows": funnel_rows, "funnel_chart": funnel_chart}


def _response_part(
    dashboard: outcomes.Dashboard, labels: dict[str, str], link: _Linker, responder: str
) -> dict[str, Any]:
    """Response rates by time point, completers and intention to treat, as a table and a chart."""
    response_rows = []
    response_bars = []
    for row in dashboard.overall_response():
        tp = row.time_point
        response_rows.append(
            {
                "time_point": tp,
                "label": labels.get(tp, tp),
                "ablations": link(row.treatments, "response", "ablations", time_point=tp),
                "closed": link(row.closed, "response", "closed", time_point=tp),
                "evaluable": link(row.evaluable, "response", "evaluable", time_point=tp),
                "responders": link(row.responders, "response", "responders", time_point=tp),
                "rate": percent(row.rate),
                "ci": interval(row.ci),
                "itt_rate": percent(row.itt_rate),
                "itt_ci": interval(row.itt_ci),
                "responders_30": link(row.responders_30, "response", "responders_30", time_point=tp),
                "pgic_improved": link(row.pgic_improved, "response", "pgic_improved", time_point=tp),
                "superseded": link(row.superseded, "response", "superseded", time_point=tp),
            }
        )
        name = labels.get(tp, tp)
        note, itt_note = f"{row.responders}/{row.evaluable}", f"{row.responders}/{row.closed}"
        response_bars.append(charts.Bar(f"{name} completers", row.rate, *row.ci, note=note))
        response_bars.append(charts.Bar(f"{name} ITT", row.itt_rate, *row.itt_ci, note=itt_note))
    response_chart = charts.bar_chart(
        response_bars,
        title=f"Response rates (≥{responder} less pain) by time point",
        description="Completers and intention-to-treat rates with Wilson 95% intervals",
    )
    superseded_rows = [
        row for row, counts in zip(response_rows, dashboard.overall_response(), strict=True) if counts.superseded
    ]
    return {"response_rows": response_rows, "response_chart": response_chart, "superseded_rows": superseded_rows}


def _pain_part(dashboard: outcomes.Dashboard, labels: dict[str, str]) -> dict[str, Any]:
    """Average pain over time: median and interquartile range, and its change from baseline."""
    pain_rows = [
        {
            "label": labels.get(p.time_point, p.time_point),
            "answers": p.answers,
            "median": display_number(p.pain_median),
            "iqr": "—" if p.pain_q1 is None else f"{display_number(p.pain_q1)} – {display_number(p.pain_q3)}",
            "change": display_number(p.change_median, "%"),
            "change_iqr": (
                "—"
                if p.change_q1 is None
                else f"{display_number(p.change_q1, '%')} – {display_number(p.change_q3, '%')}"
            ),
        }
        for p in dashboard.pain
    ]
    pain_chart = charts.line_chart(
        [
            charts.Point(labels.get(p.time_point, p.time_point), p.pain_median, p.pain_q1, p.pain_q3)
            for p in dashboard.pain
        ],
        title="Average pain over time (median and interquartile range)",
        description="Median NRS of average pain at baseline and at each closed time point",
    )
    return {"pain_rows": pain_rows, "pain_chart": pain_chart}


def _durability_part(report: outcomes.OutcomesReport, link: _Linker) -> dict[str, Any]:
    """Durability of response: the Kaplan-Meier curve and its table, with the estimate on each time point's target
    day (what a physician quotes: still responding at 3, 6, 12 months), not every step of the curve."""
    durability = report.durability
    durability_chart = charts.step_chart(
        _curve(durability),
        title="Durability of response (Kaplan–Meier)",
        description="Share of treatments still responding, by days since the treatment",
    )
    median_ci = durability.median_ci
    durability_table = {
        "ablations": link(durability.treatments, "durability", "ablations"),
        "events": link(durability.events, "durability", "events"),
        "censored": link(durability.treatments - durability.events, "durability", "censored"),
        "median": _median_in_words(durability.median_days),
        "median_ci": (
            f"{median_ci[0] if median_ci[0] is not None else '—'} – "
            f"{median_ci[1] if median_ci[1] is not None else 'not reached'} days"
        ),
        "landmarks": [_landmark(durability, report.time_point_labels[tp], day)
                      for tp, day in report.time_point_days.items()] if durability.curve else [],
    }  # fmt: skip
    return {"durability": durability_table, "durability_chart": durability_chart}


def _landmark(durability: outcomes.Durability, label: str, day: int) -> dict[str, Any]:
    """A row of the durability table: the estimate on a time point's target day."""
    row: dict[str, Any] = {"label": label, "day": day, "survival": "not followed this long", "ci": "—", "events": "—"}
    estimate = durability.at_day(day)
    if estimate is not None:
        step, events = estimate
        row["events"] = events
        row["survival"] = percent(step.survival if step else 1.0)
        row["ci"] = interval((step.ci_low, step.ci_high) if step else (None, None))
    return row


def _bands_part(report: outcomes.OutcomesReport, link: _Linker) -> dict[str, Any]:
    """The 3-month response rate by the qualifying block's peak relief."""
    band_rows = [
        {
            "band": band.band,
            "evaluable": link(band.evaluable_3m, "band", "evaluable_3m", band=band.band),
            "responders": link(band.responders_3m, "band", "responders_3m", band=band.band),
            "rate": percent(band.rate),
            "ci": interval(outcomes.wilson_interval(band.responders_3m, band.evaluable_3m)),
        }
        for band in report.threshold_bands
    ]
    band_chart = charts.bar_chart(
        [
            charts.Bar(f"{b.band}% relief", b.rate, *outcomes.wilson_interval(b.responders_3m, b.evaluable_3m),
                       note=f"{b.responders_3m}/{b.evaluable_3m}")
            for b in report.threshold_bands
        ],
        title="3-month response rate by the qualifying block's peak relief",
        description="Threshold bands 50–69%, 70–79%, 80–100%",
    )  # fmt: skip
    return {"band_rows": band_rows, "band_chart": band_chart}


def _completion_part(dashboard: outcomes.Dashboard, labels: dict[str, str], link: _Linker) -> dict[str, Any]:
    """Survey completion by time point."""
    completion_rows = [
        {
            "label": labels.get(c.time_point, c.time_point),
            "closed": link(c.closed, "response", "closed", time_point=c.time_point),
            "completed": link(c.completed, "response", "completed", time_point=c.time_point),
            "rate": percent(c.rate),
            "ci": interval(c.ci),
        }
        for c in dashboard.completion
    ]
    completion_chart = charts.bar_chart(
        [
            charts.Bar(labels.get(c.time_point, c.time_point), c.rate, *c.ci, note=f"{c.completed}/{c.closed}")
            for c in dashboard.completion
        ],
        title="Survey completion by time point",
        description="Closed time points with a counted survey",
    )
    return {"completion_rows": completion_rows, "completion_chart": completion_chart}


# ---------------------------------------------------------------------------------------------------------------
# Compare treatments: the report's kind groups side by side


def _median_in_words(days: int | None) -> str:
    return f"{days} days" if days is not None else "not reached"


def _curve(estimate: outcomes.Durability) -> list[tuple[float, float]]:
    return [(0.0, 1.0)] + [(float(s.day), s.survival) for s in estimate.curve if s.events]


def compare_context(report: outcomes.OutcomesReport) -> dict[str, Any]:
    """The Compare treatments page from the report's kind groups (outcomes.kinds_compare): response at each time
    point, the durability and time-to-repeat curves of every kind on one chart each, their medians, adverse events.
    Only kinds with treatments under the filters are shown, in the catalog's order."""
    labels = report.time_point_labels
    adverse = {row.group: row for row in report.adverse_events}
    kinds = [
        g
        for g in report.groups
        if g.kind is not None
        and (adverse[g.key].treatments or any(r.treatments for r in report.response if r.group == g.key))
    ]
    names = {g.key: Kind(str(g.kind)).label for g in kinds}
    time_points = [{"code": tp, "label": labels.get(tp, tp)} for tp in report.time_points]
    rows = []
    for group in kinds:
        name = names[group.key]
        durability, repeat, events = report.durability_groups[group.key], report.repeat[group.key], adverse[group.key]
        cells = []
        for tp in time_points:
            row = report.response_row(group.key, tp["code"])
            cells.append(
                {
                    "time_point": tp["code"],
                    "label": tp["label"],
                    "counts": f"{row.responders}/{row.evaluable}",
                    "rate": percent(row.rate),
                    "ci": interval(row.ci),
                    "itt_rate": percent(row.itt_rate),
                    "itt_counts": f"{row.responders}/{row.closed}",
                }
            )
        rows.append(
            {
                "kind": group.kind,
                "label": name,
                "cells": cells,
                "durability": {
                    "treatments": durability.treatments,
                    "events": durability.events,
                    "median": _median_in_words(durability.median_days),
                },
                "repeat": {
                    "treatments": repeat.treatments,
                    "repeated": repeat.events,
                    "median": _median_in_words(repeat.median_days),
                },
                "adverse": {
                    "treatments": events.treatments,
                    "with_event": events.with_event,
                    "with_related": events.with_related,
                    "with_serious": events.with_serious,
                    "rate": percent(events.rate_related),
                    "ci": interval(events.ci),
                },
            }
        )
    listed = ", ".join(names.values())
    durability_chart = charts.step_chart_series(
        [charts.Series(names[g.key], _curve(report.durability_groups[g.key])) for g in kinds],
        title="Durability of response by treatment (Kaplan–Meier)",
        description=f"Share of treatments still responding, by days since the treatment: {listed}",
    )
    repeat_chart = charts.step_chart_series(
        [charts.Series(names[g.key], _curve(report.repeat[g.key])) for g in kinds],
        title="Time to repeat treatment by treatment (Kaplan–Meier)",
        description=f"Share of treatments not yet repeated, by days since the treatment: {listed}",
    )
    return {
        "filters": report.filters,
        "responder_percent": setting_percent(report.filters.responder_percent),
        "time_points": time_points,
        "kind_rows": rows,
        "durability_chart": durability_chart,
        "repeat_chart": repeat_chart,
    }


def channel_rows(figures: list[ChannelRow]) -> list[dict[str, Any]]:
    """Answers by channel (reports.channels), as the dashboard and the report show them."""
    return [
        {
            "what": row.what,
            "channel": row.channel,
            "answered": row.answered,
            "prompted": row.prompted,
            "rate": "—" if row.rate_percent is None else f"{row.rate_percent:.1f}%",
            "median": "—" if row.median_minutes is None else f"{row.median_minutes:.0f} min",
        }
        for row in figures
    ]
