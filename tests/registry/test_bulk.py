"""The registry's one bulk writer (apps/registry/bulk.py), the statistics it leaves after a load, and the upload
service the admin page and the API share."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import NamedTuple

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from apps.patients.models import Patient
from apps.registry import bulk
from apps.registry.models import ImportRun
from apps.registry.parsing import FILES_V1 as FILES
from apps.registry.services import registry_import, registry_upload_confirm, registry_upload_import
from apps.registry.uploads import upload_folder
from tests.registry.test_import import GOOD, write

pytestmark = pytest.mark.django_db

SAMPLE = Path(__file__).resolve().parent.parent / "fixtures" / "registry-sample"
SAMPLE_V2 = SAMPLE.with_name("registry-sample-v2")


class _PatientRow(NamedTuple):
    mrn: str
    first_name: str
    last_name: str
    date_of_birth: date


def test_rows_are_copied_by_column_name_and_the_other_columns_get_their_defaults():
    # when
    ids = bulk.rows_copy(Patient, [_PatientRow("B1", "Ana", "Diaz", date(1970, 1, 2))])

    # then
    patient = Patient.objects.get(pk=ids[0])
    assert (patient.mrn, patient.first_name, patient.last_name) == ("B1", "Ana", "Diaz")
    assert patient.public_id and patient.is_active and patient.timezone == "America/New_York"
    assert patient.created_at is not None


def test_a_row_naming_no_column_of_the_model_is_refused():
    class Row(NamedTuple):
        mrn: str
        shoe_size: int

    with pytest.raises(ValueError, match="shoe_size"):
        bulk.rows_copy(Patient, [Row("B1", 42)])


def _reltuples() -> dict[str, float]:
    tables = [model._meta.db_table for model in bulk.WRITTEN + bulk.DERIVED]
    with connection.cursor() as cursor:
        cursor.execute("SELECT relname, reltuples FROM pg_class WHERE relname = ANY(%s)", [tables])
        return dict(cursor.fetchall())


def _counts() -> dict[str, int]:
    counts = {}
    with connection.cursor() as cursor:
        for model in bulk.WRITTEN + bulk.DERIVED:
            cursor.execute(f"SELECT count(*) FROM {model._meta.db_table}")  # noqa: S608 - the models' own tables
            counts[model._meta.db_table] = cursor.fetchone()[0]
    return counts


def test_an_import_leaves_fresh_statistics_of_the_tables_it_wrote_derived_ones_included():
    # given statistics taken while the tables were empty
    bulk.tables_analyze()
    assert set(_reltuples().values()) <= {0, -1}

    # when a version 2 registry, with instrument answers and opioid statements, is imported
    result = registry_import(folder=SAMPLE_V2)

    # then the planner knows each table's rows: the follow-up, instrument and opioid facts and peak reliefs too
    assert result.ok
    counts = _counts()
    assert all(counts.values()), counts
    assert _reltuples() == counts


def test_a_dry_run_leaves_the_statistics_alone(tmp_path):
    # given
    bulk.tables_analyze()

    # when
    result = registry_import(folder=write(tmp_path / "in", GOOD), dry_run=True)

    # then
    assert result.ok
    assert set(_reltuples().values()) <= {0, -1}


def _files(**replace: bytes) -> list[SimpleUploadedFile]:
    return [SimpleUploadedFile(name, replace.get(name, (SAMPLE / name).read_bytes()), "text/csv") for name in FILES]


def test_an_upload_dry_run_keeps_the_files_until_confirmed_then_discards_them(admin_user):
    # when
    upload = registry_upload_import(files=_files(), user=admin_user, dry_run=True, keep=True)

    # then
    assert upload.result.ok and upload.result.run.status == ImportRun.Status.DRY_RUN
    assert upload_folder(upload.token) is not None and not Patient.objects.exists()

    # when
    result = registry_upload_confirm(token=upload.token, source=upload.source, user=admin_user)

    # then
    assert result.ok and result.run.status == ImportRun.Status.IMPORTED and result.run.source == upload.source
    assert Patient.objects.exists()
    assert upload_folder(upload.token) is None
    assert registry_upload_confirm(token=upload.token, source=upload.source, user=admin_user) is None


def test_an_upload_with_problems_or_without_keep_is_discarded_at_once(admin_user):
    # when
    refused = registry_upload_import(files=_files(**{"patients.csv": b"mrn\n"}), user=admin_user, keep=True)
    imported = registry_upload_import(files=_files(), user=admin_user, dry_run=False)

    # then
    assert not refused.result.ok and refused.token == ""
    assert imported.result.ok and imported.token == "" and Patient.objects.exists()


def test_an_upload_of_an_unknown_file_is_refused_before_any_import(admin_user):
    # when
    upload = registry_upload_import(files=[SimpleUploadedFile("evil.sh", b"x")], user=admin_user)

    # then
    assert upload.result is None and "evil.sh" in upload.error
    assert not ImportRun.objects.exists()
