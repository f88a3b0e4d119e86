"""A network of 20 sites and 1,000,000 patients (issue 18), seeded set-based in under 15 minutes.

    python benchmarks/seed_network.py
    PAINREG_BENCH_PATIENTS=20000 PAINREG_BENCH_BASE_PATIENTS=2000 \
        PAINREG_BENCH_NETWORK_DATABASE=painreg_bench_network_small python benchmarks/seed_network.py

Seeds painreg_bench_network (PAINREG_BENCH_NETWORK_DATABASE names another, never another benchmark's), dropped and
created again each run. seed_demo writes like an import, batch by batch, through the foreign-key checks and the
triggers: a million patients that way takes hours. So:

1. base: seed_demo writes PAINREG_BENCH_BASE_PATIENTS (12,500) patients into the one site, so the data is exactly as
   plausible as the demo's (its rules, its triggers, its change history). The base is the one part written a row at
   a time, on one core: 25,000 would take a minute more of the 15.
2. sites: "Clinic 01".."Clinic 20" (the first is the migration's, renamed), in its time zone; every other site gets
   a physician for each demo physician and a staff member for the demo staff (the demo's password), members of that
   site only (the demo's users are members of the first).
3. copies: the base copied up to PAINREG_BENCH_PATIENTS, copy k at site k mod 20 + 1, by one INSERT ... SELECT per
   clinical table: those seed_demo writes, and the survey links, problem reviews and medication reviews (which it
   does not write: copied if ever there). A copied row's id is its base id + k * (the base's largest id in its
   table), so every foreign key maps by an addition, with no lookup; the users map to the site's; a public id is
   new: the copy's number in its first 8 hex digits, then a hash of the base's (so a copy's rows go to one region of
   each public-id index rather than to random pages all over it: 40% less WAL, 10% less time than random ids); MRNs
   and e-mail addresses take the copy's patient number (D + 7 digits after the base's, as seed_demo numbers them, so
   a later seed_demo numbers on after them); the names, with their search form, are another base patient's of the
   same sex; every date and time moves back k mod 26 whole weeks in the clinic's time zone, so no clinic-local date,
   time of day or weekday changes. The rules that relate a patient's rows to each other (the qualifying block, the
   follow-up windows, the counted answer, the repeat that supersedes a follow-up) read nothing else, so what the rows
   store of them (qualifying_block, counted_response, superseded_by) holds for a copy as for the base:
   checks_of_a_copy checks the last copy against the rules.
   A copy is one transaction: its rows written with the triggers off (session_replication_role = replica: no
   foreign-key check, the rows being consistent by construction; no history or derived-table trigger), then its
   derived rows built with the copy's ids by the functions those triggers call, in the order they read each
   other: blocks_peak_relief_refresh, reports_follow_up_facts_refresh, reports_treatment_facts_refresh,
   reports_durability_steps_refresh (which ends with the durability states, read from both),
   reports_opioid_facts_refresh. No clinical rule is written a second time here.
   Once every copy is written (FINAL_BUILDS), reports_instrument_facts_refresh(NULL) builds every treatment's
   instrument facts at once (the function's own path for many: given more than 16 ids, it computes every treatment's
   facts and keeps theirs), and reports 0015's <table>_rebuild() counts the facts by month again. INSERT_TRIGGERS
   names every insert trigger that this replaces: a new one stops the script before it writes a row.
4. history, only with PAINREG_BENCH_HISTORY=1. Otherwise the copies have NO change history (the base keeps
   seed_demo's; `manage.py audit_verify` passes): their ~30 million insert events do not fit in the 15 minutes, each
   hashed for the chain at ~10 µs (the rule's to_jsonb and sha256), ~13 µs with its insert, about 5-6 minutes more on
   this machine (at 100,000 patients, 2.9 million events took 37 s with the instrument facts). When asked for: the
   "insert" event of every copied row, by one INSERT ... SELECT per table and copy, with the columns and context that
   apps.audit.services.history_record_created writes, hash-chained in SQL by the chain trigger's own function,
   audit_row_hash (apps/audit/db.py), called row after row in a loop of a temporary PL/pgSQL function: the
   audit_chain aggregate (bench_audit.py's way) calls it through a transition function that PostgreSQL cannot inline,
   which doubles the time, and the chain trigger (history_record_created's way) takes the one lock of every history
   table, so that two connections could not write at once. For that INSERT only, inside its transaction, which holds
   the table's lock, the per-row chain trigger is disabled (as bench_audit.py does), while the statement trigger that
   keeps the chain's head runs: audit_verify passes.
5. ANALYZE, and the figures: each phase's time, the total, the rows of each table, the database's size. No VACUUM:
   the tables hold no dead rows, but their hint bits and visibility maps are left to the first reads.

The copies, then FINAL_BUILDS and the history, are written by WORKERS (2) connections at once, a thread each (the
machine's 2 cores). Measured at 1,000,000 patients, while another benchmark seeded its own database: 889 s (README.md,
"Sites"). tests/benchmarks/test_seed_network.py checks on a tiny network that this path gives the derived rows and the
history that the triggers give for the same copies.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import BENCH_DATABASE, django_setup  # noqa: E402

DATABASE = os.environ.get("PAINREG_BENCH_NETWORK_DATABASE", f"{BENCH_DATABASE}_network")
PATIENTS = int(os.environ.get("PAINREG_BENCH_PATIENTS", "1000000"))
BASE_PATIENTS = int(os.environ.get("PAINREG_BENCH_BASE_PATIENTS", "12500"))
HISTORY = os.environ.get("PAINREG_BENCH_HISTORY", "0") == "1"
SITES = 20
WORKERS = 2
SHIFT_CYCLE_WEEKS = 26
TARGET_S = 15 * 60
KEPT = {BENCH_DATABASE, f"{BENCH_DATABASE}_sites", f"{BENCH_DATABASE}_cryo"}  # the other benchmarks' databases
SESSION = ["SET synchronous_commit = off", "SET jit = off", "SET work_mem = '256MB'"]

# The chain trigger's hash (audit_row_hash) of each row of `query`, in its order, starting from `head`.
CHAIN_HASHES = """
CREATE OR REPLACE FUNCTION pg_temp.painreg_chain_hashes(query text, head bytea) RETURNS SETOF bytea
LANGUAGE plpgsql AS $$
DECLARE
    r record;
    h bytea := head;
