"""Reading the audit trail for admins: filtered, sorted access events and change history."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import Func, Model, Q, QuerySet, TextField
from django.db.models.functions import Cast

from apps.audit import models
from apps.audit.models import AccessEvent
from apps.clinic.rules import clinic_day_start, clinic_days_q
from apps.patients.models import Patient

from .presentation import COMMAND_NAMES, record_type_name

SORTS = {
    "newest": ["-occurred_at", "-id"],
    "oldest": ["occurred_at", "id"],
    "user": ["actor_label", "-occurred_at"],
    "patient": ["patient_id", "-occurred_at"],
    "action": ["action", "-occurred_at"],
    "object": ["object_type", "object_id", "-occurred_at"],
}


@dataclass(frozen=True)
class AuditFilter:
    """The audit pages' filters (forms.py). `visible_patients`: the ids of the patients whose events the reader may
    read (apps.patients.selectors.patient_ids_visible_to), a subquery; None, every patient's (one site)."""

    user: str = ""
    patient: Patient | None = None
    action: str = ""
    object_type: str = ""
    object_id: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    sort: str = "newest"
    visible_patients: QuerySet[Patient, Any] | None = None


def access_events(*, filters: AuditFilter) -> QuerySet[AccessEvent]:
    """The access events matching the filters: in a network, those about a patient the reader may see and those
    about no patient (sign-ins, reports, configuration)."""
    qs = AccessEvent.objects.all()
    if filters.visible_patients is not None:
        qs = qs.filter(Q(patient__isnull=True) | Q(patient__in=filters.visible_patients))
    if filters.user:
        qs = qs.filter(actor_label=filters.user)
    if filters.patient is not None:
        qs = qs.filter(patient_id=filters.patient.pk)
    if filters.action:
        qs = qs.filter(action=filters.action)
    if filters.object_type:
        qs = qs.filter(object_type=filters.object_type)
    if filters.object_id:
        qs = qs.filter(object_id=filters.object_id)
    qs = qs.filter(clinic_days_q("occurred_at", filters.date_from, filters.date_to))
    return qs.order_by(*SORTS.get(filters.sort, SORTS["newest"]))


ACCESS_COLUMNS = [
    "occurred_at",
    "actor_label",
    "client_address",
    "user_agent",
    "action",
    "category",
    "object_type",
    "object_id",
    "patient_id",
    "path",
    "detail",
]


EXPORT_CHUNK_ROWS = 10_000


# The exports' times: in the clinic's time zone, as the pages show them, with the offset from UTC, so a reader
# (or a program) gets the instant: "2026-12-05 10:04:00-05:00". The session's TimeZone is the clinic's for the
# export's transaction (_clinic_time_zone).
CLINIC_TIME_SQL = "to_char({}, 'YYYY-MM-DD HH24:MI:SSTZH:TZM')"


class _ClinicTimeText(Func):
    template = CLINIC_TIME_SQL.format("%(expressions)s")
    output_field = TextField()


@contextmanager
def _clinic_time_zone() -> Iterator[None]:
    """Inside, PostgreSQL spells times in the clinic's time zone. The setting is put back after, for the rest of
    an enclosing transaction reads times as Django expects them (in UTC); after an error the rollback does it."""
    from django.utils import timezone

    def set_time_zone(name: str) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('TimeZone', %s, true)", [name])

    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('TimeZone')")
        previous = cursor.fetchone()[0]
    set_time_zone(timezone.get_current_timezone_name())
    try:
        yield
    except GeneratorExit:  # the download closed early: the transaction itself is fine
        set_time_zone(previous)
        raise
    set_time_zone(previous)


def access_rows(*, filters: AuditFilter, chunk_size: int = EXPORT_CHUNK_ROWS) -> Iterator[tuple[Any, ...]]:
    """Rows for the CSV export, read with a server-side cursor in chunks: memory stays flat.

    Inside a transaction: in autocommit mode Django declares the cursor WITH HOLD, and PostgreSQL then runs the
    whole query and stores its result before the first row is sent. The time and `detail` come as text made by
    PostgreSQL, not as a datetime and a dict that Python builds only to write them out again (a third of the
    export's CPU time, benchmarks/bench_audit.py)."""
    from django.db import transaction

    renamed = {"occurred_at": "occurred_at_text", "detail": "detail_json"}
    columns = [renamed.get(c, c) for c in ACCESS_COLUMNS]
    queryset = (
        access_events(filters=filters)
        .annotate(occurred_at_text=_ClinicTimeText("occurred_at"), detail_json=Cast("detail", TextField()))
        .values_list(*columns)
    )
    with transaction.atomic(), _clinic_time_zone():
        yield from queryset.iterator(chunk_size=chunk_size)


