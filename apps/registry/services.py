"""The registry import (docs: data-exchange.md): all or nothing, idempotent, recorded in an ImportRun.

    result = registry_import(folder=Path("export/"), dry_run=False, user=None)
    result.problems   # every problem as file:line: column: message; nothing written when there is one

Rows are written in bulk (100,000 answers in under a minute: benchmarks/bench_import.py), through the same rules as
the services that write one row at a time: cells are checked by the model fields (apps/registry/parsing.py),
follow-ups are dated by `follow_up_dates`, answers land on the follow-up whose window holds their clinic-local date
and each follow-up's counted answer is set by `counted_responses_refresh`'s rule; the qualifying-block rule runs in
SQL (apps/reports/sql.py). Rows are written with COPY by the registry's one bulk writer (apps/registry/bulk.py), each
table's in one, as NamedTuples whose fields are the columns; the tables written, derived ones included, are analyzed
after a real run.

Version 2: treatments of every kind (treatments.csv beside or instead of ablations.csv) are written like the
ablations, with their kind's details; adverse events are copied after them (matched by event_id on a second import).
Once the rows hold their final values and their insert events are written, the repeat-treatment rule
(cryoablations.services.supersession_refresh, the view cryoablations_followup_supersession) runs for every patient
touched, and then the counted answers of older follow-ups that got new answers: a superseded follow-up ends with no
counted answer, whichever answer the bulk pick gave it.

The admin page and the API upload the files through registry_upload_import (a dry run, or a real run) and confirm a
dry run with registry_upload_confirm, which keep the files between the two in apps/registry/uploads.py.

Change history: every row the import creates has its "insert" event, with the import's context (the command or
the admin page and its user, and the import run), written set-based per table once the row holds its final values
(apps.audit.services.history_in_bulk) rather than by a trigger per row, whose cost made an import of 100,000
answers take over 18 minutes. Rows that were there before and change (a follow-up counting a new answer) are
recorded by their triggers, as any change.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import NamedTuple, cast

import pghistory
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Model, QuerySet
from django.utils import timezone
from psycopg.types.json import Jsonb

from apps.accounts.models import Role, User
from apps.adverse_events.models import AdverseEvent
from apps.audit.services import history_in_bulk, history_record_created
from apps.blocks.models import Diagnosis, DiagnosticBlock, DiaryEntry, Guidance
from apps.clinic.models import Nerve, Site
from apps.clinic.row_security import unscoped
from apps.clinic.selectors import protocols_for, site_list, site_network, site_only, time_points_for
from apps.cryoablations.models import Cryoablation, FollowUp, QualifyingSource
from apps.cryoablations.services import follow_up_dates, supersession_refresh
from apps.instruments.definitions import Definition, Score, ScoringError
from apps.instruments.models import CollectedVia as AnswerVia
from apps.instruments.models import InstrumentAnswer, InstrumentVersion
from apps.instruments.selectors import instruments_with_versions
from apps.medications.models import MedicationStatement
from apps.patients.models import Channel, Patient, Sex, patient_search_name
from apps.patients.services import patient_time_zone_default
from apps.surveys.models import CollectedVia, SurveyResponse
from apps.surveys.services import counted_responses_refresh

from . import bulk
from .models import ImportRun
from .parsing import (
    ABLATIONS,
    ADVERSE_EVENTS,
    BLOCKS,
    INSTRUMENTS,
    MEDICATIONS,
    PATIENTS,
    RESPONSES,
    TREATMENTS,
    Parsed,
    Problem,
    Row,
    registry_parse,
)
from .uploads import UploadError, upload_discard, upload_folder, upload_names, upload_store

logger = logging.getLogger(__name__)

# The summary's count of new treatments of each kind (Kind codes), beside the counts of each file.
TREATMENTS_BY_KIND = "treatments_by_kind"
REFRESH_CHUNK = 10_000  # follow-ups per counted_responses_refresh
PROBLEMS_KEPT = 200  # problem locations kept in the ImportRun


@dataclass
class ImportResult:
    problems: list[Problem] = field(default_factory=list)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    created_physicians: list[str] = field(default_factory=list)
    dry_run: bool = False
    run: ImportRun | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


class _DryRun(Exception):
    """Raised at the end of a dry run's writes, so that its transaction rolls back with true counts."""


@dataclass
class _Resolved:
    """What the files refer to, found in the files or already in the database."""

    patient_ids: dict[str, int] = field(default_factory=dict)  # mrn -> id, existing patients
    users: dict[str, int] = field(default_factory=dict)  # username -> id
    nerves: dict[str, int] = field(default_factory=dict)  # code -> id
    # block_id -> (db id or None, mrn, nerve code, side); treatment_id (or ablation_id) -> (db id or None, mrn)
    blocks: dict[str, tuple[int | None, str, str, str]] = field(default_factory=dict)
    treatments: dict[str, tuple[int | None, str]] = field(default_factory=dict)
    # The procedure's date (a block's in the clinic's time zone), which an adverse event cannot precede.
    block_days: dict[str, date] = field(default_factory=dict)
    treatment_days: dict[str, date] = field(default_factory=dict)
    existing_responses: set[tuple[int, datetime]] = field(default_factory=set)
    existing_events: set[str] = field(default_factory=set)  # event_id of adverse events already imported
    existing_statements: set[str] = field(default_factory=set)  # statement_id of opioid statements already imported
    # Instrument answers: each loaded instrument's current version by code, the answers already in the registry
    # (treatment, instrument, completed_at), and the score of each row of the file (by line).
    instruments: dict[str, InstrumentVersion] = field(default_factory=dict)
    existing_instrument_answers: set[tuple[int, int, datetime]] = field(default_factory=set)
    instrument_scores: dict[int, Score] = field(default_factory=dict)
    new_physicians: list[str] = field(default_factory=list)


