"""The registry import (docs: data-exchange.md): all or nothing, idempotent, recorded in an ImportRun.

    result = registry_import(folder=Path("export/"), dry_run=False, user=None)
    result.problems   # every problem as file:line: column: message; nothing written when there is one

Rows are written in bulk (an import of 100,000 answers takes seconds), through the same rules as the services that
write one row at a time: cells are checked by the model fields (apps/registry/parsing.py), follow-ups are dated by
`follow_up_dates`, answers land on the follow-up whose window holds their clinic-local date and each follow-up's
counted answer is set by `counted_responses_refresh`; the qualifying-block rule runs in SQL (apps/reports/sql.py).

Change history: every row the import creates has its "insert" event, with the import's context (the command or
the admin page and its user, and the import run), written set-based per table once the row holds its final values
(apps.audit.services.history_in_bulk) rather than by a trigger per row, whose cost made an import of 100,000
answers take over 18 minutes. Rows that were there before and change (a follow-up counting a new answer) are
recorded by their triggers, as any change.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pghistory
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.utils import timezone

from apps.accounts.models import Role, User
from apps.audit.services import history_in_bulk, history_record_created
from apps.blocks.models import Diagnosis, DiagnosticBlock, DiaryEntry, Guidance
from apps.clinic.models import Nerve
from apps.clinic.selectors import protocol_get
from apps.cryoablations.models import Cryoablation, FollowUp, QualifyingSource
from apps.cryoablations.services import follow_up_dates
from apps.patients.models import Channel, Patient, Sex, patient_search_name
from apps.reports import sql
from apps.surveys.models import CollectedVia, SurveyResponse
from apps.surveys.services import counted_responses_refresh

from .models import ImportRun
from .parsing import ABLATIONS, BLOCKS, PATIENTS, RESPONSES, Parsed, Problem, registry_parse

logger = logging.getLogger(__name__)

BATCH = 5_000  # rows per INSERT of bulk_create
REFRESH_CHUNK = 10_000  # follow-ups per counted_responses_refresh
PROBLEMS_KEPT = 200  # problem locations kept in the ImportRun
# The models whose created rows the import records in bulk (history_in_bulk).
CREATED_IN_BULK = (Patient, DiagnosticBlock, DiaryEntry, Cryoablation, FollowUp, SurveyResponse)


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
    # block_id -> (db id or None, mrn, nerve code, side); ablation_id -> (db id or None, mrn)
    blocks: dict[str, tuple[int | None, str, str, str]] = field(default_factory=dict)
    ablations: dict[str, tuple[int | None, str]] = field(default_factory=dict)
    existing_responses: set[tuple[int, Any]] = field(default_factory=set)
    new_physicians: list[str] = field(default_factory=list)


def _chunks(items: list, size: int):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _resolve(parsed: Parsed) -> _Resolved:
    """Look up, in bulk, every patient, block, ablation, user and nerve the files name, and check references
    across files (a block's patient, an ablation's qualifying block, a response's ablation and patient)."""
    res = _Resolved(nerves=dict(Nerve.objects.values_list("code", "id")))
    mrns = set(parsed.patients)
    mrns |= {r.values["mrn"] for r in parsed.blocks.values()}
    mrns |= {r.values["mrn"] for r in parsed.ablations.values()}
    mrns |= {r.values["mrn"] for r in parsed.responses}
    for chunk in _chunks(sorted(mrns), 20_000):
        res.patient_ids.update(Patient.objects.filter(mrn__in=chunk).values_list("mrn", "id"))
    known_mrns = set(res.patient_ids) | set(parsed.patients)

    usernames = {r.values["physician"] for r in parsed.blocks.values()} | {
        r.values["physician"] for r in parsed.ablations.values()
    }
    res.users = dict(User.objects.filter(username__in=usernames).values_list("username", "id"))
    res.new_physicians = sorted(usernames - set(res.users))

    block_ids = set(parsed.blocks) | {
        r.values["qualifying_block_id"] for r in parsed.ablations.values() if r.values["qualifying_block_id"]
    }
    for chunk in _chunks(sorted(block_ids), 20_000):
        for pk, ext, mrn, code, side in DiagnosticBlock.objects.filter(external_id__in=chunk).values_list(
            "id", "external_id", "patient__mrn", "nerve__code", "side"
        ):
            res.blocks[ext] = (pk, mrn, code, side)
    ablation_ids = set(parsed.ablations) | {r.values["ablation_id"] for r in parsed.responses}
    for chunk in _chunks(sorted(ablation_ids), 20_000):
        for pk, ext, mrn in Cryoablation.objects.filter(external_id__in=chunk).values_list(
            "id", "external_id", "patient__mrn"
        ):
            res.ablations[ext] = (pk, mrn)
    existing_ablation_pks = [v[0] for v in res.ablations.values()]
    for chunk in _chunks(existing_ablation_pks, 20_000):
        res.existing_responses.update(
            SurveyResponse.objects.filter(ablation_id__in=chunk).values_list("ablation_id", "completed_at")
        )

    def known(name: str, key: str) -> bool:
        return (name, key) in parsed.refused

    for block_id, row in parsed.blocks.items():
        v = row.values
        if v["mrn"] not in known_mrns and not known(PATIENTS, v["mrn"]):
            parsed.problem(BLOCKS, row.line, "mrn", f"No patient with MRN {v['mrn']} in patients.csv or the registry.")
        if v["nerve"] not in res.nerves:
            parsed.problem(BLOCKS, row.line, "nerve", f"“{v['nerve']}” is not a nerve code of the catalog.")
        res.blocks.setdefault(block_id, (None, v["mrn"], v["nerve"], v["side"]))
    for ablation_id, row in parsed.ablations.items():
        v = row.values
        if v["mrn"] not in known_mrns and not known(PATIENTS, v["mrn"]):
            parsed.problem(
                ABLATIONS, row.line, "mrn", f"No patient with MRN {v['mrn']} in patients.csv or the registry."
            )
        if v["nerve"] not in res.nerves:
            parsed.problem(ABLATIONS, row.line, "nerve", f"“{v['nerve']}” is not a nerve code of the catalog.")
        named = v["qualifying_block_id"]
        if named:
            block = res.blocks.get(named)
            if block is None:
                if not known(BLOCKS, named):
                    parsed.problem(
                        ABLATIONS, row.line, "qualifying_block_id", f"No block {named} in blocks.csv or the registry."
                    )
            elif (block[1], block[2], block[3]) != (v["mrn"], v["nerve"], v["side"]):
                parsed.problem(
                    ABLATIONS,
                    row.line,
                    "qualifying_block_id",
                    f"Block {named} is not of the same patient, nerve and side as the ablation.",
                )
        res.ablations.setdefault(ablation_id, (None, v["mrn"]))
    for row in parsed.responses:
        v = row.values
        ablation = res.ablations.get(v["ablation_id"])
        if ablation is None:
            if not known(ABLATIONS, v["ablation_id"]):
                parsed.problem(
                    RESPONSES,
                    row.line,
                    "ablation_id",
                    f"No ablation {v['ablation_id']} in ablations.csv or the registry.",
                )
        elif ablation[1] != v["mrn"]:
            parsed.problem(RESPONSES, row.line, "mrn", f"Ablation {v['ablation_id']} is of another patient.")
    return res


def registry_import(*, folder: Path, dry_run: bool = False, user: User | None = None) -> ImportResult:
    """Check every row of the four files, then write them all in one transaction, or nothing when any row has a
    problem (or on a dry run, whose writes are rolled back so that its counts are those a real run would give)."""
    started = timezone.now()
    parsed = registry_parse(Path(folder))
    resolved = _resolve(parsed) if not any(p.line <= 1 for p in parsed.problems) else None
    result = ImportResult(dry_run=dry_run)
    if parsed.problems or resolved is None:
        result.problems = sorted(parsed.problems)
        result.run = _record(result, folder, user, started, ImportRun.Status.REFUSED)
        return result
    try:
        with transaction.atomic():
            # A real run is recorded first, so that every row it creates names it in its history.
            run = None if dry_run else _record(result, folder, user, started, ImportRun.Status.IMPORTED)
            with pghistory.context(import_run=run.pk if run else None):
                _write(parsed, resolved, result, user)
            if dry_run:
                raise _DryRun
            _record_finished(run, result)
            result.run = run
    except _DryRun:
        result.run = _record(result, folder, user, started, ImportRun.Status.DRY_RUN)
    return result


def _record(result: ImportResult, folder, user, started, status: str) -> ImportRun:
    run = ImportRun.objects.create(
        user=user,
        source=str(folder)[-255:],
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


def _write(parsed: Parsed, res: _Resolved, result: ImportResult, user: User | None) -> None:
    # Physicians first, recorded by their triggers like any account; then the registry's rows, in bulk.
    _physicians_create(res, result)
    with history_in_bulk(*CREATED_IN_BULK):
        with history_in_bulk(*CREATED_IN_BULK, updates=True):
            created = _rows_write(parsed, res, result, user)
        # Follow-ups that were there before and now count a new answer: their update events come from their
        # triggers (inside the outer block, see history_in_bulk).
        for chunk in _chunks(created.old_follow_ups_touched, REFRESH_CHUNK):
            counted_responses_refresh(follow_ups=FollowUp.objects.filter(pk__in=chunk))
        for model, ids in created.ids.items():
            history_record_created(model=model, ids=ids)


@dataclass
class _Created:
    ids: dict[type, list[int]] = field(default_factory=dict)
    old_follow_ups_touched: list[int] = field(default_factory=list)


def _execute_named(cursor, statement: str, params: dict[str, Any]) -> None:
    """A statement with named placeholders, inside history_in_bulk: pgtrigger.ignore prepends a positional one to
    every statement, which psycopg refuses beside named ones. So the values are bound client-side (psycopg's own
    quoting), and the statement's % escaped for the positional values the wrappers then add."""
    cursor.execute(connection.ops.compose_sql(statement, params).replace("%", "%%"), [])


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


def _rows_write(parsed: Parsed, res: _Resolved, result: ImportResult, user: User | None) -> _Created:
    """The registry's rows, every one new (no history trigger writes for them: see _write)."""
    counts = result.counts
    protocol = protocol_get()
    today = timezone.localdate()

    # Patients: matched by MRN, left as they are; new ones created.
    new_patients = []
    for mrn, row in parsed.patients.items():
        if mrn in res.patient_ids:
            continue
        v = row.values
        new_patients.append(
            Patient(
                mrn=mrn,
                first_name=v["first_name"],
                last_name=v["last_name"],
                date_of_birth=v["date_of_birth"],
                sex=v["sex"] or Sex.UNKNOWN,
                email=v["email"] or "",
                mobile_phone=v["mobile_phone"] or "",
                preferred_channel=v["preferred_channel"] or Channel.NONE,
                timezone=v["timezone"] or Patient._meta.get_field("timezone").get_default(),
                search_name=patient_search_name(v["first_name"], v["last_name"]),
            )
        )
    Patient.objects.bulk_create(new_patients, batch_size=BATCH)
    res.patient_ids.update((p.mrn, p.pk) for p in new_patients)
    counts[PATIENTS] = {"created": len(new_patients), "matched": len(parsed.patients) - len(new_patients)}

    # Blocks and their diaries. The import has no suspected diagnosis: "other" says it was not recorded.
    new_blocks, diaries = [], []
    for block_id, row in parsed.blocks.items():
        if res.blocks[block_id][0] is not None:
            continue
        v = row.values
        new_blocks.append(
            DiagnosticBlock(
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
    DiagnosticBlock.objects.bulk_create(new_blocks, batch_size=BATCH)
    entries = [
        DiaryEntry(block_id=block.pk, minutes_after=minutes, nrs=nrs)
        for block, diary in zip(new_blocks, diaries, strict=True)
        for minutes, nrs in diary
    ]
    DiaryEntry.objects.bulk_create(entries, batch_size=BATCH)
    for block in new_blocks:
        _, mrn, code, side = res.blocks[block.external_id]
        res.blocks[block.external_id] = (block.pk, mrn, code, side)
    counts[BLOCKS] = {
        "created": len(new_blocks),
        "matched": len(parsed.blocks) - len(new_blocks),
        "diary_entries": len(entries),
    }

    # Ablations: a named qualifying block is the staff's choice; the others get the rule's pick, in one UPDATE.
    new_ablations = []
    for ablation_id, row in parsed.ablations.items():
        if res.ablations[ablation_id][0] is not None:
            continue
        v = row.values
        named = v["qualifying_block_id"]
        fields: dict[str, Any] = {}
        if v["cycles"] is not None:
            fields["cycles"] = v["cycles"]
        if v["freeze_seconds"] is not None:
            fields["freeze_seconds"] = v["freeze_seconds"]
        new_ablations.append(
            Cryoablation(
                external_id=ablation_id,
                patient_id=res.patient_ids[v["mrn"]],
                performed_on=v["performed_on"],
                physician_id=res.users[v["physician"]],
                nerve_id=res.nerves[v["nerve"]],
                side=v["side"],
                baseline_nrs=v["baseline_nrs"],
                device=v["device"] or "",
                probe=v["probe"] or "",
                qualifying_block_id=res.blocks[named][0] if named else None,
                qualifying_source=QualifyingSource.STAFF if named else "",
                **fields,
            )
        )
    Cryoablation.objects.bulk_create(new_ablations, batch_size=BATCH)
    picked = 0
    with connection.cursor() as cursor:
        for chunk in _chunks([a.pk for a in new_ablations if a.qualifying_block_id is None], 20_000):
            _execute_named(
                cursor,
                sql.QUALIFYING_BLOCKS_PICK,
                {
                    "tz": timezone.get_default_timezone_name(),
                    "days": protocol.qualifying_block_days,
                    "window": protocol.evaluation_window_minutes,
                    "threshold": protocol.block_threshold_percent,
                    "ids": chunk,
                },
            )
            picked += cursor.rowcount
    for ablation in new_ablations:
        res.ablations[ablation.external_id] = (ablation.pk, res.ablations[ablation.external_id][1])
    counts[ABLATIONS] = {
        "created": len(new_ablations),
        "matched": len(parsed.ablations) - len(new_ablations),
        "qualifying_named": sum(1 for a in new_ablations if a.qualifying_block_id),
        "qualifying_by_rule": picked,
    }

    # Follow-ups of the new ablations, dated like any other's. One whose window closed before today is recorded
    # as such: no reminder is due for it (reminders go out only while a window is open).
    time_points = list(protocol.time_points.all())
    new_follow_ups = [
        FollowUp(
            ablation_id=ablation.pk,
            time_point=time_point.code,
            label=time_point.label,
            target_date=target,
            window_start=start,
            window_end=end,
        )
        for ablation in new_ablations
        for time_point in time_points
        for target, start, end in [follow_up_dates(ablation.performed_on, time_point)]
    ]
    FollowUp.objects.bulk_create(new_follow_ups, batch_size=BATCH)
    counts["follow_ups"] = {
        "created": len(new_follow_ups),
        "window_closed_at_import": sum(1 for f in new_follow_ups if f.window_end < today),
    }

    # Answers: matched by ablation and completion time; new ones land on the follow-up whose window holds their
    # clinic-local date (surveys.services.follow_up_for's rule: the earliest such time point), else unscheduled.
    windows: dict[int, list[tuple]] = defaultdict(list)
    for f in new_follow_ups:
        windows[f.ablation_id].append((f.target_date, f.window_start, f.window_end, f.pk))
    response_ablations = {res.ablations[r.values["ablation_id"]][0] for r in parsed.responses}
    old_ablations = [pk for pk in response_ablations if pk not in windows]
    for chunk in _chunks(old_ablations, 20_000):
        for row in FollowUp.objects.filter(ablation_id__in=chunk).values_list(
            "ablation_id", "target_date", "window_start", "window_end", "id"
        ):
            windows[row[0]].append(row[1:])
    for follow_ups in windows.values():
        follow_ups.sort()
    new_responses = []
    for row in parsed.responses:
        v = row.values
        ablation_pk = res.ablations[v["ablation_id"]][0]
        if (ablation_pk, v["completed_at"]) in res.existing_responses:
            continue
        local = timezone.localdate(v["completed_at"])
        follow_up_id = next((pk for _, start, end, pk in windows[ablation_pk] if start <= local <= end), None)
        new_responses.append(
            SurveyResponse(
                ablation_id=ablation_pk,
                follow_up_id=follow_up_id,
                completed_at=v["completed_at"],
                pain_average=v["pain_average"],
                pain_current=v["pain_current"],
                pain_worst=v["pain_worst"],
                percent_relief=v["percent_relief"],
                pgic=v["pgic"],
                collected_via=CollectedVia.IMPORT,
                recorded_by=user,
            )
        )
    SurveyResponse.objects.bulk_create(new_responses, batch_size=BATCH)
    touched = {r.follow_up_id for r in new_responses if r.follow_up_id}
    new_follow_up_ids = {f.pk for f in new_follow_ups}
    for chunk in _chunks(sorted(touched & new_follow_up_ids), REFRESH_CHUNK):
        counted_responses_refresh(follow_ups=FollowUp.objects.filter(pk__in=chunk))
    counts[RESPONSES] = {
        "created": len(new_responses),
        "matched": len(parsed.responses) - len(new_responses),
        "unscheduled": sum(1 for r in new_responses if not r.follow_up_id),
    }
    return _Created(
        ids={
            Patient: [p.pk for p in new_patients],
            DiagnosticBlock: [b.pk for b in new_blocks],
            DiaryEntry: [e.pk for e in entries],
            Cryoablation: [a.pk for a in new_ablations],
            FollowUp: [f.pk for f in new_follow_ups],
            SurveyResponse: [r.pk for r in new_responses],
        },
        old_follow_ups_touched=sorted(touched - new_follow_up_ids),
    )
