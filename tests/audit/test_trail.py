"""Change history by triggers, the access log, and the append-only, hash-chained tables behind both."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.db.utils import DatabaseError
from django.urls import reverse

from apps.audit.db import audit_tables
from apps.audit.models import AccessEvent, Action, PatientEvent, UserEvent, UserGroupEvent
from apps.audit.services import access_record
from apps.patients.models import Patient
from tests.factories import BlockFactory, PatientFactory, UserFactory

pytestmark = pytest.mark.django_db


def verify() -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("audit_verify", stdout=out, stderr=err)
    except CommandError as error:
        return error.returncode, err.getvalue() + str(error)
    return 0, out.getvalue()


def test_every_audit_table_has_its_triggers_and_the_tracked_tables_theirs():
    # given the test database, migrated like any other
    with connection.cursor() as cursor:
        cursor.execute("SELECT tgrelid::regclass::text, tgname FROM pg_trigger WHERE NOT tgisinternal")
        triggers = cursor.fetchall()
    # then
    for table in audit_tables():
        names = {name for t, name in triggers if t == table}
        assert {"audit_append_only", "zz_audit_chain"} <= names, table
    for table in ["patients_patient", "blocks_diagnosticblock", "accounts_user", "accounts_user_groups"]:
        assert any(t == table and name.startswith("pgtrigger_") for t, name in triggers), table


def test_a_bulk_update_is_recorded_with_before_and_after_values():
    # given
    patient = PatientFactory(last_name="Before")
    # when: a queryset update, which no save() signal would see
    Patient.objects.filter(pk=patient.pk).update(last_name="After")
    # then
    events = list(PatientEvent.objects.filter(pgh_obj=patient).order_by("pgh_id"))
    assert [(e.pgh_label, e.last_name) for e in events] == [("insert", "Before"), ("update", "After")]


def test_a_change_through_a_page_records_the_user_and_the_request(client, staff_user):
    # given
    patient = PatientFactory()
    block = BlockFactory(patient=patient)
    client.force_login(staff_user)
    # when
    client.post(reverse("patients:edit", args=[patient.public_id]), _patient_form(patient, first_name="Renamed"))
    # then
    event = PatientEvent.objects.filter(pgh_obj=patient, pgh_label="update").get()
    assert event.first_name == "Renamed"
    assert event.pgh_context["user"] == staff_user.pk
    assert event.pgh_context["username"] == staff_user.username
    assert event.pgh_context["url"] == reverse("patients:edit", args=[patient.public_id])
    assert event.pgh_context["method"] == "POST"
    assert block.pk  # the block's own history is untouched by the patient's edit


def test_a_command_is_named_in_the_history():
    # when
    call_command("seed_demo", patients=1, seed=3, force=True, stdout=io.StringIO())
    # then
    event = PatientEvent.objects.latest("pgh_id")
    assert event.pgh_context["command"] == "seed_demo"


def test_user_history_never_holds_the_password_hash_and_roles_are_tracked():
    # given
    user = UserFactory(role="staff")
    # then
    assert "password" not in {f.name for f in UserEvent._meta.fields}
    assert UserEvent.objects.filter(pgh_obj=user, pgh_label="insert").exists()
    assert UserGroupEvent.objects.filter(user_id=user.pk, pgh_label="role.grant").count() == 1


def _patient_form(patient, **changes) -> dict:
    data = {
        "mrn": patient.mrn,
        "first_name": patient.first_name,
        "last_name": patient.last_name,
        "date_of_birth": patient.date_of_birth.isoformat(),
        "sex": patient.sex,
        "email": patient.email,
        "mobile_phone": patient.mobile_phone,
        "preferred_channel": patient.preferred_channel,
        "language": patient.language,
        "timezone": patient.timezone,
        "is_active": "on",
    }
    data.update(changes)
    return data


@pytest.mark.parametrize("statement", ["UPDATE {t} SET chain_seq = chain_seq", "DELETE FROM {t}"])
def test_the_application_connection_cannot_update_or_delete_audit_rows(statement):
    # given rows in every audit table's kind: access events and change history
    PatientFactory()
    access_record(action=Action.VIEW, category="clinical", actor_label="system:test")
    for table in ["audit_accessevent", "audit_patientevent"]:
        # when / then: refused even though the tests connect as a superuser
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement.format(t=table))
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AccessEvent.objects.update(action="edited")


def test_an_intact_trail_verifies():
    PatientFactory()
    access_record(action=Action.VIEW, category="clinical", actor_label="system:test")
    code, output = verify()
    assert code == 0, output
    assert "Audit trail intact" in output


def _as_owner_with_triggers_off(sql: str, params=()) -> None:
    """What a database owner can do: switch triggers off for the session and change rows."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(sql, params)
        cursor.execute("SET LOCAL session_replication_role = origin")