def _resolve(parsed: Parsed) -> _Resolved:
    """Look up, in bulk, every patient, block, treatment, adverse event, user and nerve the files name, and check
    references across files (a block's patient, a treatment's qualifying block, a response's treatment and patient,
    an adverse event's treatment or block and its date)."""
    res = _Resolved(nerves=dict(Nerve.objects.values_list("code", "id")))
    mrns = set(parsed.patients)
    mrns |= {r.values["mrn"] for r in parsed.blocks.values()}
    mrns |= {r.values["mrn"] for r in parsed.treatments.values()}
    mrns |= {r.values["mrn"] for r in parsed.responses}
    mrns |= {r.values["mrn"] for r in parsed.medications.values()}
    mrns |= {r.values["mrn"] for r in parsed.instrument_answers}
    for chunk in bulk.chunks(sorted(mrns)):
        res.patient_ids.update(Patient.objects.filter(mrn__in=chunk).values_list("mrn", "id"))
    known_mrns = set(res.patient_ids) | set(parsed.patients)

    usernames = {r.values["physician"] for r in parsed.blocks.values()} | {
        r.values["physician"] for r in parsed.treatments.values()
    }
    res.users = dict(User.objects.filter(username__in=usernames).values_list("username", "id"))
    res.new_physicians = sorted(usernames - set(res.users))

    block_ids = set(parsed.blocks) | {
        r.values["qualifying_block_id"] for r in parsed.treatments.values() if r.values["qualifying_block_id"]
    }
    block_ids |= {r.values["block_id"] for r in parsed.adverse_events.values() if r.values["block_id"]}
    for chunk in bulk.chunks(sorted(block_ids)):
        for pk, ext, mrn, code, side, performed_at in DiagnosticBlock.objects.filter(external_id__in=chunk).values_list(
            "id", "external_id", "patient__mrn", "nerve__code", "side", "performed_at"
        ):
            res.blocks[cast(str, ext)] = (pk, mrn, code, side)  # found by external_id: not null
            res.block_days[cast(str, ext)] = timezone.localdate(performed_at)
    treatment_ids = set(parsed.treatments) | {r.values["treatment_id"] for r in parsed.responses}
    treatment_ids |= {r.values["treatment_id"] for r in parsed.adverse_events.values() if r.values["treatment_id"]}
    treatment_ids |= {r.values["treatment_id"] for r in parsed.instrument_answers}
    for chunk in bulk.chunks(sorted(treatment_ids)):
        for pk, ext, mrn, performed_on in Cryoablation.objects.filter(external_id__in=chunk).values_list(
            "id", "external_id", "patient__mrn", "performed_on"
        ):
            res.treatments[cast(str, ext)] = (pk, mrn)
            res.treatment_days[cast(str, ext)] = performed_on
    existing_treatment_pks = [pk for pk, _ in res.treatments.values() if pk is not None]
    for chunk in bulk.chunks(existing_treatment_pks):
        res.existing_responses.update(
            SurveyResponse.objects.filter(ablation_id__in=chunk).values_list("ablation_id", "completed_at")
        )
    if parsed.instrument_answers:
        res.instruments.update((instrument.code, version) for instrument, version in instruments_with_versions())
        for chunk in bulk.chunks(existing_treatment_pks):
            res.existing_instrument_answers.update(
                InstrumentAnswer.objects.filter(treatment_id__in=chunk).values_list(
                    "treatment_id", "instrument_id", "completed_at"
                )
            )
    for chunk in bulk.chunks(sorted(parsed.adverse_events)):
        res.existing_events.update(
            cast(str, ext)
            for ext in AdverseEvent.objects.filter(external_id__in=chunk).values_list("external_id", flat=True)
        )

    for chunk in bulk.chunks(sorted(parsed.medications)):
        res.existing_statements.update(
            cast(str, ext)
            for ext in MedicationStatement.objects.filter(external_id__in=chunk).values_list("external_id", flat=True)
        )

    def known(name: str, key: str) -> bool:
        return (name, key) in parsed.refused

    def treatment_refused(key: str) -> bool:
        return known(ABLATIONS, key) or known(TREATMENTS, key)

    for block_id, row in parsed.blocks.items():
        v = row.values
        if v["mrn"] not in known_mrns and not known(PATIENTS, v["mrn"]):
            parsed.problem(BLOCKS, row.line, "mrn", f"No patient with MRN {v['mrn']} in patients.csv or the registry.")
        if v["nerve"] not in res.nerves:
            parsed.problem(BLOCKS, row.line, "nerve", f"“{v['nerve']}” is not a nerve code of the catalog.")
        res.blocks.setdefault(block_id, (None, v["mrn"], v["nerve"], v["side"]))
        res.block_days.setdefault(block_id, timezone.localdate(v["performed_at"]))
    for treatment_id, row in parsed.treatments.items():
        v = row.values
        if v["mrn"] not in known_mrns and not known(PATIENTS, v["mrn"]):
            parsed.problem(
                row.file, row.line, "mrn", f"No patient with MRN {v['mrn']} in patients.csv or the registry."
            )
        if v["nerve"] not in res.nerves:
            parsed.problem(row.file, row.line, "nerve", f"“{v['nerve']}” is not a nerve code of the catalog.")
        named = v["qualifying_block_id"]
        if named:
            block = res.blocks.get(named)
            if block is None:
                if not known(BLOCKS, named):
                    parsed.problem(
                        row.file, row.line, "qualifying_block_id", f"No block {named} in blocks.csv or the registry."
                    )
            elif (block[1], block[2], block[3]) != (v["mrn"], v["nerve"], v["side"]):
                parsed.problem(
                    row.file,
                    row.line,
                    "qualifying_block_id",
                    f"Block {named} is not of the same patient, nerve and side as the treatment.",
                )
        res.treatments.setdefault(treatment_id, (None, v["mrn"]))
        res.treatment_days.setdefault(treatment_id, v["performed_on"])
    for row in parsed.responses:
        v = row.values
        treatment = res.treatments.get(v["treatment_id"])
        if treatment is None:
            if not treatment_refused(v["treatment_id"]):
                parsed.problem(
                    RESPONSES,
                    row.line,
                    row.treatment_column,
                    f"No treatment {v['treatment_id']} in {TREATMENTS}, {ABLATIONS} or the registry.",
                )
        elif treatment[1] != v["mrn"]:
            parsed.problem(RESPONSES, row.line, "mrn", f"Treatment {v['treatment_id']} is of another patient.")
    for row in parsed.adverse_events.values():
        _event_resolve(row, res, parsed, treatment_refused(row.values["treatment_id"] or ""))
    for row in parsed.medications.values():
        mrn = row.values["mrn"]
        if mrn not in known_mrns and not known(PATIENTS, mrn):
            parsed.problem(MEDICATIONS, row.line, "mrn", f"No patient with MRN {mrn} in patients.csv or the registry.")
    definitions: dict[str, Definition] = {code: version.read() for code, version in res.instruments.items()}
    for row in parsed.instrument_answers:
        _instrument_answer_resolve(row, res, parsed, definitions, treatment_refused(row.values["treatment_id"]))
    return res


