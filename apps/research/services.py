"""`export_research`: a de-identified dataset of the registry for research (README: "Research export").

HIPAA Safe Harbor (45 CFR §164.514(b)(2)): none of the 18 identifiers is written — no name, MRN, contact detail,
free text, user, row id or date; dates become day offsets from the patient's first procedure, ages over 89 are
pooled into "90+". On top of that a k-anonymity check on the quasi-identifiers (apps.research.deidentify).

All or nothing: the files are written into a temporary folder beside DIR and moved into place at the end; a
failure leaves nothing behind. The logs and the audit trail carry counts only."""

from __future__ import annotations

import csv
import logging
import secrets
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

from apps.audit.csvsafe import safe_cell
from apps.audit.models import Action, Category
from apps.audit.services import access_record
from apps.clinic.replica import read_snapshot, replica_reads
from apps.medications.models import dose_unit

from . import selectors
from .deidentify import ALL_AGES, POOLED_AGE, QuasiIdentifiers, age_on, k_anonymise, study_ids

logger = logging.getLogger(__name__)

DEFAULT_K = 5


def site_pseudonyms(site_ids: Iterable[int]) -> dict[int, str]:
    """{site id: "Site 1".."Site n"}, never its name, numbered in a random order drawn for this one export (a number
    says nothing of the site's age or size). The k-anonymity check counts the site as a quasi-identifier."""
    sites = sorted(set(site_ids))
    numbers = list(range(1, len(sites) + 1))
    secrets.SystemRandom().shuffle(numbers)
    return {site: f"Site {number}" for site, number in zip(sites, numbers, strict=True)}


class ResearchExportError(Exception):
    """A refusal before anything was written: the message says what to change."""


