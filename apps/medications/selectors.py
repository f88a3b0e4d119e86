"""What the pages, the API and the report read about opioids: the statements with their factors and the MME, as the
database computes them (migration 0002: medications_mme_factor_table, medications_mme_factor, medications_mme)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL

from apps.patients.models import Patient

from .models import MedicationReview, MedicationStatement


@dataclass(frozen=True)
class FactorTable:
    name: str
    version: str


@dataclass(frozen=True)
class Mme:
    """A patient's daily morphine milligram equivalents on a day, with the factor table it was computed by."""

    day: dt.date
    value: Decimal
    factor_table: FactorTable

    @property
    def value_text(self) -> str:
        """The MME as a number without trailing zeros: "40.1", "60"."""
        return f"{self.value.normalize():f}"


@dataclass(frozen=True)
class OpioidList:
    """A patient's opioid list as the patient page shows it."""

    statements: list[MedicationStatement]
    mme_today: Mme
    review: MedicationReview | None

    @property
    def flagged(self) -> list[MedicationStatement]:
        """The statements whose opioid has no factor: listed, left out of the MME."""
        return [s for s in self.statements if getattr(s, "mme_factor", None) is None]


def factor_table() -> FactorTable:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, version FROM medications_mme_factor_table()")
        name, version = cursor.fetchone()
    return FactorTable(name=name, version=version)


def mme_on(*, patient: Patient, day: dt.date) -> Mme:
    """The patient's daily MME on `day` (the database's medications_mme), with the factor table's name and version."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT medications_mme(%s, %s), t.name, t.version FROM medications_mme_factor_table() t",
            [patient.pk, day],
        )
        value, name, version = cursor.fetchone()
    return Mme(day=day, value=value, factor_table=FactorTable(name=name, version=version))


def medication_statements_for_patient(*, patient: Patient) -> QuerySet[MedicationStatement]:
    """The patient's statements, newest start first, each with `mme_factor` (None: the table gives none)."""
    return (
        MedicationStatement.objects.filter(patient=patient)
        .annotate(mme_factor=RawSQL("medications_mme_factor(medications_medicationstatement.opioid)", []))
        .order_by("-started_on", "-id")
    )


def medication_review_get(*, patient: Patient) -> MedicationReview | None:
    return MedicationReview.objects.select_related("reviewed_by").filter(patient=patient).first()


def opioid_list_get(*, patient: Patient, today: dt.date) -> OpioidList:
    return OpioidList(
        statements=list(medication_statements_for_patient(patient=patient)),
        mme_today=mme_on(patient=patient, day=today),
        review=medication_review_get(patient=patient),
    )


def mme_steps(*, patient: Patient, since: dt.date | None, until: dt.date) -> list[Mme]:
    """The patient's daily MME (the database's medications_mme) on `since`, on every day in between that a statement
    starts or stops, and on `until`: the MME holds from each of those days to the next, so these draw its curve.
    `since` None: from the first statement's start. Empty for a patient with no statement."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH statement AS (
                SELECT started_on, stopped_on FROM medications_medicationstatement WHERE patient_id = %(patient)s
            ), span AS (
                SELECT coalesce(%(since)s::date, min(started_on)) AS since FROM statement HAVING count(*) > 0
            ), day AS (
                SELECT since AS day FROM span
                UNION SELECT %(until)s::date FROM span
                UNION SELECT started_on FROM statement
                UNION SELECT stopped_on FROM statement WHERE stopped_on IS NOT NULL
            )
            SELECT day.day, medications_mme(%(patient)s, day.day), t.name, t.version
            FROM day, span, medications_mme_factor_table() t
            WHERE day.day BETWEEN span.since AND %(until)s::date
            ORDER BY day.day
            """,
            {"patient": patient.pk, "since": since, "until": until},
        )
        return [
            Mme(day=day, value=value, factor_table=FactorTable(name=name, version=version))
            for day, value, name, version in cursor.fetchall()
        ]