def _instrument_answer_resolve(
    row: Row, res: _Resolved, parsed: Parsed, definitions: dict[str, Definition], treatment_refused: bool
) -> None:
    """An instrument answer's treatment exists and is its patient's; its instrument is loaded; its answers score
    (apps.instruments.definitions, as instrument_answer_record scores them)."""
    v = row.values
    treatment = res.treatments.get(v["treatment_id"])
    if treatment is None:
        if not treatment_refused:
            parsed.problem(
                INSTRUMENTS,
                row.line,
                "treatment_id",
                f"No treatment {v['treatment_id']} in {TREATMENTS}, {ABLATIONS} or the registry.",
            )
    elif treatment[1] != v["mrn"]:
        parsed.problem(INSTRUMENTS, row.line, "mrn", f"Treatment {v['treatment_id']} is of another patient.")
    definition = definitions.get(v["instrument"])
    if definition is None:
        codes = ", ".join(sorted(res.instruments)) or "none loaded"
        parsed.problem(INSTRUMENTS, row.line, "instrument", f"“{v['instrument']}” is not a loaded instrument: {codes}.")
        return
    try:
        res.instrument_scores[row.line] = definition.score(v["answers"])
    except ScoringError as error:
        for message in error.errors.values():
            parsed.problem(INSTRUMENTS, row.line, "answers", message)


def _event_resolve(row: Row, res: _Resolved, parsed: Parsed, treatment_refused: bool) -> None:
    """An adverse event's treatment or block exists, and the event is not before it (AdverseEvent.clean)."""
    v = row.values
    if v["treatment_id"]:
        column, key, day = "treatment_id", v["treatment_id"], res.treatment_days.get(v["treatment_id"])
        missing = f"No treatment {key} in {TREATMENTS}, {ABLATIONS} or the registry."
        refused = treatment_refused
    else:
        column, key, day = "block_id", v["block_id"], res.block_days.get(v["block_id"])
        missing = f"No block {key} in {BLOCKS} or the registry."
        refused = (BLOCKS, key) in parsed.refused
    if day is None:
        if not refused:
            parsed.problem(ADVERSE_EVENTS, row.line, column, missing)
        return
    if v["occurred_on"] < day:
        what = "treatment" if column == "treatment_id" else "block"
        parsed.problem(
            ADVERSE_EVENTS, row.line, "occurred_on", f"The event cannot be before its procedure ({what} {key}, {day})."
        )


class SiteError(ValueError):
    """The site an import is to write into is missing or unknown."""


def import_site_get(*, name: str | None) -> Site | None:
    """The site an import names (an active one), or None for a single clinic's import that names none. SiteError with
    the reason when a network's import names none or an unknown one."""
    sites = site_list()
    if name is None:
        if site_network():
            raise SiteError(f"This registry has several sites: name the one to import into ({_names(sites)}).")
        return None
    site = sites.filter(name=name).first()
    if site is None:
        raise SiteError(f"No active site is named “{name}” (the sites: {_names(sites)}).")
    return site


