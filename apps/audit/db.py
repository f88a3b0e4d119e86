"""Database-side guarantees of the audit tables: append-only, hash-chained.

Triggers, not permissions, because the application may connect as the database owner (it does in the tests and
in many small installations): the BEFORE UPDATE/DELETE and BEFORE TRUNCATE triggers refuse whoever asks. Someone
who can switch triggers off (a superuser: ALTER TABLE ... DISABLE TRIGGER, session_replication_role = replica) can
still alter rows, and the hash chain is what makes that visible: each row stores sha256(previous row's hash || the
row's canonical text), and `manage.py audit_verify` recomputes the chain. Rows removed from the end of a chain (or
all of them) leave no break inside the table, so each table's head (last position and hash) is also kept outside
it, in audit_chainhead, whose rows only move forward; audit_verify compares the table's end with it.

The canonical text of a row (audit_row_body below) is the row as jsonb without its own hash and without the keys
whose value is null, at every level (jsonb_strip_nulls: one call in C). Leaving out nulls is what lets the schema
grow: a column added to an audit table later reads as null in the rows written before it existed, so those rows hash
as they did when they were written. Inside JSON columns (pgh_context, detail) a key holding null and an absent key
hash alike: neither records a value, and the trail gives the two no different meaning. (Nulls that are elements of
a JSON array are kept: they hold a position.)

The text is the same in every session: jsonb spells timestamps in the session's TimeZone, bytea as bytea_output,
floats after extra_float_digits and intervals as IntervalStyle, so the rule is that text under UTC, hex, 1 and
postgres. A session already set so (the application's: Django connects in UTC) hashes with the plain expression,
which PostgreSQL inlines; any other goes through audit_row_body_canonical, which sets them for its call. Settings
attached to a function cost a save and restore on every call, which the per-row trigger would pay on every row.

The rule that goes with it, checked by `audit_schema_check` (a system check, so `migrate` stops on a breach):
  - a column added to an audit table later is nullable and has no default, neither Django's nor the database's,
    so the rows already there read null ("not recorded") and not a value they never held;
  - a column of an audit table is never removed or renamed (the rows hashed with it would no longer verify).
The change-history tables meet the first point by construction: their snapshot columns are all nullable and
without defaults (apps/audit/models.py), whatever the tracked model's field says.

The trigger, audit_verify (verify_chains) and the bulk seeding of benchmarks/bench_audit.py all hash through the
SQL functions below, never a copy of the rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from django.apps import apps
from django.core import checks
from django.db import connections

# Every chain of one group takes the same lock, so two transactions never wait on each other's chains in
# opposite orders. Access events are written after the changes of the same transaction, never before.
ACCESS_CHAIN = "access"
CHANGE_CHAIN = "change"

FUNCTIONS_SQL = """
CREATE OR REPLACE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit table % is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;

-- The chain heads (audit_chainhead) only move forward: a head deleted or moved back would hide rows lost at the
-- end of its chain.
CREATE OR REPLACE FUNCTION audit_chain_head_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.table_name = OLD.table_name AND NEW.last_seq >= OLD.last_seq THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit chain heads only move forward: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END $$;

