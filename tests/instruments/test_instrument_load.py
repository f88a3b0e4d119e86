"""`manage.py instrument_load FILE` and `--check`: a made-up licensed-style instrument with a T-score table."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from apps.instruments.models import Instrument, InstrumentVersion
from tests.instruments.test_scoring import MADE_UP

pytestmark = pytest.mark.django_db


def _run(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("instrument_load", *map(str, args), stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_a_definition_file_is_loaded():
    # when
    out, _ = _run(MADE_UP)

    # then
    instrument = Instrument.objects.get(code="muf4")
    assert instrument.time_points == ["baseline", "3m"]
    assert instrument.versions.get().min_items == 3
    assert "Made-up Function Scale 4 (muf4) version 1 loaded" in out


def test_check_validates_without_loading():
    out, _ = _run(MADE_UP, "--check")
    assert "no problems" in out
    assert not Instrument.objects.filter(code="muf4").exists()


def test_every_problem_is_reported_with_its_place_and_nothing_is_loaded(tmp_path):
    # given
    data = json.loads(MADE_UP.read_text(encoding="utf-8"))
    del data["items"][2]["texts"]["es"]
    data["items"][0]["answers"][1]["value"] = 1
    data["scoring"]["min_items"] = 9
    data["scoring"]["table"][0]["se"] = "wide"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data), encoding="utf-8")

    # when
    for args in ((bad,), (bad, "--check")):
        with pytest.raises(CommandError, match="4 problems: nothing loaded"):
            _, err = _run(*args)

    # then
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("instrument_load", str(bad), stderr=err)
    assert err.getvalue().splitlines() == [
        f"{bad}: items[0].answers[1].value: 1 is already another answer's value",
        f"{bad}: items[2].texts.es: missing",
        f"{bad}: scoring.min_items: must be a whole number from 1 to the number of items (4)",
        f"{bad}: scoring.table[0].se: must be a number, 0 or more",
    ]
    assert not Instrument.objects.filter(code="muf4").exists()


def test_a_file_that_is_not_json_names_its_line_and_column(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{\n  "code": "x",\n  oops\n}', encoding="utf-8")
    with pytest.raises(CommandError, match=r"bad.json:3:3: not JSON"):
        _run(bad)


def test_a_new_version_of_an_existing_code_adds_a_version(tmp_path):
    # given
    _run(MADE_UP)
    data = json.loads(MADE_UP.read_text(encoding="utf-8"))
    data["version"] = 2
    newer = tmp_path / "v2.json"
    newer.write_text(json.dumps(data), encoding="utf-8")

    # when
    _run(newer)

    # then
    assert list(InstrumentVersion.objects.filter(instrument__code="muf4").values_list("version", flat=True)) == [2, 1]
    with pytest.raises(CommandError, match="1 problem: nothing loaded"):
        _run(newer)


def test_the_documented_example_loads(tmp_path):
    # given the example of docs/instrument-format.md
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "instrument-format.md").read_text(encoding="utf-8")
    example = doc.split("```json", 1)[1].split("```", 1)[0]
    path = tmp_path / "example.json"
    path.write_text(example, encoding="utf-8")

    # when / then
    out, _ = _run(path, "--check")
    assert "no problems" in out