def _names(sites: QuerySet[Site]) -> str:
    return ", ".join(site.name for site in sites)


def registry_import(
    *, folder: Path, site: Site | None = None, dry_run: bool = False, user: User | None = None, source: str = ""
) -> ImportResult:
    """Check every row of the files, then write them all in one transaction, or nothing when any row has a
    problem (or on a dry run, whose writes are rolled back so that its counts are those a real run would give).
    New patients are at `site` (None: the only site; a network's import must name one: SiteError). `source` says
    where the files came from (the names of the files uploaded); by default, the folder. It runs unscoped by the
    database's site rule (apps.clinic.row_security.unscoped): an import is the registry's, whoever starts it."""
    with unscoped():
        return _registry_import(folder=folder, site=site, dry_run=dry_run, user=user, source=source)


def _registry_import(*, folder: Path, site: Site | None, dry_run: bool, user: User | None, source: str) -> ImportResult:
    site = site or site_only()
    if site is None:
        raise SiteError("This registry has several sites: name the one to import into.")
    source = source or str(folder)
    started = timezone.now()
    parsed = registry_parse(Path(folder))
    resolved = _resolve(parsed) if not any(p.line <= 1 for p in parsed.problems) else None
    result = ImportResult(dry_run=dry_run)
    if parsed.problems or resolved is None:
        result.problems = sorted(parsed.problems)
        result.run = _record(result, source, user, started, ImportRun.Status.REFUSED)
        return result
    try:
        with transaction.atomic():
            # A real run is recorded first, so that every row it creates names it in its history.
            run = None if dry_run else _record(result, source, user, started, ImportRun.Status.IMPORTED)
            with pghistory.context(import_run=run.pk if run else None):
                _write(parsed, resolved, result, user, site)
            if dry_run:
                raise _DryRun
            _record_finished(cast(ImportRun, run), result)  # not a dry run: recorded
            result.run = run
    except _DryRun:
        result.run = _record(result, source, user, started, ImportRun.Status.DRY_RUN)
        return result
    if any(counts.get("created") for counts in result.counts.values()):
        # Statistics of the tables as they now are (a first import multiplies them), the derived ones included.
        bulk.tables_analyze()
    return result


def _record(result: ImportResult, source: str, user: User | None, started: datetime, status: str) -> ImportRun:
    run = ImportRun.objects.create(
        user=user,
        source=source[-255:],
        dry_run=result.dry_run,
        status=status,
        counts=result.counts,
        problem_count=len(result.problems),
        problems=[p.location for p in result.problems[:PROBLEMS_KEPT]],
        created_physicians=result.created_physicians,
        finished_at=timezone.now(),
    )
    run.started_at = started
    ImportRun.objects.filter(pk=run.pk).update(started_at=started)
    # Ids and counts only: no patient data in logs.
    logger.info("registry import %s: %s %s", run.pk, status, result.counts)
    return run


def _record_finished(run: ImportRun, result: ImportResult) -> None:
    run.counts = result.counts
    run.created_physicians = result.created_physicians
    run.finished_at = timezone.now()
    run.save(update_fields=["counts", "created_physicians", "finished_at"])
    logger.info("registry import %s: finished %s", run.pk, result.counts)


def _write(parsed: Parsed, res: _Resolved, result: ImportResult, user: User | None, site: Site) -> None:
    # Physicians first, recorded by their triggers like any account; then the registry's rows, in bulk.
    _physicians_create(res, result)
    with history_in_bulk(*bulk.WRITTEN):
        with history_in_bulk(*bulk.WRITTEN, updates=True):
            created = _rows_write(parsed, res, result, user, site)
        for model, ids in created.ids.items():
            history_record_created(model=model, ids=ids)
        # The repeat-treatment rule (cryoablations' one home of it) for every patient a new treatment or answer
        # touches: a new treatment may supersede time points of an older one, a new answer may land on one. Run
        # after the rows' insert events (which hold them as copied), so that a follow-up the rule then changes, new
        # or old, has its update event from its trigger (inside the outer block, see history_in_bulk); it drops
        # the counted answer of a superseded follow-up.
        superseded = FollowUp.objects.filter(superseded_by__isnull=False)
        superseded_before = superseded.count()
        for chunk in bulk.chunks(created.patients_touched, REFRESH_CHUNK):
            supersession_refresh(patient_ids=list(chunk))
        # Follow-ups that were there before and now count a new answer, after the rule: a superseded one counts none.
        for chunk in bulk.chunks(created.old_follow_ups_touched, REFRESH_CHUNK):
            counted_responses_refresh(follow_ups=FollowUp.objects.filter(pk__in=chunk))
        # Follow-ups the rule left out in this import, new ones or older ones a new repeat supersedes (an import only
        # adds treatments, so it never brings one back).
        result.counts["follow_ups"]["superseded"] = superseded.count() - superseded_before


@dataclass
class UploadImport:
    """A registry import of uploaded files: `result` is None when the upload itself was refused (`error`); `token`
    names the files kept for registry_upload_confirm after a dry run without problems."""

    result: ImportResult | None = None
    error: str = ""
    token: str = ""
    source: str = ""


