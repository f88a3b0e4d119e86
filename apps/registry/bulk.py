"""The one bulk writer of the registry's records (PostgreSQL COPY), used by the registry import and the demo data.

    class BlockRow(NamedTuple):       # fields named after the model's columns (attnames)
        external_id: str
        patient_id: int
        ...
    ids = rows_copy(DiagnosticBlock, rows)

A row is a NamedTuple whose fields are the model's column names, so no writer indexes a row by position. A table's
rows go in one COPY; every column a row does not name gets what saving the model would give it (rows_copy). What
the database derives from the rows (a block's peak relief, the follow-up facts, the durability steps) is written by
its triggers, as for any insert; the qualifying-block rule runs in SQL on the copied ablations
(qualifying_blocks_pick, apps/reports/sql.py). After a load, tables_analyze refreshes the planner's statistics of
the tables written, the derived ones included.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from types import SimpleNamespace
from typing import Any, NamedTuple, Protocol, cast

from django.db import connection
from django.db.backends.postgresql.operations import DatabaseOperations as PostgresOperations
from django.db.backends.utils import CursorWrapper
from django.db.models import NOT_PROVIDED, Model
from django.utils import timezone

from apps.adverse_events.models import AdverseEvent
from apps.blocks.models import BlockPeakRelief, DiagnosticBlock, DiaryEntry
from apps.clinic.models import Protocol as ClinicProtocol
from apps.cryoablations.models import Cryoablation, FollowUp
from apps.instruments.models import InstrumentAnswer
from apps.medications.models import MedicationStatement
from apps.patients.models import Patient
from apps.reports import sql
from apps.reports.models import DurabilityState, DurabilityStep, FollowUpFact, InstrumentFact, OpioidFact
from apps.surveys.models import SurveyResponse
from apps.surveys.services import counted_response_key

ID_CHUNK = 20_000  # ids, and ablations per qualifying-block statement, per round trip
# The tables a load of the registry's records writes (an import, the demo data), whose created rows it records in bulk
# (history_in_bulk) and analyzes after, and those the triggers derive from them.
WRITTEN = (
    Patient,
    DiagnosticBlock,
    DiaryEntry,
    Cryoablation,
    SurveyResponse,
    FollowUp,
    AdverseEvent,
    MedicationStatement,
    InstrumentAnswer,
)
DERIVED = (BlockPeakRelief, FollowUpFact, DurabilityStep, DurabilityState, InstrumentFact, OpioidFact)


class AnswerRow(Protocol):
    """What counted_responses_pick reads of an answer row (a NamedTuple of the import or the demo data)."""

    @property
    def id(self) -> int: ...
    @property
    def follow_up_id(self) -> int | None: ...
    @property
    def completed_at(self) -> datetime: ...


def chunks[T](items: Sequence[T], size: int = ID_CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def ids_allocate(model: type[Model], count: int) -> list[int]:
    """`count` new ids from the table's own sequence, in one query, ascending: rows can name each other before they
    are copied, and later inserts through the ORM never collide with them."""
    if not count:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s) ORDER BY 1",
            [model._meta.db_table, model._meta.pk.column, count],
        )
        return [row[0] for row in cursor.fetchall()]


class IdPool:
    """ids_allocate one at a time, for a writer that numbers rows as it makes them (the demo data)."""

    def __init__(self, model: type[Model]) -> None:
        self.model = model
        self.ids: list[int] = []
        self.chunk = 500  # grows to ID_CHUNK: a small load does not burn thousands of ids

    def take(self) -> int:
        if not self.ids:
            self.ids = ids_allocate(self.model, self.chunk)[::-1]
            self.chunk = min(ID_CHUNK, self.chunk * 4)
        return self.ids.pop()


def rows_copy(model: type[Model], rows: Sequence[NamedTuple], *, ids: list[int] | None = None) -> list[int]:
    """Insert `rows` (NamedTuples whose fields are column attnames, holding values as the fields store them) with one
    binary COPY, and return their ids in row order: the rows' own `id` when they name it, else `ids` when given (from
    ids_allocate), else new ones. Every other field gets what saving the model would give it: its default (called per
    row when callable: a uuid4 per row), one time for auto_now and auto_now_add, the database's own db_default, else
    Field.get_default ("" or null).

    COPY goes around Django's execute wrappers, which set pgtrigger's ignore list (apps.audit.services.history_in_bulk)
    and pghistory's context for each statement: a statement run through them just before sets both for the COPY too
    (transaction-local settings). Every other trigger fires as for an INSERT (COPY fires row and statement triggers
    alike)."""
    if not rows:
        return []
    meta = model._meta
    given = list(rows[0]._fields)
    fields = {f.attname: f for f in meta.concrete_fields}
    unknown = set(given) - set(fields)
    if unknown:
        raise ValueError(f"{meta.label}: no fields {sorted(unknown)}")
    pk_given = meta.pk.attname in given
    if pk_given:
        ids = [getattr(row, meta.pk.attname) for row in rows]
    elif ids is None:
        ids = ids_allocate(model, len(rows))
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
    with connection.cursor() as cursor:
        # Through the execute wrappers (see above); it also gives the columns' exact types, for a binary COPY.
        cursor.execute(
            "SELECT attname, atttypid FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0",
            [meta.db_table],
        )
        types = dict(cursor.fetchall())
        quote = connection.ops.quote_name
        names = [*given, *constant, *per_row] if pk_given else [meta.pk.attname, *given, *constant, *per_row]
        columns = [cast(str, fields[name].column) for name in names]  # concrete fields: each has its column
        statement = f"COPY {quote(meta.db_table)} ({', '.join(map(quote, columns))}) FROM STDIN (FORMAT BINARY)"
        fixed = tuple(constant.values())
        makers = tuple(per_row.values())
        with cursor.cursor.copy(statement) as copy:
            copy.set_types([types[column] for column in columns])
            if pk_given and not fixed and not makers:
                for row in rows:
                    copy.write_row(row)
            elif pk_given:
                for row in rows:
                    copy.write_row((*row, *fixed, *(make() for make in makers)))
            else:
                for pk_value, row in zip(ids, rows, strict=True):
                    copy.write_row((pk_value, *row, *fixed, *(make() for make in makers)))
    return ids


def execute_named(cursor: CursorWrapper, statement: str, params: dict[str, Any]) -> None:
    """A statement with named placeholders, inside history_in_bulk: pgtrigger.ignore prepends a positional one to
    every statement, which psycopg refuses beside named ones. So the values are bound client-side (psycopg's own
    quoting), and the statement's % escaped for the positional values the wrappers then add."""
    operations = cast(PostgresOperations, connection.ops)  # PostgreSQL only: COPY and psycopg's quoting
    cursor.execute(operations.compose_sql(statement, params).replace("%", "%%"), [])