BEGIN
    FOR r IN EXECUTE query LOOP
        h := audit_row_hash(h, r);
        RETURN NEXT h;
    END LOOP;
END $$
"""


@dataclass(frozen=True)
class Copy:
    """Copy `number` (from 1; the base is 0): its site, how many weeks back its dates move, its users by demo user."""

    number: int
    site_id: int
    weeks: int
    users: dict[int, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Base:
    """The base's largest id of each copied table (a copy's ids come after it, see the module docstring) and its
    largest demo patient number."""

    strides: dict[str, int]
    numbers: int


def copied_models() -> list[Any]:
    """The clinical tables, in the order seed_demo writes them."""
    from apps.adverse_events.models import ProblemReview
    from apps.medications.models import MedicationReview
    from apps.registry import bulk
    from apps.surveys.models import SurveyLink

    return [*bulk.WRITTEN, SurveyLink, ProblemReview, MedicationReview]


def base_measure() -> Base:
    """What copy_write needs of the base, read before any copy is written."""
    from django.db import connection

    from apps.demo.generator import MRN_DIGITS, MRN_PREFIX

    strides = {}
    with connection.cursor() as cursor:
        for model in copied_models():
            table = connection.ops.quote_name(model._meta.db_table)
            cursor.execute(f"SELECT coalesce(max(id), 0) FROM {table}")  # noqa: S608 - a model's table
            strides[model._meta.db_table] = cursor.fetchone()[0]
        cursor.execute(
            "SELECT coalesce(max(substr(mrn, 2)::bigint), 0) FROM patients_patient WHERE mrn ~ %s",
            [f"^{MRN_PREFIX}[0-9]{{{MRN_DIGITS}}}$"],
        )
        numbers = cursor.fetchone()[0]
    return Base(strides, numbers)


# ---------------------------------------------------------------------------------------------------------------
# Sites and their users


def network_sites(count: int) -> list[int]:
    """Site ids: the migration's (renamed "Clinic 01"), then new ones up to `count`, in its time zone."""
    from apps.clinic.models import Site

    first = Site.objects.order_by("pk").first()
    assert first is not None, "migrate makes the first site"
    first.name = "Clinic 01"
    first.save(update_fields=["name"])
    for n in range(Site.objects.count() + 1, count + 1):
        Site.objects.create(name=f"Clinic {n:02d}", time_zone=first.time_zone)
    return list(Site.objects.order_by("pk").values_list("pk", flat=True)[:count])