def registry_upload_import(
    *,
    files: Sequence[UploadedFile[bytes]],
    user: User | None,
    site: Site | None = None,
    dry_run: bool = True,
    keep: bool = False,
) -> UploadImport:
    """Store the uploaded files (CSVs or a zip: apps/registry/uploads.py) and import them. With `keep`, a dry run
    without problems keeps them for registry_upload_confirm (its token in the answer); otherwise they are discarded
    at once."""
    try:
        token = upload_store(files)
    except UploadError as error:
        return UploadImport(error=str(error))
    source = upload_names(files)
    folder = cast(Path, upload_folder(token))  # just stored under this token
    try:
        result = registry_import(folder=folder, site=site, dry_run=dry_run, user=user, source=source)
    except BaseException:
        upload_discard(token)
        raise
    if keep and dry_run and result.ok:
        return UploadImport(result=result, token=token, source=source)
    upload_discard(token)
    return UploadImport(result=result, source=source)


def registry_upload_confirm(
    *, token: str, source: str, user: User | None, site: Site | None = None
) -> ImportResult | None:
    """Import for real the files a dry run kept, then discard them; None when there are none (already confirmed,
    or never uploaded)."""
    folder = upload_folder(token)
    if folder is None:
        return None
    try:
        return registry_import(folder=folder, site=site, dry_run=False, user=user, source=source)
    finally:
        upload_discard(token)


def registry_upload_discard(*, token: str) -> None:
    """Forget the files a dry run kept (a new upload replaces them)."""
    upload_discard(token)


@dataclass
class _Created:
    ids: dict[type[Model], list[int]] = field(default_factory=dict)
    old_follow_ups_touched: list[int] = field(default_factory=list)
    patients_touched: list[int] = field(default_factory=list)  # of new treatments or answers


def _physicians_create(res: _Resolved, result: ImportResult) -> None:
    # Physicians the registry does not know: inactive accounts (no sign-in) holding the physician role.
    group = Group.objects.get(name=Role.PHYSICIAN)
    for username in res.new_physicians:
        physician = User(username=username, is_active=False)
        physician.set_unusable_password()
        physician.save()
        physician.groups.add(group)
        res.users[username] = physician.pk
    result.created_physicians = list(res.new_physicians)


# The rows the import copies (apps.registry.bulk.rows_copy): fields named after the models' columns; the others get
# their defaults.
class PatientRow(NamedTuple):
    site_id: int
    mrn: str
    first_name: str
    last_name: str
    date_of_birth: date
    sex: str
    email: str
    mobile_phone: str
    preferred_channel: str
    timezone: str
    search_name: str


class BlockRow(NamedTuple):
    external_id: str
    patient_id: int
    performed_at: datetime
    physician_id: int
    nerve_id: int
    side: str
    guidance: str
    drug: str
    concentration_percent: Decimal | None
    volume_ml: Decimal | None
    needle_gauge: int | None
    baseline_nrs: int
    suspected_diagnosis: str


class DiaryRow(NamedTuple):
    block_id: int
    minutes_after: int
    nrs: int


class TreatmentRow(NamedTuple):
    external_id: str
    patient_id: int
    kind: str
    performed_on: date
    physician_id: int
    nerve_id: int
    side: str
    baseline_nrs: int
    guidance: str
    device: str
    probe: str
    cycles: int | None
    freeze_seconds: int | None
    cannula_gauge: int | None
    active_tip_mm: Decimal | None
    temperature_c: int | None
    lesion_seconds: int | None
    lesions: int | None
    leads: int | None
    removed_on: date | None
    qualifying_block_id: int | None
    qualifying_source: str


class FollowUpRow(NamedTuple):
    id: int
    ablation_id: int
    time_point: str
    label: str
    target_date: date
    window_start: date
    window_end: date
    counted_response_id: int | None


class ResponseRow(NamedTuple):
    id: int
    ablation_id: int
    follow_up_id: int | None
    completed_at: datetime
    pain_average: int
    pain_current: int | None
    pain_worst: int | None
    percent_relief: int | None
    pgic: int | None
    new_problem: bool | None
    new_problem_text: str
    collected_via: str
    recorded_by_id: int | None


class MedicationStatementRow(NamedTuple):
    external_id: str
    patient_id: int
    opioid: str
    daily_dose: Decimal
    started_on: date
    stopped_on: date | None
    recorded_by_id: int | None


class AdverseEventRow(NamedTuple):
    external_id: str
    treatment_id: int | None
    block_id: int | None
    occurred_on: date
    category: str
    severity: str
    serious: bool
    relatedness: str
    resolved_on: date | None
    notes: str
    recorded_by_id: int | None


