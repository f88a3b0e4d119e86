"""The registry import (docs: data-exchange.md): all or nothing, idempotent, recorded in an ImportRun.

    result = registry_import(folder=Path("export/"), dry_run=False, user=None)
    result.problems   # every problem as file:line: column: message; nothing written when there is one

Rows are written in bulk (100,000 answers in under a minute: benchmarks/bench_import.py), through the same rules as
the services that write one row at a time: cells are checked by the model fields (apps/registry/parsing.py),
follow-ups are dated by `follow_up_dates`, answers land on the follow-up whose window holds their clinic-local date
and each follow-up's counted answer is set by `counted_responses_refresh`'s rule; the qualifying-block rule runs in
SQL (apps/reports/sql.py). Rows are written with COPY (_copy_create), each table's in one.

Change history: every row the import creates has its "insert" event, with the import's context (the command or
the admin page and its user, and the import run), written set-based per table once the row holds its final values
(apps.audit.services.history_in_bulk) rather than by a trigger per row, whose cost made an import of 100,000
answers take over 18 minutes. Rows that were there before and change (a follow-up counting a new answer) are
recorded by their triggers, as any change.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pghistory
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper
from django.db.models import NOT_PROVIDED, Model
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
from apps.surveys.services import counted_response_key, counted_responses_refresh

from .models import ImportRun
from .parsing import ABLATIONS, BLOCKS, PATIENTS, RESPONSES, Parsed, Problem, registry_parse

logger = logging.getLogger(__name__)

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


def _chunks[T](items: list[T], size: int) -> Iterator[list[T]]:
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
            res.blocks[cast(str, ext)] = (pk, mrn, code, side)  # found by external_id: not null
    ablation_ids = set(parsed.ablations) | {r.values["ablation_id"] for r in parsed.responses}
    for chunk in _chunks(sorted(ablation_ids), 20_000):
        for pk, ext, mrn in Cryoablation.objects.filter(external_id__in=chunk).values_list(
            "id", "external_id", "patient__mrn"
        ):
            res.ablations[cast(str, ext)] = (pk, mrn)
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


def registry_import(*, folder: Path, dry_run: bool = False, user: User | None = None, source: str = "") -> ImportResult:
    """Check every row of the four files, then write them all in one transaction, or nothing when any row has a
    problem (or on a dry run, whose writes are rolled back so that its counts are those a real run would give).
    `source` says where the files came from (the names of the files uploaded); by default, the folder."""
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
                _write(parsed, resolved, result, user)
            if dry_run:
                raise _DryRun
            _record_finished(cast(ImportRun, run), result)  # not a dry run: recorded
            result.run = run
    except _DryRun:
        result.run = _record(result, source, user, started, ImportRun.Status.DRY_RUN)
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


def _execute_named(cursor: CursorWrapper, statement: str, params: dict[str, Any]) -> None:
    """A statement with named placeholders, inside history_in_bulk: pgtrigger.ignore prepends a positional one to
    every statement, which psycopg refuses beside named ones. So the values are bound client-side (psycopg's own
    quoting), and the statement's % escaped for the positional values the wrappers then add."""
    # compose_sql is the PostgreSQL backend's (the only one here); django-stubs types `connection` as any backend.
    cursor.execute(connection.ops.compose_sql(statement, params).replace("%", "%%"), [])  # type: ignore[attr-defined]


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


def _ids_allocate(model: type[Model], count: int) -> list[int]:
    """`count` new ids from the table's own sequence, in one query, ascending."""
    if not count:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s) ORDER BY 1",
            [model._meta.db_table, model._meta.pk.column, count],
        )
        return [row[0] for row in cursor.fetchall()]