def site_users(site_ids: list[int]) -> dict[int, dict[int, int]]:
    """{site: {demo user id: that site's user id}}: the first site keeps the demo's physicians and staff; every other
    gets its own, in the same roles, members of that site only. The demo's password, hashed once for all."""
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group

    from apps.accounts.models import Role, User
    from apps.clinic.models import Site
    from apps.clinic.services import user_sites_set
    from apps.demo.generator import DEMO_PASSWORD, DEMO_USERS

    roles = [(name, role) for name, _, _, role in DEMO_USERS if role in (Role.PHYSICIAN, Role.STAFF)]
    demo = dict(User.objects.filter(username__in=[name for name, _ in roles]).values_list("username", "pk"))
    password = make_password(DEMO_PASSWORD)
    mapping = {site_ids[0]: {demo[name]: demo[name] for name, _ in roles}}
    for n, site_id in enumerate(site_ids[1:], start=2):
        mapping[site_id] = {}
        for m, (name, role) in enumerate(roles, start=1):
            user, _ = User.objects.get_or_create(
                username=f"{role.value}_{n:02d}_{m}",
                defaults={"first_name": f"Clinic {n:02d}", "last_name": f"{role.label} {m}", "password": password},
            )
            user.groups.add(Group.objects.get(name=role.value))
            user_sites_set(user=user, sites=Site.objects.filter(pk=site_id))
            mapping[site_id][demo[name]] = user.pk
    return mapping


def copies_plan(*, copies: int, site_ids: list[int], users: dict[int, dict[int, int]], shift: bool) -> list[Copy]:
    """Copies 1..copies-1 (0 is the base, at the first site), copy k at site k mod the number of sites."""
    plan = []
    for k in range(1, copies):
        site_id = site_ids[k % len(site_ids)]
        plan.append(Copy(k, site_id, k % SHIFT_CYCLE_WEEKS if shift else 0, users[site_id]))
    return plan


# ---------------------------------------------------------------------------------------------------------------
# Copies


@contextmanager
def triggers_off() -> Iterator[None]:
    """Inside a transaction: no trigger fires, foreign-key checks included, until the block ends (or is rolled
    back). A superuser's setting: the benchmarks connect as the database's owner."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
    yield
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = origin")


def copy_statement(model: Any, copy: Copy, base: Base) -> str:
    """INSERT ... SELECT of the base rows of `model` as `copy` (see the module docstring)."""
    from django.contrib.auth import get_user_model
    from django.db import connection, models

    from apps.clinic.models import Site
    from apps.patients.models import Patient

    quote = connection.ops.quote_name
    k, table = copy.number, model._meta.db_table
    users = " ".join(f"WHEN {old} THEN {new}" for old, new in copy.users.items())
    days = 7 * copy.weeks
    columns, values = [], []
    for f in model._meta.concrete_fields:
        column = quote(f.column)
        value = f"b.{column}"
        target = f.related_model._meta.db_table if f.is_relation else None
        if f.primary_key:
            value = f"b.{column} + {k * base.strides[table]}"
        elif target in base.strides:
            value = f"b.{column} + {k * base.strides[target]}"
        elif f.is_relation and f.related_model is get_user_model():
            value = f"CASE b.{column} {users} ELSE b.{column} END" if users else value
        elif f.is_relation and f.related_model is Site:
            value = str(copy.site_id)
        elif f.is_relation:
            pass  # the catalog (nerves, instruments, their versions) is the network's
        elif isinstance(f, models.UUIDField):
            value = f"(lpad(to_hex({k}), 8, '0') || substr(md5(b.{column}::text || ':{k}'), 9))::uuid"
        elif isinstance(f, models.DateTimeField):
            value = f"b.{column} - interval '{days} days'" if days else value
        elif isinstance(f, models.DateField):
            value = f"b.{column} - {days}" if days else value
        elif f.unique or f.column in ("external_id", "token_hash"):
            value = _fresh_identifier(model, f.column, k, base)
        elif model is Patient and f.column in ("first_name", "last_name", "search_name"):
            value = f"d.{column}"
        elif model is Patient and f.column == "email":
            value = f"""CASE WHEN b.email ~ '^patient[0-9]+@' THEN 'patient' || {_number(k, base)}
                        || substr(b.email, strpos(b.email, '@')) ELSE b.email END"""
        columns.append(column)
        values.append(value)
    source = f"{quote(table)} b"
    if model is Patient:  # the donor of the names: number (n * 7919 + k) mod (base patients of that sex)
        source = f"""
            (SELECT *, row_number() OVER (PARTITION BY sex ORDER BY id) - 1 AS n,
                    count(*) OVER (PARTITION BY sex) AS of
             FROM {quote(table)} WHERE id <= {base.strides[table]}) b
            JOIN (SELECT sex, first_name, last_name, search_name,
                         row_number() OVER (PARTITION BY sex ORDER BY id) - 1 AS n
                  FROM {quote(table)} WHERE id <= {base.strides[table]}) d
              ON d.sex = b.sex AND d.n = (b.n * 7919 + {k}) % b.of
        """  # noqa: S608 - names from the models, numbers from this script
    return f"""
        INSERT INTO {quote(table)} ({", ".join(columns)})
        SELECT {", ".join(values)} FROM {source} WHERE b.id <= {base.strides[table]}
    """  # noqa: S608 - names from the models, numbers from this script


def _number(k: int, base: Base) -> str:
    """The copy's demo patient number, as SQL."""
    return f"(substr(b.mrn, 2)::bigint + {k * base.numbers})"


