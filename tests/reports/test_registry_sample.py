"""The acceptance test of issue 4: the sample registry, imported into an empty database, gives exactly the report
computed independently from outcome-definitions.md (tests/fixtures/registry-sample, a copy of
shared/data/registry-sample)."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import pytest
from django.core.management import call_command

SAMPLE = Path(__file__).resolve().parent.parent / "fixtures" / "registry-sample"
SECTIONS = {"funnel": ("group",), "response": ("group", "time_point"), "threshold_bands": ("band",)}


def _assert_same(got, expected, where: str) -> None:
    if isinstance(expected, float) or isinstance(got, float):
        assert got is not None and expected is not None, f"{where}: {got} != {expected}"
        assert math.isclose(got, expected, abs_tol=1e-6), f"{where}: {got} != {expected}"
    else:
        assert got == expected, f"{where}: {got!r} != {expected!r}"


@pytest.mark.django_db
def test_sample_registry_gives_the_expected_report():
    # given an empty registry and the sample folder imported
    call_command("import_registry", str(SAMPLE), stdout=io.StringIO())

    # when the report is run as of 2026-06-30
    out = io.StringIO()
    call_command("outcomes_report", "--format", "json", "--as-of", "2026-06-30", stdout=out)

    # then it equals expected-report.json, rows in any order, rates to 1e-6
    got = json.loads(out.getvalue())
    expected = json.loads((SAMPLE / "expected-report.json").read_text())
    assert set(got) == set(expected)
    for key in ("as_of", "threshold_percent", "durability"):
        assert got[key] == expected[key], key
    for section, key_columns in SECTIONS.items():
        got_rows = {tuple(r[c] for c in key_columns): r for r in got[section]}
        expected_rows = {tuple(r[c] for c in key_columns): r for r in expected[section]}
        assert set(got_rows) == set(expected_rows), section
        for row_key, expected_row in expected_rows.items():
            assert set(got_rows[row_key]) == set(expected_row), (section, row_key)
            for column, value in expected_row.items():
                _assert_same(got_rows[row_key][column], value, f"{section} {row_key} {column}")
    assert got["funnel"][0]["group"] == "overall"