def test_a_row_altered_by_the_database_owner_is_named_by_audit_verify():
    # given three access events
    events = [access_record(action=Action.VIEW, category="clinical", actor_label=f"u{i}") for i in range(3)]
    # when the owner rewrites who looked, with triggers off
    _as_owner_with_triggers_off("UPDATE audit_accessevent SET actor_label = 'nobody' WHERE id = %s", [events[1].pk])
    # then
    code, output = verify()
    assert code == 1
    assert f"audit_accessevent: row {events[1].pk} " in output
    assert "hash does not match" in output


def test_a_row_deleted_by_the_database_owner_is_caught():
    # given
    PatientFactory(last_name="One")
    second = PatientFactory(last_name="Two")
    PatientFactory(last_name="Three")
    removed = PatientEvent.objects.get(pgh_obj=second)
    # when
    _as_owner_with_triggers_off("DELETE FROM audit_patientevent WHERE pgh_id = %s", [removed.pk])
    # then
    code, output = verify()
    assert code == 1
    assert "audit_patientevent" in output and "deleted or inserted" in output


def test_truncating_an_audit_table_or_the_chain_heads_is_refused():
    # given
    PatientFactory()
    access_record(action=Action.VIEW, category="clinical", actor_label="system:test")
    for table in ["audit_accessevent", "audit_patientevent", "audit_chainhead"]:
        # when / then: refused even though the tests connect as a superuser
        with pytest.raises(DatabaseError, match="TRUNCATE refused"), transaction.atomic(), connection.cursor() as c:
            c.execute(f"TRUNCATE {table}")
    assert AccessEvent.objects.count() == 1
    assert verify()[0] == 0


def test_an_audit_table_emptied_with_the_triggers_off_is_caught():
    # given
    for i in range(3):
        access_record(action=Action.VIEW, category="clinical", actor_label=f"u{i}")
    # when the owner empties the table with triggers off
    _as_owner_with_triggers_off("TRUNCATE audit_accessevent")
    # then
    code, output = verify()
    assert code == 1
    assert "audit_accessevent" in output and "the table was emptied" in output


def test_the_last_rows_deleted_with_the_triggers_off_are_caught():
    # given
    events = [access_record(action=Action.VIEW, category="clinical", actor_label=f"u{i}") for i in range(3)]
    # when the owner removes the newest event, which leaves no gap inside the chain
    _as_owner_with_triggers_off("DELETE FROM audit_accessevent WHERE id = %s", [events[-1].pk])
    # then
    code, output = verify()
    assert code == 1
    assert "audit_accessevent" in output and "rows at the end were deleted" in output


def test_a_chain_head_cannot_be_deleted_or_moved_back():
    # given
    for i in range(2):
        access_record(action=Action.VIEW, category="clinical", actor_label=f"u{i}")
    for statement in [
        "DELETE FROM audit_chainhead WHERE table_name = 'audit_accessevent'",
        "UPDATE audit_chainhead SET last_seq = 1 WHERE table_name = 'audit_accessevent'",
    ]:
        # when / then
        with pytest.raises(DatabaseError, match="only move forward"), transaction.atomic(), connection.cursor() as c:
            c.execute(statement)
    assert verify()[0] == 0


def test_a_disabled_trigger_is_reported():
    # given
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE audit_accessevent DISABLE TRIGGER audit_append_only")
    # then
    code, output = verify()
    assert code == 1
    assert "audit_append_only is disabled" in output


def test_a_registry_import_is_recorded_in_the_history_with_its_command_and_counts():
    from pathlib import Path

    from apps.audit.models import ImportRunEvent

    # when
    call_command(
        "import_registry", str(Path(__file__).parents[1] / "fixtures" / "registry-sample"), stdout=io.StringIO()
    )
    # then
    event = ImportRunEvent.objects.filter(pgh_label="insert").latest("pgh_id")
    assert event.pgh_context["command"] == "import_registry"
    finished = ImportRunEvent.objects.filter(pgh_obj_id=event.pgh_obj_id).latest("pgh_id")
    assert finished.counts and finished.problem_count == 0
    assert verify()[0] == 0
