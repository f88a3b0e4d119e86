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
from apps.instruments.models import InstrumentAnswer
from apps.instruments.selectors import patient_instrument_answers
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


def _label(item: DiagnosticBlock | Cryoablation) -> str:
    what = "Diagnostic block" if isinstance(item, DiagnosticBlock) else item.get_kind_display()
    return f"{what}, {item.nerve}, {item.get_side_display().lower()}"


def patient_trend(
    *, patient: Patient, timeline: list[TimelineEvent], opioids: OpioidList, today: dt.date
) -> PatientTrend:
    """The series of the chart, one per measure in the order a physician reads them (pain first, opioids last),
    and the patient's blocks and treatments numbered in date order, superseded treatments among them."""
    events = sorted(timeline, key=lambda e: (e.at, e.kind))
    procedures = [e for e in events if isinstance(e.item, DiagnosticBlock | Cryoablation)]
    numbers = {id(e.item): n for n, e in enumerate(procedures, start=1)}
    markers = []
    for event in procedures:
        item = event.item
        assert isinstance(item, DiagnosticBlock | Cryoablation)  # noqa: S101 - for the type checker: procedures only
        chain = event.extra if isinstance(event.extra, TreatmentChain) else None
        later = chain.repeated_by if chain else None
        markers.append(
            TrendMarker(
                on=event.on,
                number=numbers[id(item)],
                label=_label(item),
                kind="block" if isinstance(item, DiagnosticBlock) else "treatment",
                notes=(f"superseded by the treatment of {later.performed_on:%Y-%m-%d}",) if later else (),
            )
        )

    treatment_numbers = {e.item.pk: numbers[id(e.item)] for e in procedures if isinstance(e.item, Cryoablation)}
    series = [_pain(events, numbers), *_instruments(patient, treatment_numbers)]
    # The MME's curve starts with the chart (the first procedure or answer), not with an opioid begun years before.
    charted = (e.on for e in events if isinstance(e.item, DiagnosticBlock | Cryoablation | SurveyResponse))
    series.append(_mme(patient, opioids, since=min(charted, default=None), today=today))
    return PatientTrend(series=series, markers=markers, today=today)


def _pain(events: list[TimelineEvent], numbers: dict[int, int]) -> TrendSeries:
    """Pain (NRS 0–10): each treatment's line, from its pre-procedure score (its baseline) through the average pain
    of the survey answers about it; the scores before the blocks as points of their own."""
    blocks = [(e.on, e.item) for e in events if isinstance(e.item, DiagnosticBlock)]
    treatments = [e.item for e in events if isinstance(e.item, Cryoablation)]
    answers: dict[int, list[tuple[dt.date, SurveyResponse]]] = {}
    for event in events:
        if isinstance(event.item, SurveyResponse):
            answers.setdefault(event.item.ablation_id, []).append((event.on, event.item))
    lines = []
    for treatment in treatments:
        number = numbers[id(treatment)]
        points = [TrendPoint(treatment.performed_on, treatment.baseline_nrs, f"Before treatment {number}", open=True)]
        for day, response in answers.get(treatment.pk, []):
            when = response.follow_up.label if response.follow_up else "unscheduled"
            note = f"Survey after treatment {number} ({when}): average pain, past 24 hours"
            points.append(TrendPoint(day, response.pain_average, note))
        lines.append(TrendLine(f"After {number} ({treatment.get_kind_display().lower()})", points))
    if blocks:
        before = [TrendPoint(day, b.baseline_nrs, f"Before block {numbers[id(b)]}", open=True) for day, b in blocks]
        lines.append(TrendLine("Before each block", before, joined=False))
    return TrendSeries(
        name="Pain (NRS 0–10)",
        short_name="Pain",
        lines=lines,
        minimum=0,
        maximum=10,
        note="○ before the needle · ● survey answer",
    )


def _instruments(patient: Patient, treatment_numbers: dict[int, int]) -> list[TrendSeries]:
    """A panel per instrument the patient answered (PEG-3, PHQ-2, GAD-2 and loaded ones, in loading order), on the
    scale of its definition: one line per treatment, its baseline answers (on or before the treatment day) as open
    circles. One query."""
    answers: dict[int, list[InstrumentAnswer]] = {}
    for answer in patient_instrument_answers(patient=patient).order_by("instrument_id", "completed_at"):
        answers.setdefault(answer.instrument_id, []).append(answer)
    series = []
    for instrument_answers in answers.values():
        instrument, version = instrument_answers[0].instrument, instrument_answers[-1].version
        lowest, highest = version.read().score_range
        by_treatment: dict[int, list[TrendPoint]] = {}
        for answer in instrument_answers:
            number = treatment_numbers.get(answer.treatment_id)
            day = timezone.localdate(answer.completed_at)
            baseline = day <= answer.treatment.performed_on
            note = f"{'Baseline of' if baseline else 'After'} treatment {number}"
            by_treatment.setdefault(answer.treatment_id, []).append(
                TrendPoint(day, answer.score_decimal, note, open=baseline)
            )
        better = "lower is better" if version.better == "lower" else "higher is better"
        series.append(
            TrendSeries(
                name=f"{instrument.name} ({lowest.normalize():f}–{highest.normalize():f}, {better})",
                short_name=instrument.name,
                lines=[TrendLine(f"Treatment {treatment_numbers.get(pk)}", pts) for pk, pts in by_treatment.items()],
                minimum=float(lowest),
                maximum=float(highest),
                note="○ baseline · ● after the treatment",
            )
        )
    return series


def _mme(patient: Patient, opioids: OpioidList, *, since: dt.date | None, today: dt.date) -> TrendSeries:
    """Daily MME as the database computes it, on each day it changes; no line for a patient with no opioid."""
    steps = mme_steps(patient=patient, since=since, until=today) if opioids.statements else []
    review = opioids.review
    reviewed = f"{timezone.localdate(review.reviewed_at):%Y-%m-%d}" if review else "never"
    version = opioids.mme_today.factor_table.version
    return TrendSeries(
        name="Daily MME (mg morphine equivalents)",
        short_name=f"Daily MME ({version} factors, list last reviewed {reviewed})",
        lines=[TrendLine("", [TrendPoint(s.day, s.value, _mme_note(s.day, since, today)) for s in steps], step=True)],
        minimum=0,
        note=f"Factors {version} · list last reviewed {reviewed}",
    )


def _mme_note(day: dt.date, since: dt.date | None, today: dt.date) -> str:
    if day == today:
        return "Today"
    if day == since:
        return "On the chart's first day"
    return "From this day (an opioid started or stopped)"
