"""What the survey link, the staff answers form, the API and the patient page read about instruments.

The baseline and the counted answer at a time point are the database's rules (migration 0003:
instruments_baseline_answers, instruments_counted_answers); the report reads the same functions (apps.reports.sql).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import QuerySet

from apps.cryoablations.models import Cryoablation
from apps.patients.models import Patient

from .definitions import BASELINE
from .models import Instrument, InstrumentAnswer, InstrumentVersion


def instruments_with_versions() -> list[tuple[Instrument, InstrumentVersion]]:
    """Every instrument with a definition loaded, with its current (highest) version, in loading order."""
    versions = InstrumentVersion.objects.select_related("instrument").order_by("instrument_id", "-version")
    return [(v.instrument, v) for v in versions.distinct("instrument_id")]


def instruments_due(*, time_point: str) -> list[tuple[Instrument, InstrumentVersion]]:
    """The instruments asked at a time point (a protocol time point's code, or "baseline" for the treatment visit
    and the link sent when it is booked), each with the version to ask, by the clinic's schedule
    (Instrument.time_points)."""
    return [(i, v) for i, v in instruments_with_versions() if time_point in i.time_points]


def instruments_due_at_baseline() -> list[tuple[Instrument, InstrumentVersion]]:
    return instruments_due(time_point=BASELINE)


@dataclass(frozen=True)
class InstrumentTexts:
    """An instrument's texts as a patient is asked: in their language when it is published in it, else English,
    with `available` False so the page can say "not available in Spanish; asked in English"."""

    instrument: Instrument
    version: InstrumentVersion
    requested_language: str
    language: str
    instructions: str
    items: list[dict[str, Any]] = field(default_factory=list)

    @property
    def available(self) -> bool:
        return self.language == self.requested_language


def instrument_texts(*, version: InstrumentVersion, language: str) -> InstrumentTexts:
    """The items ({id, text, answers: [{value, label}]}) of a version in `language`, or in English when the
    instrument has no published text in it (never a translation of our own)."""
    shown, texts = version.read().texts(language)
    return InstrumentTexts(
        instrument=version.instrument,
        version=version,
        requested_language=language,
        language=shown,
        instructions=texts["instructions"],
        items=texts["items"],
    )


def treatment_instrument_answers(*, treatment: Cryoablation) -> QuerySet[InstrumentAnswer]:
    return InstrumentAnswer.objects.filter(treatment=treatment).select_related("instrument", "version")


def patient_instrument_answers(*, patient: Patient) -> QuerySet[InstrumentAnswer]:
    return InstrumentAnswer.objects.filter(treatment__patient=patient).select_related(
        "instrument", "version", "treatment"
    )


def baseline_first_day(*, treatment: Cryoablation) -> dt.date:
    """The first day an answer counts as the treatment's baseline (instruments_baseline_first_day, migration 0005);
    the last is the treatment date."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT instruments_baseline_first_day(%s)", [treatment.performed_on])
        first: dt.date = cursor.fetchone()[0]
    return first


def treatment_baseline_answers(*, treatment: Cryoablation) -> dict[int, InstrumentAnswer]:
    """{instrument id: its baseline answer} for a treatment (instruments_baseline_answers, migrations 0003 and 0004); an
    instrument due at baseline and missing from it has no baseline, which the pages say."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT instrument_id, answer_id FROM instruments_baseline_answers(%s, %s)",
            [settings.TIME_ZONE, treatment.pk],
        )
        ids = dict(cursor.fetchall())
    answers = InstrumentAnswer.objects.in_bulk(list(ids.values()))
    return {instrument_id: answers[answer_id] for instrument_id, answer_id in ids.items()}


def treatment_baseline_missing(*, treatment: Cryoablation) -> list[Instrument]:
    """The instruments due at baseline that the treatment has no baseline answer for."""
    have = treatment_baseline_answers(treatment=treatment)
    return [i for i, _ in instruments_due_at_baseline() if i.pk not in have]


@dataclass(frozen=True)
class TreatmentAnswerRow:
    """An answer as the treatment page lists it: whether it is the baseline, the follow-up it counts for (its
    label), and whether it screens positive, each as the database's rules say (migration 0003)."""

    answer: InstrumentAnswer
    is_baseline: bool
    counts_for: str
    positive: bool


def treatment_answer_rows(*, treatment: Cryoablation) -> list[TreatmentAnswerRow]:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT a.id, b.answer_id IS NOT NULL, f.label,
                   instruments_positive(v.positive_screen, a.score_total, a.score_items)
            FROM instruments_instrumentanswer a
            JOIN instruments_instrumentversion v ON v.id = a.version_id
            LEFT JOIN instruments_baseline_answers(%(tz)s, %(t)s) b ON b.answer_id = a.id
            LEFT JOIN instruments_counted_answers(%(tz)s, %(t)s) c ON c.answer_id = a.id
            LEFT JOIN cryoablations_followup f ON f.id = c.follow_up_id AND f.ablation_id = %(t)s
            WHERE a.treatment_id = %(t)s
            """,
            {"tz": settings.TIME_ZONE, "t": treatment.pk},
        )
        facts = {row[0]: row[1:] for row in cursor.fetchall()}
    return [
        TreatmentAnswerRow(answer, bool(facts[answer.pk][0]), facts[answer.pk][1] or "", bool(facts[answer.pk][2]))
        for answer in treatment_instrument_answers(treatment=treatment)
        if answer.pk in facts
    ]
