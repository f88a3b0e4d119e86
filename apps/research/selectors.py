"""The registry's rows the research export reads, reduced to the columns it may keep: no name, MRN, contact detail,
free text or user; dates as they are stored (apps.research.services turns them into day offsets)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import F, Min
from django.db.models.functions import Coalesce, TruncDate

from apps.adverse_events.models import AdverseEvent
from apps.blocks.models import DiagnosticBlock, DiaryEntry
from apps.clinic.models import Site
from apps.cryoablations.models import Cryoablation
from apps.medications.models import MedicationStatement
from apps.patients.models import Patient
from apps.surveys.models import SurveyResponse

CHUNK = 2000  # rows fetched at a time (a server-side cursor), so memory stays flat over a large registry

BLOCK_COLUMNS = (
    "side",
    "guidance",
    "suspected_diagnosis",
    "baseline_nrs",
    "needle_gauge",
    "concentration_percent",
    "volume_ml",
    "trigger_point_cm_from_midline",
    "trigger_point_mm_caudal_to_psis",
    "tinel_sign",
    "worse_with_posture",
    "compression_symptoms",
)
TREATMENT_COLUMNS = (
    "kind",
    "side",
    "guidance",
    "baseline_nrs",
    "cycles",
    "freeze_seconds",
    "cannula_gauge",
    "active_tip_mm",
    "temperature_c",
    "lesion_seconds",
    "lesions",
    "leads",
)
ANSWER_COLUMNS = (
    "pain_average",
    "pain_current",
    "pain_worst",
    "percent_relief",
    "pgic",
    "new_problem",
    "collected_via",
)
ADVERSE_EVENT_COLUMNS = ("category", "severity", "serious", "relatedness")


def _rows(queryset: Any, *fields: str, **expressions: Any) -> Iterator[dict[str, Any]]:
    rows: Iterator[dict[str, Any]] = (
        queryset.annotate(**expressions).values(*fields, *expressions).order_by("pk").iterator(chunk_size=CHUNK)
    )
    return rows


def research_site_ids() -> list[int]:
    return list(Site.objects.values_list("id", flat=True))


def research_patients() -> Iterator[dict[str, Any]]:
    return _rows(Patient.objects, "id", "date_of_birth", "sex", "site_id")


def research_first_procedure_days(zone: ZoneInfo) -> dict[int, date]:
    """{patient id: the clinic-local date of their first block or treatment}, for patients with either."""
    first: dict[int, date] = {}
    blocks = DiagnosticBlock.objects.values("patient_id").annotate(day=Min(TruncDate("performed_at", tzinfo=zone)))
    treatments = Cryoablation.objects.values("patient_id").annotate(day=Min("performed_on"))
    for row in [*blocks.order_by(), *treatments.order_by()]:
        known = first.get(row["patient_id"])
        first[row["patient_id"]] = row["day"] if known is None else min(known, row["day"])
    return first


def research_counts() -> dict[str, int]:
    """How many blocks and treatments there are: the number of export ids to draw."""
    return {"blocks": DiagnosticBlock.objects.count(), "treatments": Cryoablation.objects.count()}


def research_blocks() -> Iterator[dict[str, Any]]:
    return _rows(
        DiagnosticBlock.objects,
        "id",
        "patient_id",
        "performed_at",
        *BLOCK_COLUMNS,
        nerve_code=F("nerve__code"),
        peak_relief_percent=F("peak_relief__peak_relief_percent"),
    )


def research_diary() -> Iterator[dict[str, Any]]:
    return _rows(DiaryEntry.objects, "block_id", "minutes_after", "nrs", "source", patient_id=F("block__patient_id"))


def research_treatments() -> Iterator[dict[str, Any]]:
    return _rows(
        Cryoablation.objects,
        "id",
        "patient_id",
        "performed_on",
        "removed_on",
        "qualifying_block_id",
        *TREATMENT_COLUMNS,
        nerve_code=F("nerve__code"),
        qualifying_block_at=F("qualifying_block__performed_at"),
    )


def research_answers() -> Iterator[dict[str, Any]]:
    return _rows(
        SurveyResponse.objects,
        "id",
        "ablation_id",
        "completed_at",
        *ANSWER_COLUMNS,
        patient_id=F("ablation__patient_id"),
        treated_on=F("ablation__performed_on"),
        time_point=F("follow_up__time_point"),
        counted_id=F("follow_up__counted_response_id"),
        superseded_by=F("follow_up__superseded_by_id"),
    )


def research_adverse_events() -> Iterator[dict[str, Any]]:
    return _rows(
        AdverseEvent.objects,
        "treatment_id",
        "block_id",
        "occurred_on",
        "resolved_on",
        *ADVERSE_EVENT_COLUMNS,
        patient_id=Coalesce(F("treatment__patient_id"), F("block__patient_id")),
        treated_on=F("treatment__performed_on"),
        block_at=F("block__performed_at"),
    )


def research_opioids() -> Iterator[dict[str, Any]]:
    return _rows(MedicationStatement.objects, "patient_id", "opioid", "daily_dose", "started_on", "stopped_on")
