"""The acceptance test of issue 4, kept where version 2 cannot change it: the version 1 sample registry
(tests/fixtures/registry-sample, a copy of shared/data/registry-sample) still imports, and its report equals
expected-report.json (computed under version 1's rules) in every figure the repeat-treatment rule cannot change.

Version 2 supersedes the sample's repeat ablations (a later ablation of the same patient, nerve and side), so
expected-report.json no longer holds as a whole: a time point superseded by a repeat is closed but no longer evaluable,
and a repeated ablation's durability ends on its repeat date. Checked here, in the report's version 2 shape:
- the funnel's blocks, evaluable, positive and treated (version 1's `ablated`) of every group: a block's stages
  come before any repeat;
- every response row with no superseded time point (its counts and rates are version 1's, `ablations` read as
  `treatments`), and the funnel's 3-month stages and the threshold bands when no 3-month time point is superseded.
Durability is not checked against the file (every repeated ablation's event moves to its repeat date); the version 2
sample's acceptance test (test_registry_sample_v2.py) checks it under the version 2 rules."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import pytest
from django.core.management import call_command

SAMPLE = Path(__file__).resolve().parent.parent / "fixtures" / "registry-sample"
RENAMED = {"ablated": "treated", "ablations": "treatments"}


def _assert_same(got, expected, where: str) -> None:
    if isinstance(expected, float) or isinstance(got, float):
        assert got is not None and expected is not None, f"{where}: {got} != {expected}"
        assert math.isclose(got, expected, abs_tol=1e-9), f"{where}: {got} != {expected}"
    else:
        assert got == expected, f"{where}: {got!r} != {expected!r}"


def _rows(rows: list[dict], *key_columns: str) -> dict[tuple, dict]:
    return {tuple(r[c] for c in key_columns): {RENAMED.get(k, k): v for k, v in r.items()} for r in rows}


@pytest.mark.django_db
def test_version_1_sample_still_imports_and_its_report_holds_where_no_repeat_changes_it():
    # given an empty registry and the version 1 sample folder imported
    call_command("import_registry", str(SAMPLE), stdout=io.StringIO())

    # when the report is run as of 2026-06-30
    out = io.StringIO()
    call_command("outcomes_report", "--format", "json", "--as-of", "2026-06-30", stdout=out)

    # then it speaks version 2, and the sample's repeat ablations supersede some closed time points
    got = json.loads(out.getvalue())
    expected = json.loads((SAMPLE / "expected-report.json").read_text())
    assert got["version"] == 2
    assert (got["as_of"], got["threshold_percent"]) == (expected["as_of"], expected["threshold_percent"])
    superseded = {(r["group"], r["time_point"]) for r in got["response"] if r["superseded"]}
    assert ("overall", "12m") in superseded

    # the funnel's block stages of every group are version 1's
    got_funnel, expected_funnel = _rows(got["funnel"], "group"), _rows(expected["funnel"], "group")
    assert set(got_funnel) == set(expected_funnel)
    three_months_superseded = any(tp == "3m" for _, tp in superseded)
    for key, row in expected_funnel.items():
        stages = ["blocks", "evaluable", "positive", "treated"]
        if not three_months_superseded:
            stages += ["evaluable_3m", "responders_3m"]
        for column in stages:
            _assert_same(got_funnel[key][column], row[column], f"funnel {key} {column}")

    # every response row no repeat touches is version 1's, column for column (plus superseded = 0)
    got_response = _rows(got["response"], "group", "time_point")
    checked = 0
    for key, row in _rows(expected["response"], "group", "time_point").items():
        if key in superseded:
            continue
        assert set(got_response[key]) == set(row) | {"superseded"}, key
        for column, value in row.items():
            _assert_same(got_response[key][column], value, f"response {key} {column}")
        checked += 1
    assert checked >= len(expected["response"]) // 2

    # the threshold bands, when no 3-month time point is superseded
    if not three_months_superseded:
        got_bands = _rows(got["threshold_bands"], "band")
        for key, row in _rows(expected["threshold_bands"], "band").items():
            for column, value in row.items():
                _assert_same(got_bands[key][column], value, f"threshold_bands {key} {column}")
