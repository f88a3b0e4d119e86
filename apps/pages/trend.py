"""The patient page's trend chart: the measures a physician reads before the visit, as series over time, and the
procedures to mark on them. Built from the timeline the page has already read (no query of its own) and the
database's MME (one query); the SVG is drawn by apps.reports.trend_chart, which takes any number of series."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone
from django.utils.safestring import SafeString

from apps.blocks.models import DiagnosticBlock
from apps.cryoablations.models import Cryoablation
from apps.cryoablations.selectors import TreatmentChain
from apps.medications.selectors import OpioidList, mme_steps
from apps.patients.models import Patient
from apps.reports.trend_chart import TrendLine, TrendMarker, TrendPoint, TrendSeries, trend_chart
from apps.surveys.models import SurveyResponse

from .selectors import TimelineEvent

TITLE = "Pain, function, mood and opioids over time"
EMPTY = "Nothing to chart yet: no procedure, survey answer or opioid is recorded for this patient."


@dataclass(frozen=True)
class PatientTrend:
    series: list[TrendSeries]  # every measure, those without data too (the drawer and the table leave them out)
    markers: list[TrendMarker]
    today: dt.date

    @property
    def charted(self) -> list[TrendSeries]:
        return [one for one in self.series if one.has_data]

    @property
    def svg(self) -> SafeString:
        return trend_chart(self.series, self.markers, end=self.today, title=TITLE, empty_text=EMPTY)


def _procedure(item: DiagnosticBlock | Cryoablation) -> str:
    what = "Diagnostic block" if isinstance(item, DiagnosticBlock) else item.get_kind_display()
    return f"{what}, {item.nerve}, {item.get_side_display().lower()}"


def patient_trend(
    *, patient: Patient, timeline: list[TimelineEvent], opioids: OpioidList, today: dt.date
) -> PatientTrend:
    """The series of the chart, one per measure in the order a physician reads them (pain first, opioids last),
    and the patient's blocks and treatments numbered in date order, superseded treatments among them."""
    events = sorted(timeline, key=lambda e: (e.at, e.kind))
    procedures = [e for e in events if e.kind in ("block", "ablation")]
    numbers = {(e.kind, e.item.pk): n for n, e in enumerate(procedures, start=1)}  # type: ignore[attr-defined]
    markers = []
    for event in procedures:
        notes = []
        if event.kind == "ablation":
            chain: TreatmentChain = event.extra  # type: ignore[assignment]
            if chain.repeated_by is not None:
                notes.append(f"superseded by the treatment of {chain.repeated_by.performed_on:%Y-%m-%d}")
        markers.append(
            TrendMarker(
                on=event.on,
                number=numbers[(event.kind, event.item.pk)],  # type: ignore[attr-defined]
                label=_procedure(event.item),  # type: ignore[arg-type]
                kind="block" if event.kind == "block" else "treatment",
                notes=tuple(notes),
            )
        )

    series = [
        _pain(events, numbers),
        # PEG-3, PHQ-2 and GAD-2 (apps.instruments) go here, one TrendSeries each in that order, read with the
        # timeline in a fixed number of queries: name with its range ("PEG-3 (0–10)", "PHQ-2 (0–6)"),
        # minimum/maximum of the score, one TrendLine of the scored answers (TrendPoint(on, score, note)).
    ]
    # The MME's curve starts with the chart (the first procedure or answer), not with an opioid begun years before.
    since = min((e.on for e in events if e.kind in ("block", "ablation", "response")), default=None)
    series.append(_mme(patient, opioids, since=since, today=today))
    return PatientTrend(series=series, markers=markers, today=today)


def _pain(events: list[TimelineEvent], numbers: dict[tuple[str, int], int]) -> TrendSeries:
    """Pain (NRS 0–10): each treatment's line, from its pre-procedure score (its baseline) through the average pain
    of the survey answers about it; the scores before the blocks as points of their own."""
    before_blocks = [
        TrendPoint(e.on, e.item.baseline_nrs, f"Before block {numbers[('block', e.item.pk)]}", open=True)  # type: ignore[attr-defined]
        for e in events
        if e.kind == "block"
    ]
    answers: list[tuple[dt.date, SurveyResponse]] = [(e.on, e.item) for e in events if e.kind == "response"]  # type: ignore[misc]
    lines = []
    for event in events:
        if event.kind != "ablation":
            continue
        treatment: Cryoablation = event.item  # type: ignore[assignment]
        number = numbers[("ablation", treatment.pk)]
        points = [TrendPoint(treatment.performed_on, treatment.baseline_nrs, f"Before treatment {number}", open=True)]
        for day, response in answers:
            if response.ablation_id == treatment.pk:
                when = response.follow_up.label if response.follow_up else "unscheduled"
                note = f"Survey after treatment {number} ({when}): average pain, past 24 hours"
                points.append(TrendPoint(day, response.pain_average, note))
        lines.append(TrendLine(f"After {number} ({treatment.get_kind_display().lower()})", points))
    if before_blocks:
        lines.append(TrendLine("Before each block", before_blocks, joined=False))
    return TrendSeries(
        name="Pain (NRS 0–10)",
        short_name="Pain",
        lines=lines,
        minimum=0,
        maximum=10,
        note="○ before the needle · ● survey answer",
    )


def _mme(patient: Patient, opioids: OpioidList, *, since: dt.date | None, today: dt.date) -> TrendSeries:
    """Daily MME as the database computes it, on each day it changes; no line for a patient with no opioid."""
    steps = mme_steps(patient=patient, since=since, until=today) if opioids.statements else []
    review = opioids.review
    reviewed = f"{timezone.localdate(review.reviewed_at):%Y-%m-%d}" if review else "never"
    version = steps[0].factor_table.version if steps else opioids.mme_today.factor_table.version
    return TrendSeries(
        name="Daily MME (mg morphine equivalents)",
        short_name=f"Daily MME ({version} factors, list last reviewed {reviewed})",
        lines=[TrendLine("", [TrendPoint(s.day, s.value, "From this day") for s in steps], step=True)],
        minimum=0,
        note=f"Factors {version} · list last reviewed {reviewed}",
    )