def _copy_create(
    model: type[Model], columns: Sequence[str], rows: Sequence[Sequence[Any]], ids: list[int] | None = None
) -> list[int]:
    """Insert `rows` (values of the fields whose attnames are `columns`, as the fields store them) with COPY, and
    return their new ids, in row order. Every other field gets what saving the model would give it: its default
    (called per row when callable: a uuid4 per row), one time for auto_now and auto_now_add, the database's own
    db_default, else Field.get_default ("" or null). Ids are `ids` when given (from _ids_allocate), else allocated.

    COPY goes around Django's execute wrappers, which set pgtrigger's ignore list (history_in_bulk) and
    pghistory's context for each statement: a statement run through them just before sets both for the COPY too
    (transaction-local settings). Every other trigger fires as for an INSERT (COPY fires row and statement
    triggers alike)."""
    if not rows:
        return []
    meta = model._meta
    given = list(columns)
    fields = {f.attname: f for f in meta.concrete_fields}
    now = timezone.now()
    constant: dict[str, Any] = {}
    per_row: dict[str, Any] = {}
    for name, f in fields.items():
        if f.primary_key or name in given or f.db_default is not NOT_PROVIDED:
            continue
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            constant[name] = now
        elif f.has_default() and callable(f.default):
            per_row[name] = f.default
        else:  # Django's own: the default, else "" for a text field that is not null, else null
            constant[name] = f.get_default()
    unknown = set(given) - set(fields)
    if unknown:
        raise ValueError(f"{meta.label}: no fields {sorted(unknown)}")
    if ids is None:
        ids = _ids_allocate(model, len(rows))
    with connection.cursor() as cursor:
        # Through the execute wrappers (see above); it also gives the columns' exact types, for a binary COPY.
        cursor.execute(
            "SELECT attname, atttypid FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0",
            [meta.db_table],
        )
        types = dict(cursor.fetchall())
        quote = connection.ops.quote_name
        columns = [cast(str, fields[name].column) for name in [meta.pk.attname, *given, *constant, *per_row]]
        statement = f"COPY {quote(meta.db_table)} ({', '.join(map(quote, columns))}) FROM STDIN (FORMAT BINARY)"
        fixed = tuple(constant.values())
        makers = tuple(per_row.values())
        with cursor.cursor.copy(statement) as copy:
            copy.set_types([types[column] for column in columns])
            if makers:
                for pk_value, row in zip(ids, rows, strict=True):
                    copy.write_row((pk_value, *row, *fixed, *(make() for make in makers)))
            else:
                for pk_value, row in zip(ids, rows, strict=True):
                    copy.write_row((pk_value, *row, *fixed))
    return ids