def _fresh_identifier(model: Any, column: str, k: int, base: Base) -> str:
    """A unique column other than the ids: the MRN takes the copy's patient number; an external id gets the copy's
    number after it; a survey link's token hash becomes one that no token gives (the copy's link opens nothing)."""
    from apps.demo.generator import MRN_DIGITS, MRN_PREFIX

    if column == "mrn":
        return f"'{MRN_PREFIX}' || lpad({_number(k, base)}::text, {MRN_DIGITS}, '0')"
    if column == "external_id":
        return (
            f"CASE WHEN b.external_id IS NULL OR b.external_id = '' THEN b.external_id ELSE b.external_id || '~{k}' END"
        )
    if column == "token_hash":
        return f"encode(sha256(convert_to(b.token_hash || ':{k}', 'UTF8')), 'hex')"
    raise ValueError(f"{model._meta.label}.{column} is unique: say how a copy gets a fresh value")


def copy_ids(table: str, copy: Copy, base: Base) -> str:
    """SQL: the array of the ids of `table`'s rows of `copy`."""
    stride = base.strides[table]
    low, high = copy.number * stride, (copy.number + 1) * stride
    return f"ARRAY(SELECT id FROM {table} WHERE id > {low} AND id <= {high} ORDER BY id)"  # noqa: S608


def copy_write(copy: Copy, base: Base, *, triggers: bool = False) -> None:
    """Write one copy and its derived rows in one transaction, with the triggers off (the fast path); with
    `triggers`, as any insert, every trigger on (the tests' reference: the triggers then derive the rows and write
    the history). The dates move in the clinic's time zone: interval days are added in the session's zone, keeping
    the time of day."""
    from django.db import connection, transaction

    from apps.clinic.models import Site

    zone = Site.objects.get(pk=copy.site_id).effective_time_zone
    ids = {table: copy_ids(table, copy, base) for table in base.strides}
    derived = [
        f"SELECT blocks_peak_relief_refresh({ids['blocks_diagnosticblock']})",
        f"SELECT reports_follow_up_facts_refresh({ids['cryoablations_followup']})",
        f"SELECT reports_treatment_facts_refresh({ids['patients_patient']})",
        f"SELECT reports_durability_steps_refresh({ids['cryoablations_cryoablation']})",
        f"SELECT reports_opioid_facts_refresh({ids['patients_patient']})",
    ]
    statements = [copy_statement(model, copy, base) for model in copied_models()]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('TimeZone'), set_config('TimeZone', %s, true)", [zone])
        session_zone = cursor.fetchone()[0]
        if triggers:
            for statement in statements:
                cursor.execute(statement)
        else:
            with triggers_off():
                for statement in statements:
                    cursor.execute(statement)
                for statement in derived:
                    cursor.execute(statement)
        cursor.execute("SELECT set_config('TimeZone', %s, true)", [session_zone])


