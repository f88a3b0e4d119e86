"""The acceptance test of issues 15 and 16 for the outcomes report: the version 2 sample registry (tests/fixtures/
registry-sample-v2, a copy of shared/data/registry-sample-v2), imported whole into an empty database, gives
expected-report-v2.json, every section of it (funnel, response, threshold_bands, durability, repeat, adverse_events,
instruments and opioids), as its README says: rows in any order, a row whose counts are all zero may be absent,
rates and medians to 1e-9."""

from __future__ import annotations

import io
import json
import math
import shutil
from pathlib import Path

import pytest
from django.core.management import call_command

SAMPLE = Path(__file__).resolve().parent.parent / "fixtures" / "registry-sample-v2"
SECTIONS = {
    "funnel": ("group",),
    "response": ("group", "time_point"),
    "threshold_bands": ("band",),
    "durability": ("group",),
    "repeat": ("group",),
    "adverse_events": ("group",),
    "instruments": ("group", "instrument", "time_point"),
    "opioids": ("group", "time_point"),
}


def _same(got, expected) -> bool:
    if isinstance(expected, float) or isinstance(got, float):
        return got is not None and expected is not None and math.isclose(got, expected, rel_tol=0, abs_tol=1e-9)
    return got == expected


def _all_zero(row: dict, key_columns: tuple[str, ...]) -> bool:
    return all(v in (0, None) for k, v in row.items() if k not in key_columns)


@pytest.mark.django_db
def test_version_2_sample_registry_gives_the_expected_report(tmp_path):
    # given the sample folder, imported into an empty registry
    folder = tmp_path / "registry-sample-v2"
    folder.mkdir()
    for path in SAMPLE.glob("*.csv"):
        shutil.copy(path, folder / path.name)
    call_command("import_registry", str(folder), stdout=io.StringIO())

    # when the report is run as of 2026-06-30
    out = io.StringIO()
    call_command("outcomes_report", "--format", "json", "--as-of", "2026-06-30", stdout=out)

    # then every row of every section is the expected one
    got = json.loads(out.getvalue())
    expected = json.loads((SAMPLE / "expected-report-v2.json").read_text())
    assert (got["version"], got["as_of"], got["threshold_percent"]) == (2, "2026-06-30", 50)
    differences, compared = [], 0
    for section, key_columns in SECTIONS.items():
        got_rows = {tuple(r[c] for c in key_columns): r for r in got[section]}
        expected_rows = {tuple(r[c] for c in key_columns): r for r in expected[section]}
        for key in set(got_rows) | set(expected_rows):
            mine, theirs = got_rows.get(key), expected_rows.get(key)
            if mine is None or theirs is None:
                present = mine if theirs is None else theirs
                if not _all_zero(present, key_columns):
                    differences.append(f"{section} {key}: only in {'the report' if theirs is None else 'the file'}")
                continue
            assert set(mine) == set(theirs), (section, key)
            compared += 1
            differences += [
                f"{section} {key} {column}: {mine[column]!r} != {value!r}"
                for column, value in theirs.items()
                if not _same(mine[column], value)
            ]
    assert differences == []
    assert compared == sum(len(expected[section]) for section in SECTIONS)
    assert set(SECTIONS) == set(expected) - {"version", "as_of", "threshold_percent"}
    assert got["funnel"][0]["group"] == "overall"
