"""The hash chain outlives schema changes: a column added to an audit table later leaves older rows verifying
(apps/audit/db.py), the rule that makes it so is checked on every migrate, and installations whose rows were hashed
under the former rule are carried over by audit migration 0003, or refused when a chain was already broken."""

from __future__ import annotations

import importlib
import io
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, migrations, models

from apps.audit.db import audit_schema_check, audit_schema_problems, audit_tables
from apps.audit.models import Action, PatientEvent, ProtocolEvent
from apps.audit.services import access_record
from apps.clinic.models import Protocol
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

rule_migration = importlib.import_module("apps.audit.migrations.0003_chain_rule_absent_columns")


def verify() -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("audit_verify", stdout=out, stderr=err)
    except CommandError as error:
        return error.returncode, err.getvalue() + str(error)
    return 0, out.getvalue()


def _as_owner_with_triggers_off(sql: str, params=()) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(sql, params)
        cursor.execute("SET LOCAL session_replication_role = origin")


def test_a_column_added_later_leaves_the_older_rows_verifying_and_tampering_still_shows():
    # given change history and access events
    patients = [PatientFactory(last_name=f"Before{i}") for i in range(3)]
    access_record(action=Action.VIEW, category="clinical", actor_label="system:test", detail={"note": None})
    # when a later release adds a column to audit tables (nullable, no default: the rule), and rows follow it
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE audit_patientevent ADD COLUMN nickname varchar(40)")
        cursor.execute("ALTER TABLE audit_accessevent ADD COLUMN reason varchar(40)")
    PatientFactory(last_name="After")
    access_record(action=Action.VIEW, category="clinical", actor_label="system:test")
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO audit_accessevent (occurred_at, actor_label, user_agent, action, category, object_type, "
            "object_id, path, detail, reason) VALUES (now(), 'system:test', '', 'view', 'clinical', '', '', '', "
            "'{}', 'audit review')"
        )
    # then every row verifies, those from before the column included
    code, output = verify()
    assert code == 0, output
    # when the owner alters an older row, triggers off
    altered = PatientEvent.objects.get(pgh_obj=patients[1])
    _as_owner_with_triggers_off("UPDATE audit_patientevent SET last_name = 'Other' WHERE pgh_id = %s", [altered.pk])
    # then it is named
    code, output = verify()
    assert code == 1
    assert f"audit_patientevent: row {altered.pk} " in output


def test_a_value_written_into_the_added_column_of_an_older_row_is_caught():
    # given
    patient = PatientFactory()
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE audit_patientevent ADD COLUMN nickname varchar(40)")
    event = PatientEvent.objects.get(pgh_obj=patient)
    # when the owner fills the new column of a row that never had it
    _as_owner_with_triggers_off("UPDATE audit_patientevent SET nickname = 'Bob' WHERE pgh_id = %s", [event.pk])
    # then
    code, output = verify()
    assert code == 1
    assert f"audit_patientevent: row {event.pk} " in output


def test_the_hashed_text_leaves_out_keys_holding_null_at_every_level():
    # given an access event with no patient and a detail holding nulls
    event = access_record(
        action=Action.VIEW, category="clinical", actor_label="system:test", detail={"a": None, "b": [1, None]}
    )
    # when
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT convert_from(audit_row_body(t), 'UTF8') FROM audit_accessevent t WHERE id = %s", [event.pk]
        )
        text = cursor.fetchone()[0]
    # then a null-valued key reads as absent, top-level or nested; an array keeps its positions
    assert '"patient_id"' not in text and '"client_address"' not in text
    assert '"detail": {"b": [1, null]}' in text
    assert '"row_hash"' not in text


def test_a_session_in_another_time_zone_and_output_settings_hashes_and_verifies_alike():
    # given history written by the application's sessions (UTC)
    PatientFactory()
    before = access_record(action=Action.VIEW, category="clinical", actor_label="system:test")
    # when a session with other settings recomputes a row's hash, and appends rows of its own
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL TimeZone = 'Pacific/Chatham'")
        cursor.execute("SET LOCAL bytea_output = 'escape'")
        cursor.execute("SET LOCAL extra_float_digits = 3")
        cursor.execute("SET LOCAL IntervalStyle = 'iso_8601'")
        cursor.execute(
            "SELECT row_hash = audit_row_hash(lag_hash, t) FROM (SELECT t, row_hash, "
            "lag(row_hash) OVER (ORDER BY chain_seq) AS lag_hash, id FROM audit_accessevent t) s WHERE id = %s",
            [before.pk],
        )
        same = cursor.fetchone()[0]
        access_record(action=Action.VIEW, category="clinical", actor_label="system:test")
        PatientFactory()
        cursor.execute("SELECT to_jsonb(now())::text")
        spelled = cursor.fetchone()[0]
        cursor.execute("SET LOCAL TimeZone = 'UTC'")
        cursor.execute("SET LOCAL bytea_output = 'hex'")
        cursor.execute("SET LOCAL extra_float_digits = 1")
        cursor.execute("SET LOCAL IntervalStyle = 'postgres'")
    # then the same hash, and the whole trail verifies in the application's session
    assert "+12:45" in spelled or "+13:45" in spelled  # the session did spell times in its own zone
    assert same is True
    code, output = verify()
    assert code == 0, output