def sequences_advance(copies: int, base: Base) -> None:
    """Each copied table's sequence past the last copy's ids, so that the application's next row gets a new one."""
    from django.db import connection

    with connection.cursor() as cursor:
        for table, stride in base.strides.items():
            quoted = connection.ops.quote_name(table)
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence(%s, 'id'), greatest(%s, (SELECT max(id) FROM {quoted}), 1))",  # noqa: S608
                [table, copies * stride],
            )


# Every INSERT trigger of the tables a copy writes, and of the tables derived from them, by its function: what the
# fast path does in its stead. A trigger not named here stops the script before it writes anything (unknown_triggers):
# the table it keeps would be left without the copies' rows.
INSERT_TRIGGERS = {
    "blocks_block_inserted_peak_relief": "blocks_peak_relief_refresh, per copy",
    "blocks_diary_peak_relief": "blocks_peak_relief_refresh, per copy",
    "blocks_ablation_ablated": "blocks_peak_relief_refresh, per copy (after the copy's ablations)",
    "reports_peak_relief_changed": "reports_follow_up_facts_refresh, per copy (after the peak relief)",
    "reports_follow_up_inserted": "reports_follow_up_facts_refresh, per copy",
    "reports_facts_changed": "reports_durability_steps_refresh, per copy",
    "reports_treatments_changed": "reports_treatment_facts_refresh, per copy",
    "reports_durability_states_changed": "reports_durability_steps_refresh (ends with the states), per copy, after it",
    "reports_facts_statements_changed": "reports_opioid_facts_refresh, per copy",
    "reports_facts_follow_ups_changed": "reports_opioid_facts_refresh per copy, reports_instrument_facts_refresh(NULL)",
    "reports_facts_answers_changed": "reports_instrument_facts_refresh(NULL), at the end",
    "reports_followupcell_changed": "reports_followupcell_rebuild(), at the end",
    "reports_paincell_changed": "reports_paincell_rebuild(), at the end",
    "reports_instrumentcell_changed": "reports_instrumentcell_rebuild(), at the end (after the instrument facts)",
    "reports_opioidcell_changed": "reports_opioidcell_rebuild(), at the end",
    "reports_blockcell_changed": "reports_blockcell_rebuild(), at the end",
}
# What is built once every copy is written, by the database's functions: each a job, its statements in order.
FINAL_BUILDS = [
    # Every treatment's instrument facts, the base's included: see the module docstring.
    ["SELECT reports_instrument_facts_refresh(NULL)", "SELECT reports_instrumentcell_rebuild()"],
    ["SELECT reports_followupcell_rebuild()"],
    ["SELECT reports_paincell_rebuild()"],
    ["SELECT reports_opioidcell_rebuild()"],
    ["SELECT reports_blockcell_rebuild()"],
]


def derived_models() -> list[Any]:
    """The tables the database derives from the clinical ones (README.md, "Triggers that watch other apps' tables")."""
    from apps.registry import bulk
    from apps.reports.models import BlockCell, FollowUpCell, InstrumentCell, OpioidCell, PainCell, TreatmentFact

    return [*bulk.DERIVED, TreatmentFact, FollowUpCell, PainCell, InstrumentCell, OpioidCell, BlockCell]