def _rows_write(parsed: Parsed, res: _Resolved, result: ImportResult, user: User | None) -> _Created:
    """The registry's rows, every one new (no history trigger writes for them: see _write)."""
    counts = result.counts
    protocol = protocol_get()
    today = timezone.localdate()

    # Patients: matched by MRN, left as they are; new ones created.
    default_timezone = Patient._meta.get_field("timezone").get_default()
    new_mrns, patient_rows = [], []
    for mrn, row in parsed.patients.items():
        if mrn in res.patient_ids:
            continue
        v = row.values
        new_mrns.append(mrn)
        patient_rows.append(
            (
                mrn,
                v["first_name"],
                v["last_name"],
                v["date_of_birth"],
                v["sex"] or Sex.UNKNOWN,
                v["email"] or "",
                v["mobile_phone"] or "",
                v["preferred_channel"] or Channel.NONE,
                v["timezone"] or default_timezone,
                patient_search_name(v["first_name"], v["last_name"]),
            )
        )
    patient_ids = _copy_create(
        Patient,
        ["mrn", "first_name", "last_name", "date_of_birth", "sex", "email", "mobile_phone", "preferred_channel",
         "timezone", "search_name"],
        patient_rows,
    )  # fmt: skip
    res.patient_ids.update(zip(new_mrns, patient_ids, strict=True))
    counts[PATIENTS] = {"created": len(patient_ids), "matched": len(parsed.patients) - len(patient_ids)}

    # Blocks and their diaries. The import has no suspected diagnosis: "other" says it was not recorded.
    new_block_ids, block_rows, diaries = [], [], []
    for block_id, row in parsed.blocks.items():
        if res.blocks[block_id][0] is not None:
            continue
        v = row.values
        new_block_ids.append(block_id)
        block_rows.append(
            (
                block_id,
                res.patient_ids[v["mrn"]],
                v["performed_at"],
                res.users[v["physician"]],
                res.nerves[v["nerve"]],
                v["side"],
                v["guidance"] or Guidance.ULTRASOUND,
                v["drug"] or "",
                v["concentration_percent"],
                v["volume_ml"],
                v["needle_gauge"],
                v["baseline_nrs"],
                Diagnosis.OTHER,
            )
        )
        diaries.append(v["diary"] or [])
    block_pks = _copy_create(
        DiagnosticBlock,
        ["external_id", "patient_id", "performed_at", "physician_id", "nerve_id", "side", "guidance", "drug",
         "concentration_percent", "volume_ml", "needle_gauge", "baseline_nrs", "suspected_diagnosis"],
        block_rows,
    )  # fmt: skip
    entry_rows = [
        (block_pk, minutes, nrs) for block_pk, diary in zip(block_pks, diaries, strict=True) for minutes, nrs in diary
    ]
    entry_ids = _copy_create(DiaryEntry, ["block_id", "minutes_after", "nrs"], entry_rows)
    for block_id, block_pk in zip(new_block_ids, block_pks, strict=True):
        _, mrn, code, side = res.blocks[block_id]
        res.blocks[block_id] = (block_pk, mrn, code, side)
    counts[BLOCKS] = {
        "created": len(block_pks),
        "matched": len(parsed.blocks) - len(block_pks),
        "diary_entries": len(entry_ids),
    }

    # Ablations: a named qualifying block is the staff's choice; the others get the rule's pick, in one UPDATE.
    cycles_default = Cryoablation._meta.get_field("cycles").get_default()
    freeze_default = Cryoablation._meta.get_field("freeze_seconds").get_default()
    new_ablation_ids, ablation_rows = [], []
    for ablation_id, row in parsed.ablations.items():
        if res.ablations[ablation_id][0] is not None:
            continue
        v = row.values
        named = v["qualifying_block_id"]
        new_ablation_ids.append(ablation_id)
        ablation_rows.append(
            (
                ablation_id,
                res.patient_ids[v["mrn"]],
                v["performed_on"],
                res.users[v["physician"]],
                res.nerves[v["nerve"]],
                v["side"],
                v["baseline_nrs"],
                v["device"] or "",
                v["probe"] or "",
                cycles_default if v["cycles"] is None else v["cycles"],
                freeze_default if v["freeze_seconds"] is None else v["freeze_seconds"],
                res.blocks[named][0] if named else None,
                QualifyingSource.STAFF if named else "",
            )
        )
    ablation_pks = _copy_create(
        Cryoablation,
        ["external_id", "patient_id", "performed_on", "physician_id", "nerve_id", "side", "baseline_nrs", "device",
         "probe", "cycles", "freeze_seconds", "qualifying_block_id", "qualifying_source"],
        ablation_rows,
    )  # fmt: skip
    picked = 0
    unnamed = [pk for pk, row in zip(ablation_pks, ablation_rows, strict=True) if row[11] is None]
    with connection.cursor() as cursor:
        for chunk in _chunks(unnamed, 20_000):
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
    for ablation_id, ablation_pk in zip(new_ablation_ids, ablation_pks, strict=True):
        res.ablations[ablation_id] = (ablation_pk, res.ablations[ablation_id][1])
    counts[ABLATIONS] = {
        "created": len(ablation_pks),
        "matched": len(parsed.ablations) - len(ablation_pks),
        "qualifying_named": len(ablation_pks) - len(unnamed),
        "qualifying_by_rule": picked,
    }

    # Follow-ups of the new ablations, dated like any other's. One whose window closed before today is recorded
    # as such: no reminder is due for it (reminders go out only while a window is open).
    time_points = list(protocol.time_points.all())
    follow_up_rows = [
        (ablation_pk, time_point.code, time_point.label, target, start, end)
        for ablation_pk, row in zip(ablation_pks, ablation_rows, strict=True)
        for time_point in time_points
        for target, start, end in [follow_up_dates(row[2], time_point)]
    ]
    follow_up_pks = _ids_allocate(FollowUp, len(follow_up_rows))

    # Answers: matched by ablation and completion time; new ones land on the follow-up whose window holds their
    # clinic-local date (surveys.services.follow_up_for's rule: the earliest such time point), else unscheduled.
    windows: dict[int | None, list[tuple[date, date, date, int]]] = defaultdict(list)
    for f, pk in zip(follow_up_rows, follow_up_pks, strict=True):
        windows[f[0]].append((f[3], f[4], f[5], pk))
    response_ablations = {res.ablations[r.values["ablation_id"]][0] for r in parsed.responses}
    old_ablations = [pk for pk in response_ablations if pk not in windows]
    for chunk in _chunks(old_ablations, 20_000):
        for row in FollowUp.objects.filter(ablation_id__in=chunk).values_list(
            "ablation_id", "target_date", "window_start", "window_end", "id"
        ):
            windows[row[0]].append(row[1:])
    for follow_ups in windows.values():
        follow_ups.sort()
    recorded_by = user.pk if user is not None else None
    local_date = timezone.localdate
    response_rows = []
    for row in parsed.responses:
        v = row.values
        ablation_pk = res.ablations[v["ablation_id"]][0]
        if (ablation_pk, v["completed_at"]) in res.existing_responses:
            continue
        local = local_date(v["completed_at"])
        follow_up_id = next((pk for _, start, end, pk in windows[ablation_pk] if start <= local <= end), None)
        response_rows.append(
            (
                ablation_pk,
                follow_up_id,
                v["completed_at"],
                v["pain_average"],
                v["pain_current"],
                v["pain_worst"],
                v["percent_relief"],
                v["pgic"],
                CollectedVia.IMPORT,
                recorded_by,
            )
        )
    response_pks = _ids_allocate(SurveyResponse, len(response_rows))

    # The answer each new follow-up counts (surveys.services.counted_response_key), picked here so that each
    # follow-up is written once with it rather than updated after: a new follow-up's answers are all new, all
    # recorded at the one time of this import.
    counted: dict[int, SimpleNamespace] = {}
    for pk, r in zip(response_pks, response_rows, strict=True):
        answer = SimpleNamespace(completed_at=r[2], recorded_at=None, pk=pk)
        if r[1] is not None and (
            r[1] not in counted or counted_response_key(answer) > counted_response_key(counted[r[1]])
        ):
            counted[r[1]] = answer
    # The answers before the follow-ups that count them (foreign keys are checked at commit): the follow-ups' insert
    # trigger then copies each counted answer's scores into reports_followupfact (apps/reports).
    _copy_create(
        SurveyResponse,
        ["ablation_id", "follow_up_id", "completed_at", "pain_average", "pain_current", "pain_worst",
         "percent_relief", "pgic", "collected_via", "recorded_by_id"],
        response_rows,
        ids=response_pks,
    )  # fmt: skip
    _copy_create(
        FollowUp,
        ["ablation_id", "time_point", "label", "target_date", "window_start", "window_end", "counted_response_id"],
        [(*f, counted[pk].pk if pk in counted else None) for f, pk in zip(follow_up_rows, follow_up_pks, strict=True)],
        ids=follow_up_pks,
    )
    counts["follow_ups"] = {
        "created": len(follow_up_pks),
        "window_closed_at_import": sum(1 for f in follow_up_rows if f[5] < today),
    }
    touched = {r[1] for r in response_rows if r[1]}
    new_follow_up_ids = set(follow_up_pks)
    counts[RESPONSES] = {
        "created": len(response_pks),
        "matched": len(parsed.responses) - len(response_pks),
        "unscheduled": sum(1 for r in response_rows if not r[1]),
    }
    return _Created(
        ids={
            Patient: patient_ids,
            DiagnosticBlock: block_pks,
            DiaryEntry: entry_ids,
            Cryoablation: ablation_pks,
            FollowUp: follow_up_pks,
            SurveyResponse: response_pks,
        },
        old_follow_ups_touched=sorted(touched - new_follow_up_ids),
    )