def qualifying_blocks_pick(*, ablation_ids: Sequence[int], protocol: ClinicProtocol) -> dict[int, int]:
    """Give the copied ablations that name no qualifying block the rule's pick (apps/reports/sql.py,
    QUALIFYING_BLOCKS_PICK: the same rule as cryoablations' qualifying_block_pick, for many at once). Returns the
    picked block of each ablation that got one."""
    picked: dict[int, int] = {}
    with connection.cursor() as cursor:
        for chunk in chunks(list(ablation_ids)):
            params = {
                "tz": timezone.get_default_timezone_name(),
                "days": protocol.qualifying_block_days,
                "threshold": protocol.block_threshold_percent,
                "ids": list(chunk),
            }
            execute_named(cursor, sql.QUALIFYING_BLOCKS_PICK, params)
            picked.update(
                Cryoablation.objects.filter(pk__in=chunk, qualifying_block__isnull=False).values_list(
                    "id", "qualifying_block_id"
                )
            )
    return picked


def blocks_assessed(*, block_ids: Sequence[int], protocol: ClinicProtocol) -> dict[int, tuple[Any, bool]]:
    """(peak relief, positive) of each copied block, as the database derived them (the peak relief kept by the
    blocks' triggers, positive by blocks_positive): a writer that goes on from its blocks (the demo's ablations)
    reads the rule's result instead of computing it again."""
    # S608: only apps/reports/sql.py's constant fragments are formatted in; values travel as parameters.
    statement = f"""
        SELECT b.id, {sql.BLOCK_PEAK}, {sql.positive(sql.BLOCK_PEAK)} FROM blocks_diagnosticblock b {sql.PEAK_JOIN}
        WHERE b.id = ANY(%(ids)s)
    """  # noqa: S608
    assessed: dict[int, tuple[Any, bool]] = {}
    with connection.cursor() as cursor:
        for chunk in chunks(list(block_ids)):
            params = {
                "threshold": protocol.block_threshold_percent,
                "ids": list(chunk),
            }
            execute_named(cursor, statement, params)
            assessed.update((pk, (peak, positive)) for pk, peak, positive in cursor.fetchall())
    return assessed


def counted_responses_pick(rows: Iterable[AnswerRow]) -> dict[int, int]:
    """The answer each follow-up counts (surveys.services.counted_response_key), among new answer rows (fields id,
    follow_up_id, completed_at and, when given, recorded_at): picked before the follow-ups are copied, so that each
    is written once with it rather than updated after. Returns follow-up id -> answer id."""
    counted: dict[int, SimpleNamespace] = {}
    for row in rows:
        if row.follow_up_id is None:
            continue
        answer = SimpleNamespace(
            completed_at=row.completed_at, recorded_at=getattr(row, "recorded_at", None), pk=row.id
        )
        best = counted.get(row.follow_up_id)
        if best is None or counted_response_key(answer) > counted_response_key(best):
            counted[row.follow_up_id] = answer
    return {follow_up_id: answer.pk for follow_up_id, answer in counted.items()}


def tables_analyze(*, vacuum: bool = False, history: bool = False) -> None:
    """Fresh planner statistics after a bulk load, so that the next queries are not planned for the tables as they
    were (empty, or a tenth of their size): the tables written and those their triggers derive; with `history`, their
    change history's tables too. `vacuum` (outside a transaction only): VACUUM ANALYZE, which also clears the row
    versions that updates after the COPY left behind and marks the pages all-visible for index-only scans; without
    it ANALYZE alone, a sample of each table (an import, whose run the user waits for)."""
    vacuum = vacuum and not connection.in_atomic_block
    quote = connection.ops.quote_name
    statements = []
    for model in WRITTEN + DERIVED:
        statements.append(f"{'VACUUM ANALYZE' if vacuum else 'ANALYZE'} {quote(model._meta.db_table)}")
        events = getattr(model, "change_events", None)  # its change history (apps.audit), written in bulk too
        if history and events is not None:
            statements.append(f"ANALYZE {quote(events.rel.related_model._meta.db_table)}")
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