def unknown_triggers() -> list[str]:
    """The INSERT triggers (other than the history's, pgtrigger's) on the tables the copies write or derive whose
    function INSERT_TRIGGERS does not name."""
    from django.db import connection

    tables = [model._meta.db_table for model in copied_models() + derived_models()]
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT DISTINCT t.tgrelid::regclass::text || ': ' || t.tgname || ' (' || p.proname || ')'
            FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid
            WHERE t.tgrelid = ANY(%s::regclass[]) AND NOT t.tgisinternal AND t.tgtype & 4 = 4
              AND p.proname NOT LIKE 'pgtrigger%%' AND NOT p.proname = ANY(%s)
            """,
            [tables, list(INSERT_TRIGGERS)],
        )
        return [row[0] for row in cursor.fetchall()]


def final_build(statements: list[str]) -> None:
    """One of FINAL_BUILDS, in a transaction of its own, the triggers off (the copies' are replaced by it)."""
    from django.db import connection, transaction

    with transaction.atomic(), triggers_off(), connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


# ---------------------------------------------------------------------------------------------------------------
# Change history


def history_write(model: Any, copies: list[Copy], base: Base) -> int:
    """The "insert" event of every row of `model` in `copies`, a transaction per copy (see the module docstring).
    Returns the events written."""
    from django.db import connection, transaction

    from apps.audit.models import TRACKED_FIELDS

    quote = connection.ops.quote_name
    events = model.change_events.rel.related_model
    table, events_table = quote(model._meta.db_table), quote(events._meta.db_table)
    columns = ", ".join(quote(model._meta.get_field(name).column) for name in TRACKED_FIELDS[model].split())
    stride = base.strides[model._meta.db_table]
    written = 0
    for copy in copies if stride else []:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(CHAIN_HASHES)
            # Takes the table's lock until the commit: no other transaction appends to its chain meanwhile.
            cursor.execute(f"ALTER TABLE {events_table} DISABLE TRIGGER zz_audit_chain")
            # No head kept for this transaction by the trigger: its statement trigger reads the head back from the
            # table's end after the rows below (audit_chain_head_store).
            cursor.execute(
                "SELECT set_config('painreg.audit_chain_head_' || %s::regclass::oid, '', true)", [events_table]
            )
            cursor.execute(
                f"SELECT chain_seq, row_hash FROM {events_table} WHERE chain_seq IS NOT NULL "  # noqa: S608
                "ORDER BY chain_seq DESC LIMIT 1"
            )
            head_seq, head_hash = cursor.fetchone() or (0, None)
            cursor.execute(f"SELECT coalesce(max(pgh_id), 0) FROM {events_table}")  # noqa: S608
            last_id = cursor.fetchone()[0]
            # The event as the trigger writes it (history_record_created's expressions): the hash covers exactly
            # these columns, every other one of the table being null.
            query = f"""
                SELECT ({last_id} + row_number() OVER w)::integer AS pgh_id, {columns},
                       COALESCE(NULLIF(CURRENT_SETTING('pghistory.context_metadata', TRUE), ''), NULL)::JSONB
                           AS pgh_context,
                       COALESCE(NULLIF(CURRENT_SETTING('pghistory.context_id', TRUE), ''), NULL)::UUID
                           AS pgh_context_id,
                       NOW() AS pgh_created_at, 'insert'::text AS pgh_label, id AS pgh_obj_id,
                       {head_seq} + row_number() OVER w AS chain_seq
                FROM {table}
                WHERE id > {copy.number * stride} AND id <= {(copy.number + 1) * stride}
                WINDOW w AS (ORDER BY id)
                ORDER BY id
            """  # noqa: S608 - names from the models, numbers from the tables
            cursor.execute(
                f"""
                INSERT INTO {events_table} (pgh_id, {columns}, pgh_context, pgh_context_id, pgh_created_at,
                                            pgh_label, pgh_obj_id, chain_seq, row_hash)
                SELECT e.*, c.row_hash
                FROM ({query}) e
                JOIN pg_temp.painreg_chain_hashes(%s, %s) WITH ORDINALITY c (row_hash, n)
                  ON c.n = e.chain_seq - {head_seq}
                ORDER BY e.chain_seq
                """,  # noqa: S608
                [query, head_hash],
            )
            written += cursor.rowcount
            cursor.execute(f"ALTER TABLE {events_table} ENABLE TRIGGER zz_audit_chain")
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence(%s, 'pgh_id'), (SELECT max(pgh_id) FROM {events_table}))",  # noqa: S608
                [events._meta.db_table],
            )
    return written


# ---------------------------------------------------------------------------------------------------------------
# Running


def run_jobs(jobs: list[Callable[[], object]], workers: int) -> list[object]:
    """The jobs, `workers` at a time, each on a connection of its own (one thread each, a connection per thread in
    Django), with the session settings of a bulk load; one worker: in this thread, on its connection (the tests')."""
    from django.db import connection

    def run(job: Callable[[], object]) -> object:
        with connection.cursor() as cursor:
            for statement in SESSION:
                cursor.execute(statement)
        try:
            return job()
        finally:
            if workers > 1:
                connection.close()

    if workers == 1:
        return [job() for job in jobs]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(run, jobs))