# Every file, its columns and what each means: the headers and the data dictionary come from here only.
FILES: dict[str, list[tuple[str, str]]] = {
    "patients.csv": [
        ("study_id", "Random id of the patient in this export only (P0001...); not derived from any identifier."),
        ("site", "The site the patient belongs to, as a pseudonym (Site 1..n, numbered at random in each export)."),
        ("sex", "F female, M male, X other, U unknown."),
        (
            "age_band",
            "Age in whole years at the first procedure, as a band (see the report for its width); "
            "over 89: 90+; 'all' when the age had to be left out.",
        ),
    ],
    "blocks.csv": [
        ("block_id", "Random id of the diagnostic block in this export (B0001...)."),
        ("study_id", "The patient (patients.csv)."),
        ("day", "Days from the patient's first procedure (day 0) to the block, clinic-local dates."),
        ("nerve", "Target nerve (code of the clinic's nerve catalogue)."),
        ("side", "left, right or bilateral."),
        ("guidance", "Imaging guidance."),
        ("suspected_diagnosis", "Suspected diagnosis (code)."),
        ("baseline_nrs", "Pain before the block, 0-10."),
        ("needle_gauge", "Needle gauge."),
        ("concentration_percent", "Local anaesthetic concentration, percent."),
        ("volume_ml", "Injected volume, mL."),
        ("trigger_point_cm_from_midline", "Trigger point, cm from the midline."),
        ("trigger_point_mm_caudal_to_psis", "Trigger point, mm caudal to the PSIS."),
        ("tinel_sign", "Tinel's sign: true, false or empty (not recorded)."),
        ("worse_with_posture", "Pain worse with posture or lumbar movement: true, false or empty."),
        ("compression_symptoms", "Numbness or radiating pain on compression: true, false or empty."),
        (
            "peak_relief_percent",
            "Peak relief in the evaluation window under the clinic's protocol, percent; empty when not evaluable.",
        ),
    ],
    "block_diary.csv": [
        ("block_id", "The block (blocks.csv)."),
        ("minutes_after", "Minutes after the injection."),
        ("nrs", "Pain, 0-10."),
        ("source", "Who recorded it: staff, patient (the survey link) or sms (a text reply)."),
    ],
    "treatments.csv": [
        ("treatment_id", "Random id of the treatment in this export (T0001...)."),
        ("study_id", "The patient (patients.csv)."),
        ("day", "Days from the patient's first procedure (day 0) to the treatment."),
        ("kind", "Treatment kind (cryoablation, rf_conventional, rf_cooled, rf_pulsed, pns_temporary, pns_permanent)."),
        ("nerve", "Target nerve (code)."),
        ("side", "left, right or bilateral."),
        ("guidance", "Imaging guidance."),
        ("baseline_nrs", "Pain before the treatment, 0-10."),
        ("cycles", "Cryoablation: freeze cycles."),
        ("freeze_seconds", "Cryoablation: seconds per freeze cycle."),
        ("cannula_gauge", "Radiofrequency: cannula gauge."),
        ("active_tip_mm", "Radiofrequency: active tip, mm."),
        ("temperature_c", "Radiofrequency: temperature, °C."),
        ("lesion_seconds", "Radiofrequency: seconds per lesion."),
        ("lesions", "Radiofrequency: lesions."),
        ("leads", "Nerve stimulation: leads."),
        ("leads_removed_after_days", "Temporary nerve stimulation: days from the treatment to the leads' removal."),
        ("qualifying_block_id", "The diagnostic block the treatment was qualified by (blocks.csv), if any."),
        ("days_after_qualifying_block", "Days from that block to the treatment."),
    ],
    "follow_up_answers.csv": [
        ("treatment_id", "The treatment (treatments.csv)."),
        (
            "time_point",
            "The follow-up time point the answer belongs to (protocol code); empty for an answer outside every window.",
        ),
        ("days_after_treatment", "Days from the treatment to the answer, clinic-local dates."),
        ("counted", "true when this is the answer the follow-up is judged by (the outcome definitions)."),
        ("superseded", "true when a later treatment superseded this follow-up's time point."),
        ("pain_average", "Average pain, 0-10."),
        ("pain_current", "Pain right now, 0-10."),
        ("pain_worst", "Worst pain, 0-10."),
        ("percent_relief", "Relief, percent."),
        ("pgic", "Patient global impression of change, 1-7."),
        (
            "new_problem",
            "Any new problem since the procedure: true, false or empty (the patient's words are never exported).",
        ),
        ("collected_via", "How the answer was collected."),
    ],
    "adverse_events.csv": [
        ("study_id", "The patient (patients.csv)."),
        ("treatment_id", "The treatment it followed (treatments.csv), or empty."),
        ("block_id", "The block it followed (blocks.csv), or empty."),
        ("days_after_procedure", "Days from the treatment or block to the event."),
        ("category", "Category (code)."),
        ("severity", "Severity."),
        ("serious", "true when serious."),
        ("relatedness", "Related to the procedure."),
        ("resolved_after_days", "Days from the event to its resolution; empty while unresolved."),
    ],
    "opioids.csv": [
        ("study_id", "The patient (patients.csv)."),
        ("opioid", "The opioid (code)."),
        ("daily_dose", "Daily dose, in the unit of the next column."),
        ("dose_unit", "mg/day, or mcg/h for the fentanyl patch."),
        ("started_day", "Days from the patient's first procedure to the start (negative: before it)."),
        ("stopped_day", "Days from the first procedure to the stop; empty while ongoing."),
    ],
}
DICTIONARY = "data_dictionary.csv"
REPORT = "deidentification_report.md"
# The 18 Safe Harbor identifiers and what this export does with each (README: "Research export").
IDENTIFIERS_REMOVED = [
    "Names: never read.",
    "Geographic subdivisions smaller than a state: no address is held; the site is a pseudonym.",
    "Dates (except year) directly related to the patient: birth, procedure, answer, event and medication dates "
    "become day offsets from the patient's first procedure; ages over 89 are pooled into 90+; no year is written.",
    "Telephone numbers, fax numbers, email addresses: never read.",
    "Social security, medical record (MRN), health plan, account, certificate and licence numbers: never read.",
    "Vehicle and device identifiers and serial numbers: device and probe names (free text) are not exported.",
    "URLs, IP addresses: never read (the audit trail is not exported).",
    "Biometric identifiers, full-face photographs: none are held.",
    "Any other unique identifying number or code: database ids, public ids and import source ids are replaced "
    "by random ids drawn for this export; physicians and users are not exported; free-text notes, complications "
    "and patients' own words are never exported.",
]


@dataclass
class ExportSummary:
    k: int
    patients_in_registry: int = 0
    without_procedure: int = 0
    exported_patients: int = 0
    suppressed_patients: int = 0
    pooled_over_89: int = 0
    band_width: str = ""
    classes: int = 0
    smallest_class: int = 0
    tried: list[tuple[str, int]] = field(default_factory=list)
    rows: Counter[str] = field(default_factory=Counter)
    suppressed_rows: Counter[str] = field(default_factory=Counter)


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return safe_cell(value)


def _write_csv(path: Path, header: list[str], rows: Iterable[Iterable[Any]]) -> int:
    count = 0
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow([_cell(v) for v in row])
            count += 1
    return count