def patient_mrns(*, ids: set[int]) -> dict[int, str]:
    """{patient id: MRN} of the patients an audit page names: people read an MRN, not an id."""
    return dict(Patient.objects.filter(pk__in=ids).values_list("pk", "mrn")) if ids else {}


def patient_viewers(*, patient: Patient, limit: int = 20) -> list[AccessEvent]:
    """Who looked at this patient, newest first."""
    return list(AccessEvent.objects.filter(patient_id=patient.pk).order_by("-occurred_at")[:limit])


# Change history -------------------------------------------------------------------------------------------------


def _change_models() -> list[type[Any]]:
    """Every change-history table: a model tracked later is in the history without a second list to keep.
    pghistory makes them at run time: their pgh_tracked_model is not in its types, hence type[Any]."""
    from django.apps import apps

    return [m for m in apps.get_app_config("audit").get_models() if issubclass(m, models.ChangeEvent)]


CHANGE_COLUMNS = ["changed_at", "object_type", "object_id", "action", "username", "context", "before", "after"]

# The change history's actions (pghistory's event labels, apps/audit/models.py), in words.
CHANGE_ACTIONS = {
    "insert": "Added",
    "update": "Changed",
    "delete": "Deleted",
    "role.grant": "Role granted",
    "role.withdraw": "Role withdrawn",
}


def change_event_models() -> dict[type[Model], type[Model]]:
    """{tracked model: its change-history model}."""
    return {model.pgh_tracked_model: model for model in _change_models()}


def change_tracked_models() -> dict[str, type]:
    """{object type, as the change history names it: the tracked model}."""
    return {model.pgh_tracked_model._meta.model_name: model.pgh_tracked_model for model in _change_models()}


def change_object_types() -> list[tuple[str, str]]:
    """(object type, its name in words) of every record the change history holds."""
    types = [(name, record_type_name(model)) for name, model in change_tracked_models().items()]
    return sorted(types, key=lambda pair: pair[1])


def change_actor(username: str | None, context: dict[str, Any] | None) -> str:
    """Who or what made a change, in words, from the event's context (apps/audit/context.py)."""
    from django.urls import Resolver404, resolve

    if username:
        return username
    context = context or {}
    if context.get("import_run"):
        return "Registry import"
    if command := context.get("command"):
        return COMMAND_NAMES.get(command, f"Command {command}")
    if context.get("task"):
        return "Background task"
    if url := context.get("url"):
        try:
            match = resolve(url)
        except Resolver404:
            return "Unsigned request"
        if match.namespace == "surveys":
            return "Patient (survey link)"
        if match.url_name == "login":
            return "Sign-in"
        return "Unsigned request"
    return "Outside the application (database)"


_PGH = ("pgh_id", "pgh_created_at", "pgh_label", "pgh_obj", "pgh_context", "pgh_context_id", "chain_seq", "row_hash")


def _patient_condition(
    model: type[Any],
    event_models: dict[type[Model], type[Any]],
    match: tuple[str, list[Any]],
    *,
    prefix: str = "t.",
    hops: int = 2,
) -> tuple[str, list[Any]] | None:
    """SQL and its parameters naming the events of `model` whose patient's id `match` takes (SQL following a
    column, such as "= %s" or "IN (subquery)", and its parameters), or None when the model's rows belong to no
    patient. A record without a patient column of its own (survey answers and follow-ups of an ablation, diary
    entries of a block, an adverse event of a treatment or of a block, the review of an answer) belongs to the
    patient of the records it points to, up to `hops` records away, as those records' own histories say: the answer
    stays found after the ablation is changed or deleted."""
    tracked = model.pgh_tracked_model
    comparison, comparison_params = match
    if tracked is Patient:
        return f"{prefix}pgh_obj_id {comparison}", list(comparison_params)
    names = {f.name for f in model._meta.fields}
    if "patient" in names:
        return f"{prefix}patient_id {comparison}", list(comparison_params)
    if hops == 0:
        return None
    parents = [
        (field, parent)
        for field in model._meta.fields
        if field.is_relation
        and field.name != "pgh_obj"
        and (parent := event_models.get(field.related_model)) is not None
        and parent is not model
    ]
    # The records one step away first: a survey answer is its ablation's patient's, not also (through an OR that no
    # index serves) its follow-up's. Further only when no record one step away names the patient.
    for depth in (0, hops - 1):
        conditions, params = [], []
        for field, parent in parents:
            about = _patient_condition(parent, event_models, match, prefix="", hops=depth)
            if about is not None:
                table = connection.ops.quote_name(parent._meta.db_table)
                column = connection.ops.quote_name(field.column)
                conditions.append(f"{prefix}{column} IN (SELECT pgh_obj_id FROM {table} WHERE {about[0]})")  # noqa: S608
                params += about[1]
        if conditions:
            return (conditions[0] if len(conditions) == 1 else "(" + " OR ".join(conditions) + ")"), params
    return None