def _rows_write(parsed: Parsed, res: _Resolved, result: ImportResult, user: User | None, site: Site) -> _Created:
    """The registry's rows, every one new (no history trigger writes for them: see _write), table by table."""
    created = _Created()
    created.ids[Patient] = _patients_write(parsed, res, result, site)
    created.ids[DiagnosticBlock], created.ids[DiaryEntry] = _blocks_write(parsed, res, result)
    created.ids[Cryoablation], performed_on, sites = _treatments_write(parsed, res, result)
    follow_ups = _follow_ups_plan(performed_on, sites)
    responses = _responses_plan(parsed, res, follow_ups, user)
    # The answers before the follow-ups that count them (foreign keys are checked at commit): the follow-ups' insert
    # trigger then copies each counted answer's scores into reports_followupfact (apps/reports).
    created.ids[SurveyResponse] = bulk.rows_copy(SurveyResponse, responses)
    counted = bulk.counted_responses_pick(responses)
    follow_ups = [row._replace(counted_response_id=counted.get(row.id)) for row in follow_ups]
    created.ids[FollowUp] = bulk.rows_copy(FollowUp, follow_ups)
    today = timezone.localdate()
    result.counts["follow_ups"] = {
        "created": len(follow_ups),
        # One whose window closed before today is recorded as such: no reminder is due for it (reminders go out
        # only while a window is open).
        "window_closed_at_import": sum(1 for row in follow_ups if row.window_end < today),
    }
    result.counts[RESPONSES] = {
        "created": len(responses),
        "matched": len(parsed.responses) - len(responses),
        "unscheduled": sum(1 for row in responses if row.follow_up_id is None),
    }
    touched = {row.follow_up_id for row in responses if row.follow_up_id is not None}
    created.old_follow_ups_touched = sorted(touched - set(created.ids[FollowUp]))
    created.ids[AdverseEvent] = _adverse_events_write(parsed, res, result, user)
    created.ids[MedicationStatement] = _medications_write(parsed, res, result, user)
    created.ids[InstrumentAnswer] = _instrument_answers_write(parsed, res, result, user)
    treatment_patients = {
        pk: res.patient_ids[mrn] for pk, mrn in res.treatments.values() if pk is not None and mrn in res.patient_ids
    }
    created.patients_touched = sorted(
        {treatment_patients[pk] for pk in created.ids[Cryoablation]}
        | {treatment_patients[row.ablation_id] for row in responses}
    )
    return created


def _patients_write(parsed: Parsed, res: _Resolved, result: ImportResult, site: Site) -> list[int]:
    """Patients: matched by MRN, left as they are; new ones created at `site`."""
    default_timezone = patient_time_zone_default(site)
    new_mrns, rows = [], []
    for mrn, row in parsed.patients.items():
        if mrn in res.patient_ids:
            continue
        v = row.values
        new_mrns.append(mrn)
        rows.append(
            PatientRow(
                site_id=site.pk,
                mrn=mrn,
                first_name=v["first_name"],
                last_name=v["last_name"],
                date_of_birth=v["date_of_birth"],
                sex=v["sex"] or Sex.UNKNOWN,
                email=v["email"] or "",
                mobile_phone=v["mobile_phone"] or "",
                preferred_channel=v["preferred_channel"] or Channel.NONE,
                timezone=v["timezone"] or default_timezone,
                search_name=patient_search_name(v["first_name"], v["last_name"]),
            )
        )
    ids = bulk.rows_copy(Patient, rows)
    res.patient_ids.update(zip(new_mrns, ids, strict=True))
    result.counts[PATIENTS] = {"created": len(ids), "matched": len(parsed.patients) - len(ids)}
    return ids


def _blocks_write(parsed: Parsed, res: _Resolved, result: ImportResult) -> tuple[list[int], list[int]]:
    """Blocks and their diaries. The import has no suspected diagnosis: "other" says it was not recorded."""
    new_block_ids, rows, diaries = [], [], []
    for block_id, row in parsed.blocks.items():
        if res.blocks[block_id][0] is not None:
            continue
        v = row.values
        new_block_ids.append(block_id)
        rows.append(
            BlockRow(
                external_id=block_id,
                patient_id=res.patient_ids[v["mrn"]],
                performed_at=v["performed_at"],
                physician_id=res.users[v["physician"]],
                nerve_id=res.nerves[v["nerve"]],
                side=v["side"],
                guidance=v["guidance"] or Guidance.ULTRASOUND,
                drug=v["drug"] or "",
                concentration_percent=v["concentration_percent"],
                volume_ml=v["volume_ml"],
                needle_gauge=v["needle_gauge"],
                baseline_nrs=v["baseline_nrs"],
                suspected_diagnosis=Diagnosis.OTHER,
            )
        )
        diaries.append(v["diary"] or [])
    block_pks = bulk.rows_copy(DiagnosticBlock, rows)
    entries = [
        DiaryRow(block_id=block_pk, minutes_after=minutes, nrs=nrs)
        for block_pk, diary in zip(block_pks, diaries, strict=True)
        for minutes, nrs in diary
    ]
    entry_ids = bulk.rows_copy(DiaryEntry, entries)
    for block_id, block_pk in zip(new_block_ids, block_pks, strict=True):
        _, mrn, code, side = res.blocks[block_id]
        res.blocks[block_id] = (block_pk, mrn, code, side)
    result.counts[BLOCKS] = {
        "created": len(block_pks),
        "matched": len(parsed.blocks) - len(block_pks),
        "diary_entries": len(entry_ids),
    }
    return block_pks, entry_ids