-- The bytes that are hashed (the module's docstring says why nulls are left out), as the current session spells
-- them. Callers hash through audit_row_hash, which makes them the same in every session.
CREATE OR REPLACE FUNCTION audit_row_body(r anyelement) RETURNS bytea LANGUAGE sql STABLE AS $$
    SELECT convert_to(jsonb_strip_nulls(to_jsonb(r) - 'row_hash')::text, 'UTF8')
$$;

CREATE OR REPLACE FUNCTION audit_row_body_canonical(r anyelement) RETURNS bytea LANGUAGE sql STABLE
    SET TimeZone = 'UTC' SET bytea_output = 'hex' SET extra_float_digits = '1' SET IntervalStyle = 'postgres' AS $$
    SELECT audit_row_body(r)
$$;

-- SQL without settings of its own, so that it is inlined into the trigger's and audit_verify's expressions.
CREATE OR REPLACE FUNCTION audit_row_hash(previous bytea, r anyelement) RETURNS bytea LANGUAGE sql STABLE AS $$
    SELECT sha256(coalesce(previous, '\\x'::bytea) || CASE
        WHEN current_setting('TimeZone') = 'UTC' AND current_setting('bytea_output') = 'hex'
             AND current_setting('extra_float_digits') = '1' AND current_setting('IntervalStyle') = 'postgres'
        THEN audit_row_body(r)
        ELSE audit_row_body_canonical(r)
    END)
$$;

-- The chain over many rows at once, for set-based writes that compute the hashes themselves (the benchmark's
-- seeding): audit_chain(row, hash of the row before the first) OVER (ORDER BY chain_seq).
CREATE OR REPLACE FUNCTION audit_chain_step(state bytea, r anyelement, seed bytea) RETURNS bytea LANGUAGE sql
    STABLE AS $$ SELECT audit_row_hash(coalesce(state, seed), r) $$;
CREATE OR REPLACE AGGREGATE audit_chain(anyelement, bytea) (SFUNC = audit_chain_step, STYPE = bytea);

-- The head of a table's chain (position and hash of its last row) is looked up once per transaction, then kept
-- in a transaction-local setting: the advisory lock taken with the lookup is held until commit, so no other
-- transaction can append meanwhile, and a rolled-back savepoint rolls the setting back with its rows. The value
-- starts with the transaction's id, so a setting left by anything else is never taken for the head.
CREATE OR REPLACE FUNCTION audit_chain_append() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    head_key text := 'painreg.audit_chain_head_' || TG_RELID;
    head text := current_setting(head_key, true);
    xact text := pg_current_xact_id()::text;
    previous_seq bigint;
    previous_hash bytea;
BEGIN
    IF split_part(head, ':', 1) = xact THEN
        previous_seq := split_part(head, ':', 2)::bigint;
        previous_hash := decode(split_part(head, ':', 3), 'hex');
    ELSE
        PERFORM pg_advisory_xact_lock(hashtext('painreg.audit.' || TG_ARGV[0]));
        -- "IS NOT NULL ... DESC" rather than "DESC NULLS LAST": the same row, read from the end of the unique index
        -- on chain_seq (a backward scan gives NULLS FIRST); the other spelling sorts the whole table.
        EXECUTE format(
            'SELECT chain_seq, row_hash FROM %I WHERE chain_seq IS NOT NULL ORDER BY chain_seq DESC LIMIT 1',
            TG_TABLE_NAME
        ) INTO previous_seq, previous_hash;
    END IF;
    NEW.chain_seq := coalesce(previous_seq, 0) + 1;
    NEW.row_hash := audit_row_hash(previous_hash, NEW);
    PERFORM set_config(head_key, xact || ':' || NEW.chain_seq || ':' || encode(NEW.row_hash, 'hex'), true);
    RETURN NEW;
END $$;

-- After each INSERT statement, the table's head (last position and hash) is kept in audit_chainhead, outside the
-- table it guards: rows lost at the end of a chain, or all of them, leave no break inside the table, only a table
-- that falls short of its head. Once per statement, from the transaction's setting above; rows written with the
-- chain trigger off (the benchmark's seeding hashes in bulk itself) are read back from the table's end.
CREATE OR REPLACE FUNCTION audit_chain_head_store() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    head text := current_setting('painreg.audit_chain_head_' || TG_RELID, true);
    last_seq bigint;
    last_hash bytea;
BEGIN
    IF split_part(head, ':', 1) = pg_current_xact_id()::text THEN
        last_seq := split_part(head, ':', 2)::bigint;
        last_hash := decode(split_part(head, ':', 3), 'hex');
    ELSE
        EXECUTE format(
            'SELECT chain_seq, row_hash FROM %I WHERE chain_seq IS NOT NULL ORDER BY chain_seq DESC LIMIT 1',
            TG_TABLE_NAME
        ) INTO last_seq, last_hash;
        IF last_seq IS NULL THEN
            RETURN NULL;
        END IF;
    END IF;
    INSERT INTO audit_chainhead (table_name, last_seq, last_hash) VALUES (TG_TABLE_NAME, last_seq, last_hash)
        ON CONFLICT (table_name) DO UPDATE SET last_seq = EXCLUDED.last_seq, last_hash = EXCLUDED.last_hash;
    RETURN NULL;
END $$;
"""

TABLE_TRIGGERS_SQL = """
CREATE OR REPLACE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE OR REPLACE TRIGGER audit_no_truncate BEFORE TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE OR REPLACE TRIGGER zz_audit_chain BEFORE INSERT ON {table}
    FOR EACH ROW EXECUTE FUNCTION audit_chain_append('{chain}');
CREATE OR REPLACE TRIGGER zz_audit_chain_head AFTER INSERT ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION audit_chain_head_store();
"""
TRIGGER_NAMES = ("audit_append_only", "audit_no_truncate", "zz_audit_chain", "zz_audit_chain_head")

HEAD_TABLE = "audit_chainhead"
HEAD_TRIGGERS_SQL = f"""
CREATE OR REPLACE TRIGGER audit_chain_head_guard BEFORE UPDATE OR DELETE ON {HEAD_TABLE}
    FOR EACH ROW EXECUTE FUNCTION audit_chain_head_guard();
CREATE OR REPLACE TRIGGER audit_no_truncate BEFORE TRUNCATE ON {HEAD_TABLE}
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
"""
HEAD_TRIGGER_NAMES = ("audit_chain_head_guard", "audit_no_truncate")


def audit_tables() -> dict[str, str]:
    """{table name: chain group} of every hash-chained table of the audit app."""
    from .models import AccessEvent, ChainedRow

    tables = {}
    for model in apps.get_app_config("audit").get_models():
        if issubclass(model, ChainedRow):
            tables[model._meta.db_table] = ACCESS_CHAIN if model is AccessEvent else CHANGE_CHAIN
    return tables


# Audit migrations written before the rule of the module docstring: 0003 re-hashed their rows under it.
MIGRATIONS_BEFORE_THE_RULE = frozenset({"0001_initial", "0002_track_new_fields_survey_links_imports"})


def audit_schema_problems(migrations) -> list[str]:
    """What breaks the rule for columns of audit tables, in `migrations` (Django Migration objects of the audit
    app): a column added with a default or NOT NULL, a column removed or renamed."""
    from django.db import migrations as ops
    from django.db.models import NOT_PROVIDED

    chained = {model._meta.model_name for model in _chained_models()}
    problems = []
    for migration in migrations:
        if migration.app_label != "audit" or migration.name in MIGRATIONS_BEFORE_THE_RULE:
            continue
        for operation in migration.operations:
            model = getattr(operation, "model_name", "").lower()
            if model not in chained:
                continue
            where = f"audit migration {migration.name}: {operation.describe()}"
            if isinstance(operation, ops.AddField):
                field = operation.field
                if not field.null or field.default is not NOT_PROVIDED or field.db_default is not NOT_PROVIDED:
                    problems.append(f"{where}: a column added to an audit table must be nullable, with no default")
            elif isinstance(operation, ops.RemoveField | ops.RenameField):
                problems.append(f"{where}: a column of an audit table is never removed or renamed")
    return problems


def audit_schema_check(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """The rule as a system check: `migrate` runs the checks first, so a migration breaking it is never applied."""
    from django.db.migrations.loader import MigrationLoader

    loader = MigrationLoader(None, ignore_no_migrations=True)
    migrations = [m for (app, _), m in sorted(loader.disk_migrations.items()) if app == "audit"]
    return [
        checks.Error(problem, hint="See apps/audit/db.py: older rows would no longer verify.", id="audit.E001")
        for problem in audit_schema_problems(migrations)
    ]


def _chained_models() -> list:
    from .models import ChainedRow

    return [model for model in apps.get_app_config("audit").get_models() if issubclass(model, ChainedRow)]


def install_audit_triggers(using: str = "default", **kwargs) -> None:
    connection = connections[using]
    existing = set(connection.introspection.table_names())
    with connection.cursor() as cursor:
        cursor.execute(FUNCTIONS_SQL)
        for table, chain in audit_tables().items():
            if table in existing:
                cursor.execute(TABLE_TRIGGERS_SQL.format(table=connection.ops.quote_name(table), chain=chain))
        if HEAD_TABLE in existing:
            cursor.execute(HEAD_TRIGGERS_SQL)


@dataclass(frozen=True)
class Break:
    table: str
    chain_seq: int | None
    row_id: object
    reason: str

    def __str__(self) -> str:
        return f"{self.table}: row {self.row_id} (chain position {self.chain_seq}): {self.reason}"


def _first_break(cursor, table: str, quoted: str, pk: str) -> Break | None:
    # Recomputed in the database, in chain order: each row's hash from the stored hash of the row before it.
    # A changed row fails its own hash; a deleted or inserted row breaks the numbering.
    # Table and column names come from the models, quoted.
    cursor.execute(
        f"""
        SELECT pk, chain_seq, ok_hash, expected_seq FROM (
            SELECT t.{pk} AS pk, t.chain_seq,
                   t.row_hash IS NOT DISTINCT FROM
                       audit_row_hash(lag(t.row_hash) OVER (ORDER BY t.chain_seq), t) AS ok_hash,
                   row_number() OVER (ORDER BY t.chain_seq) AS expected_seq
            FROM {quoted} t
        ) c
        WHERE NOT ok_hash OR chain_seq IS DISTINCT FROM expected_seq
        ORDER BY expected_seq
        LIMIT 1
        """  # noqa: S608
    )
    row = cursor.fetchone()
    if row is None:
        return None
    pk_value, seq, ok_hash, expected_seq = row
    if seq != expected_seq:
        reason = f"chain position {seq} where {expected_seq} was expected: a row before it was deleted or inserted"
    else:
        reason = "hash does not match the row: the row, or the one before it, was altered"
    return Break(table, seq, pk_value, reason)


def _trigger_problems(cursor, table: str, names: tuple[str, ...] = TRIGGER_NAMES) -> list[Break]:
    cursor.execute(
        "SELECT tgname, tgenabled FROM pg_trigger WHERE tgrelid = %s::regclass AND tgname = ANY(%s)",
        [table, list(names)],
    )
    found = dict(cursor.fetchall())
    problems = []
    for name in names:
        if name not in found:
            problems.append(Break(table, None, "-", f"trigger {name} is missing"))
        elif found[name] != "O":
            problems.append(Break(table, None, "-", f"trigger {name} is disabled (tgenabled={found[name]})"))
    return problems


def _head_problem(table: str, last: tuple[int, str], kept: tuple[int, str] | None) -> Break | None:
    """The end of a table's chain against the head kept for it in audit_chainhead."""
    rows, last_hash = last
    kept_rows, kept_hash = kept or (0, "")
    if rows < kept_rows:
        reason = f"the table ends at chain position {rows} but its chain head, kept apart, is at {kept_rows}: "
        reason += "rows at the end were deleted, or the table was emptied"
    elif rows > kept_rows:
        reason = f"rows after chain position {kept_rows}, where its chain head is kept, were written with the "
        reason += "triggers off"
    elif last_hash != kept_hash:
        reason = "the last row's hash differs from the chain head kept apart: rows at the end were replaced"
    else:
        return None
    return Break(table, rows, "-", reason)


def verify_chains(using: str = "default") -> tuple[list[Break], dict[str, tuple[int, str]]]:
    """(problems, {table: (rows, last hash hex)}). One problem at most per table: its first broken row, or else
    an end that does not meet the head kept for it."""
    connection = connections[using]
    problems: list[Break] = []
    heads: dict[str, tuple[int, str]] = {}
    with connection.cursor() as cursor:
        problems += _trigger_problems(cursor, HEAD_TABLE, HEAD_TRIGGER_NAMES)
        cursor.execute(f"SELECT table_name, last_seq, encode(last_hash, 'hex') FROM {HEAD_TABLE}")  # noqa: S608
        kept = {table: (seq, hash_hex) for table, seq, hash_hex in cursor.fetchall()}
        for table in audit_tables():
            model = next(m for m in apps.get_app_config("audit").get_models() if m._meta.db_table == table)
            pk = connection.ops.quote_name(cast(str, model._meta.pk.column))  # a concrete column
            quoted = connection.ops.quote_name(table)
            problems += _trigger_problems(cursor, table)
            broken = _first_break(cursor, table, quoted, pk)
            if broken:
                problems.append(broken)
            cursor.execute(f"SELECT chain_seq, encode(row_hash, 'hex') FROM {quoted} ORDER BY chain_seq DESC LIMIT 1")  # noqa: S608
            last = cursor.fetchone()
            heads[table] = (last[0], last[1]) if last else (0, "")
            if not broken and (head_broken := _head_problem(table, heads[table], kept.get(table))):
                problems.append(head_broken)
    return problems, heads