def change_rows(
    *,
    user: str = "",
    patient: Patient | None = None,
    action: str = "",
    object_type: str = "",
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    visible_patients: QuerySet[Patient, Any] | None = None,
    times_as_text: bool = False,
) -> Iterator[tuple[Any, ...]]:
    """Every change event matching the filters, newest first, with the row before (the previous snapshot of the
    same object) and after it, as JSON. With times_as_text, the time as the exports write it (CLINIC_TIME_SQL).

    With `visible_patients` (AuditFilter), the events of a record that belongs to a patient only when its patient is
    one of them (found as the patient filter finds theirs); those of the records that belong to no patient (users,
    roles, configuration, instruments, imports, API tokens) all."""
    parts, params = [], []
    change_models = _change_models()
    event_models = {model.pgh_tracked_model: model for model in change_models}
    visible_match: tuple[str, list[Any]] | None = None
    if visible_patients is not None:
        visible_sql, visible_params = visible_patients.query.sql_with_params()
        visible_match = (f"IN ({visible_sql})", list(visible_params))
    for model in change_models:
        name = model.pgh_tracked_model._meta.model_name
        if object_type and object_type != name:
            continue
        patient_condition = (
            _patient_condition(model, event_models, ("= %s", [patient.pk])) if patient is not None else None
        )
        if patient is not None and patient_condition is None:
            continue
        visible_condition = (
            _patient_condition(model, event_models, visible_match) if visible_match is not None else None
        )
        table = connection.ops.quote_name(model._meta.db_table)
        has_obj = any(f.name == "pgh_obj" for f in model._meta.fields)
        obj = "t.pgh_obj_id::text" if has_obj else "t.pgh_id::text"
        data = "to_jsonb(t) - ARRAY[" + ",".join(f"'{c}'" for c in _PGH) + ",'pgh_obj_id']"
        where, local = [], [name]
        if user:
            where.append("t.pgh_context->>'username' = %s")
            local.append(user)
        if action:
            where.append("t.pgh_label = %s")
            local.append(action)
        if patient_condition is not None:
            where.append(patient_condition[0])
            local += patient_condition[1]
        if visible_condition is not None:
            where.append(visible_condition[0])
            local += visible_condition[1]
        if date_from:
            where.append("t.pgh_created_at >= %s")
            local.append(clinic_day_start(date_from))
        if date_to:
            where.append("t.pgh_created_at < %s")
            local.append(clinic_day_start(date_to + dt.timedelta(days=1)))
        # Table and column names come from the models; values are parameters.
        parts.append(
            f"SELECT t.pgh_created_at AS changed_at, %s::text, {obj}, t.pgh_label, t.pgh_context->>'username', "  # noqa: S608
            f"t.pgh_context - 'username', lag({data}) OVER (PARTITION BY {obj} ORDER BY t.pgh_id), {data} "
            f"FROM {table} t" + (" WHERE " + " AND ".join(where) if where else "")
        )
        params += local
    if not parts:
        return iter(())
    sql = " UNION ALL ".join(parts) + " ORDER BY 1 DESC"
    if times_as_text:
        sql = f"SELECT {CLINIC_TIME_SQL.format('c.changed_at')}, c.* FROM ({sql}) c ORDER BY c.changed_at DESC"  # noqa: S608
    return _stream(sql, params, clinic_time=times_as_text)


def _stream(sql: str, params: list[Any], *, clinic_time: bool = False) -> Iterator[tuple[Any, ...]]:
    # A named (server-side) cursor inside a transaction: rows arrive in batches, never all at once.
    from django.db import transaction

    with (
        transaction.atomic(),
        _clinic_time_zone() if clinic_time else nullcontext(),
        connection.chunked_cursor() as cursor,
    ):
        cursor.execute(sql, params)
        while batch := cursor.fetchmany(2000):
            yield from (row[:1] + row[2:] for row in batch) if clinic_time else batch