def network_write(
    plan: list[Copy], base: Base, *, workers: int, history: bool, progress: Callable[[str], object] = print
) -> dict[str, float]:
    """The copies with their derived rows, then the derived tables built at the end (FINAL_BUILDS) and, with
    `history`, the copies' history; seconds by phase."""
    if unknown := unknown_triggers():
        raise RuntimeError(f"INSERT triggers this script does not know (see INSERT_TRIGGERS): {', '.join(unknown)}")
    started = time.perf_counter()
    done = []

    def write(copy: Copy) -> Callable[[], None]:
        def job() -> None:
            copy_write(copy, base)
            done.append(copy.number)
            if len(done) % 5 == 0 or len(done) == len(plan):
                progress(f"  {len(done)}/{len(plan)} copies ({time.perf_counter() - started:.0f} s)")

        return job

    run_jobs([write(copy) for copy in plan], workers)
    sequences_advance(len(plan) + 1, base)
    seconds = {"copies and their derived rows": time.perf_counter() - started}

    started = time.perf_counter()
    jobs: list[Callable[[], object]] = []
    if history:  # the largest tables first: two workers end together
        models = sorted(copied_models(), key=lambda model: -base.strides[model._meta.db_table])
        jobs += [lambda model=model: history_write(model, plan, base) for model in models]
    jobs[1:1] = [lambda statements=statements: final_build(statements) for statements in FINAL_BUILDS]
    written = run_jobs(jobs, workers)
    events = sum(n for n in written if isinstance(n, int))
    name = "instrument facts, counts by month" + (f", history ({events:,} events)" if history else "")
    seconds[name] = time.perf_counter() - started
    return seconds


# ---------------------------------------------------------------------------------------------------------------
# Checks and figures


def checks_of_a_copy(copy: Copy, base: Base) -> list[str]:
    """The rules' results for `copy` against what it stores: each follow-up's superseding treatment (the view of
    cryoablations migration 0005), its counted answer (bulk.counted_responses_pick; a superseded follow-up counts
    none), each ablation's qualifying block (blocks_qualifying_block, the rule QUALIFYING_BLOCKS_PICK applies), each
    patient's search form of the names it took, and every follow-up's fact. Returns the problems found."""
    from django.db import connection
    from django.utils import timezone

    from apps.clinic.selectors import protocol_get
    from apps.patients.models import Patient, patient_search_name
    from apps.registry import bulk
    from apps.surveys.models import SurveyResponse

    k = copy.number
    f_stride, a_stride = base.strides["cryoablations_followup"], base.strides["cryoablations_cryoablation"]
    follow_ups = f"f.id > {k * f_stride} AND f.id <= {(k + 1) * f_stride}"
    ablations = f"a.id > {k * a_stride} AND a.id <= {(k + 1) * a_stride}"
    protocol = protocol_get()
    problems = []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM cryoablations_followup f "  # noqa: S608
            "LEFT JOIN cryoablations_followup_supersession s ON s.follow_up_id = f.id "
            f"WHERE {follow_ups} AND f.superseded_by_id IS DISTINCT FROM s.superseded_by_id"
        )
        if wrong := cursor.fetchone()[0]:
            problems.append(f"{wrong} follow-ups superseded otherwise than by the rule")
        answers = SurveyResponse.objects.filter(follow_up_id__gt=k * f_stride, follow_up_id__lte=(k + 1) * f_stride)
        counted = bulk.counted_responses_pick(
            list(answers.values_list("id", "follow_up_id", "completed_at", "recorded_at", named=True))
        )
        cursor.execute(
            f"SELECT f.id, f.counted_response_id, f.superseded_by_id FROM cryoablations_followup f WHERE {follow_ups}"  # noqa: S608
        )
        rows = cursor.fetchall()
        if wrong := sum(1 for pk, answer, superseded in rows if answer != (None if superseded else counted.get(pk))):
            problems.append(f"{wrong} follow-ups counting another answer than the rule's")
        cursor.execute(
            f"""
            SELECT count(*) FROM cryoablations_cryoablation a
            WHERE {ablations} AND a.qualifying_source <> 'staff'
              AND a.qualifying_block_id IS DISTINCT FROM
                  blocks_qualifying_block(a.patient_id, a.nerve_id, a.side, a.performed_on, %s, %s, %s)
            """,  # noqa: S608
            [protocol.qualifying_block_days, protocol.block_threshold_percent, timezone.get_default_timezone_name()],
        )
        if wrong := cursor.fetchone()[0]:
            problems.append(f"{wrong} ablations with another qualifying block than the rule's")
        cursor.execute(
            f"SELECT count(*) FROM cryoablations_followup f WHERE {follow_ups} "  # noqa: S608
            "AND NOT EXISTS (SELECT 1 FROM reports_followupfact x WHERE x.follow_up_id = f.id)"
        )
        if wrong := cursor.fetchone()[0]:
            problems.append(f"{wrong} follow-ups without their fact")
    p_stride = base.strides["patients_patient"]
    patients = Patient.objects.filter(pk__gt=k * p_stride, pk__lte=(k + 1) * p_stride)
    names = patients.values_list("first_name", "last_name", "search_name")
    if wrong := sum(1 for first, last, search in names if search != patient_search_name(first, last)):
        problems.append(f"{wrong} patients whose search name is not that of their names")
    return problems