def _migration(*operations) -> migrations.Migration:
    migration = migrations.Migration("0099_later", "audit")
    migration.operations = list(operations)
    return migration


def test_the_schema_rule_is_checked_on_migrations():
    # given the audit app's own migrations
    assert audit_schema_check() == []
    # when later migrations add, remove or rename columns of audit tables
    problems = audit_schema_problems(
        [
            _migration(
                migrations.AddField("patientevent", "nickname", models.CharField(max_length=9, null=True)),
                migrations.AddField("patientevent", "badge", models.CharField(max_length=9, default="")),
                migrations.AddField("accessevent", "reason", models.CharField(max_length=9, null=True, default="x")),
                migrations.AddField("accessevent", "seen", models.BooleanField(null=True, db_default=False)),
                migrations.AddField("accessevent", "level", models.IntegerField()),
                migrations.RemoveField("accessevent", "user_agent"),
                migrations.RenameField("patientevent", "mrn", "record_number"),
            )
        ]
    )
    # then all but the nullable column without a default are refused
    assert len(problems) == 6
    assert not any("nickname" in p for p in problems)
    assert any("badge" in p and "nullable, with no default" in p for p in problems)
    assert any("user_agent" in p and "never removed or renamed" in p for p in problems)


def test_event_snapshot_columns_are_nullable_without_defaults_whatever_the_tracked_field_says():
    # given Protocol.invitation_hour: NOT NULL, default 10
    assert Protocol._meta.get_field("invitation_hour").default == 10
    # then its snapshot column in the history
    field = ProtocolEvent._meta.get_field("invitation_hour")
    assert field.null and field.default is models.NOT_PROVIDED


def _hash_as_before_the_rule(table: str, left_out_below: int = 0, left_out: tuple[str, ...] = ()) -> None:
    """What an installation of the former release holds: the chain hashed with every key of the row; rows at
    chain positions up to `left_out_below` without the `left_out` keys (as before migration 0002 added them)."""
    keys = "{" + ",".join(left_out) + "}"
    with connection.cursor() as cursor:
        cursor.execute(rule_migration.OLD_RULE_SQL)
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(
            f"""
            DO $$ DECLARE r record; h bytea; BEGIN
                FOR r IN SELECT * FROM {table} ORDER BY chain_seq LOOP
                    h := pg_temp.audit_row_hash_v1(
                        h, r, CASE WHEN r.chain_seq <= {left_out_below} THEN '{keys}'::text[] ELSE '{{}}' END);
                    UPDATE {table} SET row_hash = h WHERE chain_seq = r.chain_seq;
                END LOOP;
            END $$
            """  # noqa: S608
        )
        cursor.execute("SET LOCAL session_replication_role = origin")


def _every_chain_hashed_as_before_the_rule() -> None:
    """The other tables too (the catalog's history, say): the migration checks every chain under the former rule."""
    for table in audit_tables():
        _hash_as_before_the_rule(table)


def _migrate_0003() -> None:
    rule_migration.rehash_under_the_new_rule(apps, SimpleNamespace(connection=connection))


def test_migration_0003_carries_chains_hashed_under_the_former_rule_over_to_the_new_one():
    # given patient history and protocol history hashed as the former release did; the first protocol event from
    # before 0002 (its hash without the reminder columns, which 0002 then filled with their defaults)
    PatientFactory()
    PatientFactory()
    Protocol.objects.filter(pk=1).update(responder_percent=40)
    Protocol.objects.filter(pk=1).update(responder_percent=50)
    _every_chain_hashed_as_before_the_rule()
    first_protocol_event = ProtocolEvent.objects.order_by("chain_seq").first().chain_seq
    _hash_as_before_the_rule(
        "audit_protocolevent", first_protocol_event, tuple(rule_migration.ADDED_BY_0002["audit_protocolevent"])
    )
    assert verify()[0] == 1  # as audit_verify of this release sees an installation not yet migrated
    # when
    _migrate_0003()
    # then
    code, output = verify()
    assert code == 0, output


def test_migration_0003_refuses_a_chain_already_broken_and_changes_nothing():
    # given a chain hashed under the former rule, then one row altered behind the triggers' back
    PatientFactory()
    second = PatientFactory()
    _every_chain_hashed_as_before_the_rule()
    event = PatientEvent.objects.get(pgh_obj=second)
    _as_owner_with_triggers_off("UPDATE audit_patientevent SET first_name = 'X' WHERE pgh_id = %s", [event.pk])
    hashes = list(PatientEvent.objects.order_by("chain_seq").values_list("row_hash", flat=True))
    # when / then
    with pytest.raises(RuntimeError, match=rf"audit_patientevent: row {event.pk} \(chain position"):
        _migrate_0003()
    assert list(PatientEvent.objects.order_by("chain_seq").values_list("row_hash", flat=True)) == hashes