def research_export(*, folder: Path, k: int = DEFAULT_K) -> ExportSummary:
    """Write the dataset into `folder` (new, or an empty folder), or raise ResearchExportError having written
    nothing."""
    if k < 2:
        raise ResearchExportError(
            f"--k: must be at least 2 (every combination of age band, sex and site shared by k patients); got {k}."
        )
    folder = Path(folder).absolute()
    if folder.exists() and not folder.is_dir():
        raise ResearchExportError(f"{folder}: is a file, not a folder.")
    if folder.is_dir() and any(folder.iterdir()):
        raise ResearchExportError(
            f"{folder}: is not empty. Name a new or an empty folder: an export never mixes its files with others."
        )
    if not folder.parent.is_dir():
        raise ResearchExportError(f"{folder.parent}: no such folder.")
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}-partial-", dir=folder.parent))
    try:
        with replica_reads():
            summary = _export_into(staging, k=k)
        if folder.is_dir():
            folder.rmdir()  # empty, as checked; fails (and the export with it) if something appeared meanwhile
        staging.rename(folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    detail = {
        "k": k,
        "patients": summary.exported_patients,
        "suppressed": summary.suppressed_patients,
        "rows": dict(summary.rows),
    }
    access_record(
        action=Action.EXPORT,
        category=Category.CLINICAL,
        actor_label="system:export_research",
        object_type="research_export",
        detail=detail,
    )
    logger.info(
        "research export: %s patients exported, %s suppressed, %s without a procedure, rows %s",
        summary.exported_patients,
        summary.suppressed_patients,
        summary.without_procedure,
        dict(summary.rows),
    )
    return summary


def _export_into(staging: Path, *, k: int) -> ExportSummary:
    zone = ZoneInfo(settings.TIME_ZONE)

    def local_day(moment: datetime) -> date:
        return timezone.localtime(moment, zone).date()

    summary = ExportSummary(k=k)
    with read_snapshot():
        anchors = selectors.research_first_procedure_days(zone)
        people: list[QuasiIdentifiers] = []
        patient_ids: list[int] = []
        sexes: dict[int, str] = {}
        site_of: dict[int, str] = {}
        pseudonyms = site_pseudonyms(selectors.research_site_ids())
        for row in selectors.research_patients():
            summary.patients_in_registry += 1
            anchor = anchors.get(row["id"])
            if anchor is None:
                summary.without_procedure += 1
                continue
            patient_ids.append(row["id"])
            sexes[row["id"]] = row["sex"]
            site_of[row["id"]] = pseudonyms[row["site_id"]]
            people.append(
                QuasiIdentifiers(age=age_on(row["date_of_birth"], anchor), sex=row["sex"], site=site_of[row["id"]])
            )
        result = k_anonymise(people, k=k)
        summary.suppressed_patients = len(result.suppressed)
        summary.exported_patients = len(people) - len(result.suppressed)
        summary.band_width = "age left out" if result.band_width is None else f"{result.band_width}-year bands"
        summary.classes, summary.smallest_class, summary.tried = result.classes, result.smallest_class, result.tried
        summary.pooled_over_89 = sum(1 for band in result.bands.values() if band == POOLED_AGE)

        kept = {patient_ids[i]: band for i, band in result.bands.items()}
        patient_key = dict(zip(kept, study_ids(len(kept), "P"), strict=True))
        counts = selectors.research_counts()
        block_ids = iter(study_ids(counts["blocks"], "B"))
        treatment_ids = iter(study_ids(counts["treatments"], "T"))
        block_key: dict[int, str] = {}
        treatment_key: dict[int, str] = {}

        def keep(name: str, rows: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
            """The rows of kept patients; those of suppressed ones (and of patients with no procedure) counted."""
            for row in rows:
                if row["patient_id"] in patient_key:
                    yield row
                else:
                    summary.suppressed_rows[name] += 1

        def patients() -> Iterator[list[Any]]:
            for pk, study_id in sorted(patient_key.items(), key=lambda item: item[1]):
                yield [study_id, site_of[pk], sexes[pk], kept[pk]]

        def blocks() -> Iterator[list[Any]]:
            for row in keep("blocks.csv", selectors.research_blocks()):
                block_key[row["id"]] = export_id = next(block_ids)
                yield [
                    export_id,
                    patient_key[row["patient_id"]],
                    (local_day(row["performed_at"]) - anchors[row["patient_id"]]).days,
                    row["nerve_code"],
                    *(row[c] for c in selectors.BLOCK_COLUMNS),
                    row["peak_relief_percent"],
                ]

        def diary() -> Iterator[list[Any]]:
            for row in keep("block_diary.csv", selectors.research_diary()):
                yield [block_key[row["block_id"]], row["minutes_after"], row["nrs"], row["source"]]

        def treatments() -> Iterator[list[Any]]:
            for row in keep("treatments.csv", selectors.research_treatments()):
                treatment_key[row["id"]] = export_id = next(treatment_ids)
                performed_on = row["performed_on"]
                qualifying_at = row["qualifying_block_at"]
                yield [
                    export_id,
                    patient_key[row["patient_id"]],
                    (performed_on - anchors[row["patient_id"]]).days,
                    row["kind"],
                    row["nerve_code"],
                    *(row[c] for c in selectors.TREATMENT_COLUMNS[1:]),
                    (row["removed_on"] - performed_on).days if row["removed_on"] else None,
                    block_key.get(row["qualifying_block_id"]) if row["qualifying_block_id"] else None,
                    (performed_on - local_day(qualifying_at)).days if qualifying_at else None,
                ]

        def answers() -> Iterator[list[Any]]:
            for row in keep("follow_up_answers.csv", selectors.research_answers()):
                yield [
                    treatment_key[row["ablation_id"]],
                    row["time_point"],
                    (local_day(row["completed_at"]) - row["treated_on"]).days,
                    row["counted_id"] == row["id"],
                    row["superseded_by"] is not None,
                    *(row[c] for c in selectors.ANSWER_COLUMNS),
                ]

        def adverse_events() -> Iterator[list[Any]]:
            for row in keep("adverse_events.csv", selectors.research_adverse_events()):
                procedure_day = row["treated_on"] or local_day(row["block_at"])
                yield [
                    patient_key[row["patient_id"]],
                    treatment_key.get(row["treatment_id"]) if row["treatment_id"] else None,
                    block_key.get(row["block_id"]) if row["block_id"] else None,
                    (row["occurred_on"] - procedure_day).days,
                    *(row[c] for c in selectors.ADVERSE_EVENT_COLUMNS),
                    (row["resolved_on"] - row["occurred_on"]).days if row["resolved_on"] else None,
                ]

        def opioids() -> Iterator[list[Any]]:
            for row in keep("opioids.csv", selectors.research_opioids()):
                anchor = anchors[row["patient_id"]]
                yield [
                    patient_key[row["patient_id"]],
                    row["opioid"],
                    row["daily_dose"],
                    dose_unit(row["opioid"]),
                    (row["started_on"] - anchor).days,
                    (row["stopped_on"] - anchor).days if row["stopped_on"] else None,
                ]

        # In this order: blocks before their diary and the treatments naming them, treatments before answers.
        writers: dict[str, Callable[[], Iterator[list[Any]]]] = {
            "patients.csv": patients,
            "blocks.csv": blocks,
            "block_diary.csv": diary,
            "treatments.csv": treatments,
            "follow_up_answers.csv": answers,
            "adverse_events.csv": adverse_events,
            "opioids.csv": opioids,
        }
        for name, rows in writers.items():
            summary.rows[name] = _write_csv(staging / name, [c for c, _ in FILES[name]], rows())
    _write_csv(
        staging / DICTIONARY,
        ["file", "column", "description"],
        ([name, column, text] for name, columns in FILES.items() for column, text in columns),
    )
    (staging / REPORT).write_text(_report(summary), encoding="utf-8")
    return summary


def _report(summary: ExportSummary) -> str:
    """What was generalised and suppressed, in counts: never a value of a suppressed row."""
    lines = [
        "# De-identification report",
        "",
        "Route: HIPAA Safe Harbor, 45 CFR §164.514(b)(2), with a k-anonymity check on top (README: Research export).",
        "",
        "## Patients",
        "",
        f"- In the registry: {summary.patients_in_registry}",
        f"- Without any block or treatment (not exported, nor their other rows): {summary.without_procedure}",
        f"- Suppressed by the k-anonymity check (with all their rows): {summary.suppressed_patients}",
        f"- Exported: {summary.exported_patients}",
        f"- Ages over 89 pooled into {POOLED_AGE}: {summary.pooled_over_89}",
        "",
        "## k-anonymity",
        "",
        f"- k = {summary.k}; quasi-identifiers: age band at the first procedure, sex, site.",
        "- Age bands tried, narrowest first (patients in a combination shared by fewer than k):",
        *(f"  - {width if width == ALL_AGES else width + '-year bands'}: {small}" for width, small in summary.tried),
        f"- Kept: {summary.band_width}; the patients still in combinations under k were suppressed.",
        f"- Combinations in the export: {summary.classes}, the smallest holding {summary.smallest_class} patients.",
        "",
        "## Rows",
        "",
        "| file | rows written | rows left out (suppressed patients, or patients without a procedure) |",
        "|---|---|---|",
        *(
            f"| {name} | {summary.rows[name]} | {summary.suppressed_rows[name]} |"
            for name in FILES
            if name != "patients.csv"
        ),
        "",
        "## Identifiers removed (Safe Harbor)",
        "",
        *(f"- {item}" for item in IDENTIFIERS_REMOVED),
        "",
    ]
    return "\n".join(lines)