def tables_by_size() -> list[str]:
    """The database's tables, the largest first."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.oid::regclass::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind = 'r' AND n.nspname = current_schema() ORDER BY pg_relation_size(c.oid) DESC"
        )
        return [table for (table,) in cursor.fetchall()]


def analyze(table: str) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {table}")  # a name from the catalog, quoted by regclass


def tables_counted() -> list[tuple[str, int]]:
    """(table, rows) of the clinical tables, the derived ones and the clinical tables' history, those with rows."""
    from django.db import connection

    models = copied_models()
    tables = [m._meta.db_table for m in models + derived_models()]
    tables += [m.change_events.rel.related_model._meta.db_table for m in models]
    counted = []
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"SELECT count(*) FROM {connection.ops.quote_name(table)}")  # noqa: S608
            counted.append((table, cursor.fetchone()[0]))
    return [(table, rows) for table, rows in counted if rows]


def main() -> int:
    if DATABASE in KEPT or DATABASE.startswith("test"):
        sys.exit(f"{DATABASE} belongs to another benchmark or the tests: name another (PAINREG_BENCH_NETWORK_DATABASE)")
    if PATIENTS % BASE_PATIENTS:
        sys.exit(f"PAINREG_BENCH_PATIENTS ({PATIENTS:,}) must be a multiple of the base ({BASE_PATIENTS:,})")
    from bench_import import fresh_database

    started = time.perf_counter()
    phases: list[tuple[str, float]] = []

    def phase(name: str, since: float) -> float:
        now = time.perf_counter()
        phases.append((name, now - since))
        print(f"{name}: {now - since:.1f} s", flush=True)
        return now

    load = os.getloadavg()
    print(f"Load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} on {os.cpu_count()} CPUs (times are wall clock)")
    copies = PATIENTS // BASE_PATIENTS
    if PATIENTS >= 10**7:
        sys.exit("The demo's MRNs have 7 digits: at most 9,999,999 patients")
    print(f"{DATABASE}: {PATIENTS:,} patients at {SITES} sites, a base of {BASE_PATIENTS:,} and {copies - 1} copies")
    fresh_database(DATABASE)
    django_setup(DATABASE)
    from django.db import connection

    from apps.demo.generator import seed_demo

    now = phase("database (created, migrated)", started)
    result = seed_demo(patients=BASE_PATIENTS)
    print("  " + ", ".join(f"{count:,} {key}" for key, count in result.counts.items()))
    now = phase("base (seed_demo)", now)

    site_ids = network_sites(SITES)
    plan = copies_plan(copies=copies, site_ids=site_ids, users=site_users(site_ids), shift=True)
    base = base_measure()
    now = phase("sites and their users", now)

    for name, seconds in network_write(plan, base, workers=WORKERS, history=HISTORY).items():
        phases.append((name, seconds))
        print(f"{name}: {seconds:.1f} s", flush=True)
    now = time.perf_counter()

    run_jobs([lambda table=table: analyze(table) for table in tables_by_size()], WORKERS)
    now = phase("ANALYZE", now)
    problems = checks_of_a_copy(plan[-1], base) if plan else []
    now = phase("checks of the last copy", now)
    total = now - started

    print("\nRows:")
    for table, rows in tables_counted():
        print(f"  {table:36} {rows:>12,}")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
        print(f"Database size: {cursor.fetchone()[0]}")
    print("\nPhases (wall clock):")
    for name, seconds in phases:
        print(f"  {name:64} {seconds:7.1f} s")
    if not HISTORY:
        print("The copies have no change history (PAINREG_BENCH_HISTORY=0).")
    for problem in problems:
        print(f"PROBLEM: {problem}")
    ok = total < TARGET_S and not problems
    print(f"Total: {total:.0f} s (target < {TARGET_S} s) {'ok' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