def _treatments_write(
    parsed: Parsed, res: _Resolved, result: ImportResult
) -> tuple[list[int], dict[int, date], dict[int, int]]:
    """Treatments of both files (an ablation is a cryoablation): a named qualifying block is the staff's choice; the
    others get the rule's pick, in SQL, under the protocol of the patient's site (a patient already in the registry
    may be another site's than the import's). An empty detail is not recorded (null, or "" for a text). Returns
    their ids, each new treatment's date and its patient's site's id."""
    guidance_default = Cryoablation._meta.get_field("guidance").get_default()
    new_treatment_ids: list[str] = []
    rows: list[TreatmentRow] = []
    for treatment_id, row in parsed.treatments.items():
        if res.treatments[treatment_id][0] is not None:
            continue
        v = row.values
        named = v["qualifying_block_id"]
        new_treatment_ids.append(treatment_id)
        rows.append(
            TreatmentRow(
                external_id=treatment_id,
                patient_id=res.patient_ids[v["mrn"]],
                kind=v["kind"],
                performed_on=v["performed_on"],
                physician_id=res.users[v["physician"]],
                nerve_id=res.nerves[v["nerve"]],
                side=v["side"],
                baseline_nrs=v["baseline_nrs"],
                guidance=v["guidance"] or guidance_default,
                device=v["device"] or "",
                probe=v["probe"] or "",
                cycles=v["cycles"],
                freeze_seconds=v["freeze_seconds"],
                cannula_gauge=v["cannula_gauge"],
                active_tip_mm=v["active_tip_mm"],
                temperature_c=v["temperature_c"],
                lesion_seconds=v["lesion_seconds"],
                lesions=v["lesions"],
                leads=v["leads"],
                removed_on=v["removed_on"],
                qualifying_block_id=res.blocks[named][0] if named else None,
                qualifying_source=QualifyingSource.STAFF if named else "",
            )
        )
    ids = bulk.rows_copy(Cryoablation, rows)
    site_of_patient = dict(Patient.objects.filter(pk__in={row.patient_id for row in rows}).values_list("pk", "site_id"))
    sites = {pk: site_of_patient[row.patient_id] for pk, row in zip(ids, rows, strict=True)}
    unnamed = [pk for pk, row in zip(ids, rows, strict=True) if row.qualifying_block_id is None]
    picked: dict[int, int] = {}
    for site, protocol in protocols_for(set(sites.values())).items():
        of_site = [pk for pk in unnamed if sites[pk] == site]
        picked |= bulk.qualifying_blocks_pick(ablation_ids=of_site, protocol=protocol)
    files: dict[int, str] = {}
    for treatment_id, treatment_pk in zip(new_treatment_ids, ids, strict=True):
        res.treatments[treatment_id] = (treatment_pk, res.treatments[treatment_id][1])
        files[treatment_pk] = parsed.treatments[treatment_id].file
    for name in (ABLATIONS, TREATMENTS):
        in_file = [r for r in parsed.treatments.values() if r.file == name]
        # A file with no rows has no line in the summary, but for a folder with none at all (version 1's line).
        if not in_file and (name == TREATMENTS or parsed.treatments):
            continue
        mine = [pk for pk in ids if files[pk] == name]
        mine_unnamed = [pk for pk in unnamed if files[pk] == name]
        result.counts[name] = {
            "created": len(mine),
            "matched": len(in_file) - len(mine),
            "qualifying_named": len(mine) - len(mine_unnamed),
            "qualifying_by_rule": sum(1 for pk in mine_unnamed if pk in picked),
        }
    result.counts[TREATMENTS_BY_KIND] = dict(sorted(Counter(row.kind for row in rows).items()))
    return ids, {pk: row.performed_on for pk, row in zip(ids, rows, strict=True)}, sites


def _adverse_events_write(parsed: Parsed, res: _Resolved, result: ImportResult, user: User | None) -> list[int]:
    """Adverse events: matched by event_id, left as they are; new ones on their treatment or block."""
    rows = []
    for event_id, row in parsed.adverse_events.items():
        if event_id in res.existing_events:
            continue
        v = row.values
        rows.append(
            AdverseEventRow(
                external_id=event_id,
                treatment_id=res.treatments[v["treatment_id"]][0] if v["treatment_id"] else None,
                block_id=res.blocks[v["block_id"]][0] if v["block_id"] else None,
                occurred_on=v["occurred_on"],
                category=v["category"],
                severity=v["severity"],
                serious=v["serious"],
                relatedness=v["relatedness"],
                resolved_on=v["resolved_on"],
                notes=v["notes"],
                recorded_by_id=user.pk if user is not None else None,
            )
        )
    ids = bulk.rows_copy(AdverseEvent, rows)
    if parsed.adverse_events:
        result.counts[ADVERSE_EVENTS] = {
            "created": len(ids),
            "matched": len(parsed.adverse_events) - len(ids),
            "on_treatments": sum(1 for row in rows if row.treatment_id is not None),
            "on_blocks": sum(1 for row in rows if row.block_id is not None),
            "serious": sum(1 for row in rows if row.serious),
        }
    return ids


def _medications_write(parsed: Parsed, res: _Resolved, result: ImportResult, user: User | None) -> list[int]:
    """Opioid statements: matched by statement_id, left as they are; new ones on their patient's list."""
    rows = [
        MedicationStatementRow(
            external_id=statement_id,
            patient_id=res.patient_ids[row.values["mrn"]],
            opioid=row.values["opioid"],
            daily_dose=row.values["daily_dose"],
            started_on=row.values["started_on"],
            stopped_on=row.values["stopped_on"],
            recorded_by_id=user.pk if user is not None else None,
        )
        for statement_id, row in parsed.medications.items()
        if statement_id not in res.existing_statements
    ]
    ids = bulk.rows_copy(MedicationStatement, rows)
    if parsed.medications:
        result.counts[MEDICATIONS] = {"created": len(ids), "matched": len(parsed.medications) - len(ids)}
    return ids


