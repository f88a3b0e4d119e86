"""Database-side guarantees of the audit tables: append-only, hash-chained.

Triggers, not permissions, because the application may connect as the database owner (it does in the tests and
in many small installations): the BEFORE UPDATE/DELETE trigger refuses whoever asks. Someone who can switch
triggers off (a superuser: ALTER TABLE ... DISABLE TRIGGER, session_replication_role = replica) can still alter
rows, and the hash chain is what makes that visible: each row stores sha256(previous row's hash || the row as
jsonb text), and `manage.py audit_verify` recomputes the chain.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps
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

-- The text that is hashed: the row as jsonb without its own hash, rendered in UTC whatever the session's
-- time zone, so the trigger and audit_verify always see the same bytes.
CREATE OR REPLACE FUNCTION audit_row_hash(previous bytea, r anyelement) RETURNS bytea LANGUAGE plpgsql
    STABLE SET TimeZone = 'UTC' SET bytea_output = 'hex' SET extra_float_digits = '1' AS $$
BEGIN
    RETURN sha256(coalesce(previous, '\\x'::bytea) || convert_to((to_jsonb(r) - 'row_hash')::text, 'UTF8'));
END $$;

CREATE OR REPLACE FUNCTION audit_chain_append() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    previous_seq bigint;
    previous_hash bytea;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('painreg.audit.' || TG_ARGV[0]));
    -- "IS NOT NULL ... DESC" rather than "DESC NULLS LAST": the same row, read from the end of the unique index on
    -- chain_seq (a backward scan gives NULLS FIRST); the other spelling sorts the whole table on every insert.
    EXECUTE format(
        'SELECT chain_seq, row_hash FROM %I WHERE chain_seq IS NOT NULL ORDER BY chain_seq DESC LIMIT 1', TG_TABLE_NAME
    ) INTO previous_seq, previous_hash;
    NEW.chain_seq := coalesce(previous_seq, 0) + 1;
    NEW.row_hash := audit_row_hash(previous_hash, NEW);
    RETURN NEW;
END $$;
"""

TABLE_TRIGGERS_SQL = """
CREATE OR REPLACE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE OR REPLACE TRIGGER zz_audit_chain BEFORE INSERT ON {table}
    FOR EACH ROW EXECUTE FUNCTION audit_chain_append('{chain}');
"""
TRIGGER_NAMES = ("audit_append_only", "zz_audit_chain")


def audit_tables() -> dict[str, str]:
    """{table name: chain group} of every hash-chained table of the audit app."""
    from .models import AccessEvent, ChainedRow

    tables = {}
    for model in apps.get_app_config("audit").get_models():
        if issubclass(model, ChainedRow):
            tables[model._meta.db_table] = ACCESS_CHAIN if model is AccessEvent else CHANGE_CHAIN
    return tables


def install_audit_triggers(using: str = "default", **kwargs) -> None:
    connection = connections[using]
    existing = set(connection.introspection.table_names())
    with connection.cursor() as cursor:
        cursor.execute(FUNCTIONS_SQL)
        for table, chain in audit_tables().items():
            if table in existing:
                cursor.execute(TABLE_TRIGGERS_SQL.format(table=connection.ops.quote_name(table), chain=chain))


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


def _trigger_problems(cursor, table: str) -> list[Break]:
    cursor.execute(
        "SELECT tgname, tgenabled FROM pg_trigger WHERE tgrelid = %s::regclass AND tgname = ANY(%s)",
        [table, list(TRIGGER_NAMES)],
    )
    found = dict(cursor.fetchall())
    problems = []
    for name in TRIGGER_NAMES:
        if name not in found:
            problems.append(Break(table, None, "-", f"trigger {name} is missing"))
        elif found[name] != "O":
            problems.append(Break(table, None, "-", f"trigger {name} is disabled (tgenabled={found[name]})"))
    return problems


def verify_chains(using: str = "default") -> tuple[list[Break], dict[str, tuple[int, str]]]:
    """(problems, {table: (rows, last hash hex)}). One problem at most per table: its first broken row."""
    connection = connections[using]
    problems: list[Break] = []
    heads: dict[str, tuple[int, str]] = {}
    with connection.cursor() as cursor:
        for table in audit_tables():
            model = next(m for m in apps.get_app_config("audit").get_models() if m._meta.db_table == table)
            pk = connection.ops.quote_name(model._meta.pk.column)
            quoted = connection.ops.quote_name(table)
            problems += _trigger_problems(cursor, table)
            broken = _first_break(cursor, table, quoted, pk)
            if broken:
                problems.append(broken)
            cursor.execute(f"SELECT chain_seq, encode(row_hash, 'hex') FROM {quoted} ORDER BY chain_seq DESC LIMIT 1")  # noqa: S608
            last = cursor.fetchone()
            heads[table] = (last[0], last[1]) if last else (0, "")
    return problems, heads
