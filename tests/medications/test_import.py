"""medications.csv in a registry import (data-exchange.md, "Import, version 2"): all or nothing, every problem as
file:line: column: message, a second import changes nothing."""

from __future__ import annotations

import datetime as dt
import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from apps.medications.models import MedicationStatement
from apps.medications.selectors import mme_on
from apps.patients.models import Patient
from apps.registry.services import registry_import

pytestmark = pytest.mark.django_db

SAMPLE = Path(__file__).resolve().parent.parent / "fixtures" / "registry-sample-v2"
HEADER = "statement_id,mrn,opioid,daily_dose,started_on,stopped_on"


def _folder(tmp_path: Path, *lines: str) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("patients.csv", "blocks.csv", "treatments.csv"):
        shutil.copy(SAMPLE / name, folder / name)
    (folder / "survey_responses.csv").write_text((SAMPLE / "survey_responses.csv").read_text().splitlines()[0] + "\n")
    (folder / "medications.csv").write_text("\n".join([HEADER, *lines]) + "\n")
    return folder


def test_statements_are_imported_on_their_patients_and_a_second_import_changes_nothing(tmp_path):
    # given
    folder = _folder(
        tmp_path,
        "S1,H000003,morphine,30,2024-04-25,",
        "S2,H000003,fentanyl_transdermal,12.5,2024-04-05,2024-06-01",
        "S3,H000003,buprenorphine,2,2024-07-29,",
    )

    # when imported twice
    first = registry_import(folder=folder)
    second = registry_import(folder=folder)

    # then
    assert first.ok and second.ok, (first.problems, second.problems)
    assert first.counts["medications.csv"] == {"created": 3, "matched": 0}
    assert second.counts["medications.csv"] == {"created": 0, "matched": 3}
    assert MedicationStatement.objects.count() == 3
    patient = Patient.objects.get(mrn="H000003")
    assert mme_on(patient=patient, day=dt.date(2024, 5, 1)).value == Decimal("60")  # 30 + 12.5 x 2.4
    assert mme_on(patient=patient, day=dt.date(2024, 8, 1)).value == Decimal("30")


def test_bad_rows_are_each_named_and_nothing_is_written(tmp_path):
    # given
    folder = _folder(
        tmp_path,
        "S1,H000003,morphine,0,2024-04-25,",
        "S2,H000003,heroin,10,2024-04-25,",
        "S3,H000003,morphine,-5,2024-04-25,",
        "S4,H000003,morphine,10,2024-04-25,2024-04-24",
        "S5,NOSUCH,morphine,10,2024-04-25,",
        "S5,H000003,morphine,10,2024-04-25,",
    )

    # when
    result = registry_import(folder=folder)

    # then
    problems = [str(p) for p in result.problems]
    assert "medications.csv:2: daily_dose: The daily dose must be above 0." in problems
    unknown = "medications.csv:3: opioid: “heroin” is not a known opioid: one of codeine,"
    assert any(p.startswith(unknown) for p in problems)
    assert "medications.csv:4: daily_dose: The daily dose must be above 0." in problems
    assert "medications.csv:5: stopped_on: The stop date cannot be before the start date (2024-04-25)." in problems
    assert "medications.csv:6: mrn: No patient with MRN NOSUCH in patients.csv or the registry." in problems
    assert "medications.csv:7: statement_id: “S5” is already on line 6." in problems
    assert not MedicationStatement.objects.exists() and not Patient.objects.exists()