class InstrumentAnswerRow(NamedTuple):
    treatment_id: int
    instrument_id: int
    version_id: int
    completed_at: datetime
    answers: Jsonb
    language: str
    score_total: Decimal
    score_items: int
    standard_error: Decimal | None
    collected_via: str
    recorded_by_id: int | None


def _instrument_answers_write(parsed: Parsed, res: _Resolved, result: ImportResult, user: User | None) -> list[int]:
    """Instrument answers: matched by treatment, instrument and completed_at, left as they are; new ones scored with
    their instrument's current version (the score checked in _resolve)."""
    rows = []
    for row in parsed.instrument_answers:
        v = row.values
        version = res.instruments[v["instrument"]]
        treatment_pk = res.treatments[v["treatment_id"]][0]
        assert treatment_pk is not None  # written above, or found
        if (treatment_pk, version.instrument_id, v["completed_at"]) in res.existing_instrument_answers:
            continue
        score = res.instrument_scores[row.line]
        rows.append(
            InstrumentAnswerRow(
                treatment_id=treatment_pk,
                instrument_id=version.instrument_id,
                version_id=version.pk,
                completed_at=v["completed_at"],
                answers=Jsonb(v["answers"]),
                language="en",
                score_total=score.total,
                score_items=score.items,
                standard_error=score.standard_error,
                collected_via=AnswerVia.IMPORT,
                recorded_by_id=user.pk if user is not None else None,
            )
        )
    ids = bulk.rows_copy(InstrumentAnswer, rows)
    if parsed.instrument_answers:
        result.counts[INSTRUMENTS] = {"created": len(ids), "matched": len(parsed.instrument_answers) - len(ids)}
    return ids


def _follow_ups_plan(performed_on: dict[int, date], sites: dict[int, int]) -> list[FollowUpRow]:
    """The follow-ups of the new ablations, dated like any other's (the time points of the patient's site), numbered
    but not yet written (their counted answers first)."""
    time_points = {site: time_points_for(site) for site in set(sites.values())}
    ids = iter(bulk.ids_allocate(FollowUp, sum(len(time_points[site]) for site in sites.values())))
    rows = []
    for ablation_pk, day in performed_on.items():
        for time_point in time_points[sites[ablation_pk]]:
            target, start, end = follow_up_dates(day, time_point)
            rows.append(
                FollowUpRow(
                    id=next(ids),
                    ablation_id=ablation_pk,
                    time_point=time_point.code,
                    label=time_point.label,
                    target_date=target,
                    window_start=start,
                    window_end=end,
                    counted_response_id=None,
                )
            )
    return rows


# A follow-up's dates and id: (target date, window start, window end, id), sorted in time-point order.
Window = tuple[date, date, date, int]


def _follow_up_windows(res: _Resolved, parsed: Parsed, new: list[FollowUpRow]) -> dict[int, list[Window]]:
    """Each answered ablation's follow-ups as (target date, window start, window end, id), in time-point order:
    the new ones' and, for ablations already in the registry, theirs."""
    windows: dict[int, list[Window]] = defaultdict(list)
    for row in new:
        windows[row.ablation_id].append((row.target_date, row.window_start, row.window_end, row.id))
    answered = {res.treatments[r.values["treatment_id"]][0] for r in parsed.responses}
    old_ablations = [pk for pk in answered if pk not in windows]
    for chunk in bulk.chunks(old_ablations):
        for ablation_pk, target, start, end, pk in FollowUp.objects.filter(ablation_id__in=chunk).values_list(
            "ablation_id", "target_date", "window_start", "window_end", "id"
        ):
            windows[ablation_pk].append((target, start, end, pk))
    for follow_ups in windows.values():
        follow_ups.sort()
    return windows


def _responses_plan(
    parsed: Parsed, res: _Resolved, follow_ups: list[FollowUpRow], user: User | None
) -> list[ResponseRow]:
    """Answers: matched by ablation and completion time; new ones land on the follow-up whose window holds their
    clinic-local date (surveys.services.follow_up_for's rule: the earliest such time point), else unscheduled."""
    windows = _follow_up_windows(res, parsed, follow_ups)
    new = []
    for row in parsed.responses:
        v = row.values
        ablation_pk = cast(int, res.treatments[v["treatment_id"]][0])
        if (ablation_pk, v["completed_at"]) in res.existing_responses:
            continue
        local = timezone.localdate(v["completed_at"])
        new.append(
            (ablation_pk, next((pk for _, start, end, pk in windows[ablation_pk] if start <= local <= end), None), v)
        )
    ids = bulk.ids_allocate(SurveyResponse, len(new))
    recorded_by = user.pk if user is not None else None
    return [
        ResponseRow(
            id=pk,
            ablation_id=ablation_pk,
            follow_up_id=follow_up_id,
            completed_at=v["completed_at"],
            pain_average=v["pain_average"],
            pain_current=v["pain_current"],
            pain_worst=v["pain_worst"],
            percent_relief=v["percent_relief"],
            pgic=v["pgic"],
            new_problem=v["new_problem"],
            new_problem_text=v["new_problem_text"],
            collected_via=CollectedVia.IMPORT,
            recorded_by_id=recorded_by,
        )
        for pk, (ablation_pk, follow_up_id, v) in zip(ids, new, strict=True)
    ]
