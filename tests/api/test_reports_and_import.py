"""The outcomes report and the registry import through the API: the same function as `manage.py outcomes_report`,
the same service as the admin import page."""

from __future__ import annotations

import io
import json
import math
import shutil
import zipfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from apps.audit.models import Action, Category
from apps.blocks.models import DiagnosticBlock
from apps.patients.models import Patient
from apps.registry.models import ImportRun
from apps.registry.parsing import FILES_V1 as FILES
from apps.surveys.models import SurveyResponse
from tests.api.test_api import bearer, events_after, last_event_id

pytestmark = pytest.mark.django_db

SAMPLE = Path(__file__).resolve().parent.parent / "fixtures" / "registry-sample"
SAMPLE_V2 = Path(__file__).resolve().parent.parent / "fixtures" / "registry-sample-v2"
KEYS = {
    "funnel": ("group",),
    "response": ("group", "time_point"),
    "threshold_bands": ("band",),
    "durability": ("group",),
    "repeat": ("group",),
    "adverse_events": ("group",),
}


def _import_v2_sample(tmp_path: Path) -> None:
    """The version 2 sample without the next issue's files (instrument answers, medications)."""
    for path in SAMPLE_V2.glob("*.csv"):
        if path.name not in ("instrument_responses.csv", "medications.csv"):
            shutil.copy(path, tmp_path / path.name)
    call_command("import_registry", str(tmp_path), stdout=io.StringIO())


def _assert_matches_expected(got: dict, expected: dict) -> None:
    """Rows in any order, rates to 1e-9 (as tests/reports/test_registry_sample_v2.py; the sample has no all-zero
    row)."""
    assert got["version"] == expected["version"] == 2
    for key in ("as_of", "threshold_percent"):
        assert got[key] == expected[key], key
    for section, columns in KEYS.items():
        got_rows = {tuple(row[c] for c in columns): row for row in got[section]}
        expected_rows = {tuple(row[c] for c in columns): row for row in expected[section]}
        assert set(got_rows) == set(expected_rows), section
        for row_key, expected_row in expected_rows.items():
            got_row = got_rows[row_key]
            assert set(got_row) == set(expected_row), (section, row_key)
            for column, value in expected_row.items():
                if isinstance(value, float) or isinstance(got_row[column], float):
                    assert math.isclose(got_row[column], value, abs_tol=1e-9), (section, row_key, column)
                else:
                    assert got_row[column] == value, (section, row_key, column)


def _command_report(*args: str) -> dict:
    out = io.StringIO()
    call_command("outcomes_report", "--format", "json", *args, stdout=out)
    return json.loads(out.getvalue())


def test_the_outcomes_endpoint_gives_the_commands_json_and_the_expected_report(physician, tmp_path):
    # given the version 2 sample registry imported
    _import_v2_sample(tmp_path)
    client = bearer(physician, read_only=True)
    last = last_event_id()

    # when the report is asked for as of 2026-06-30, through the API and the command
    response = client.get(reverse("api:outcomes_report"), {"as_of": "2026-06-30"})
    command = _command_report("--as-of", "2026-06-30")

    # then the same JSON, version 2, equal to expected-report-v2.json, and one access event as the dashboard writes
    assert response.status_code == 200
    assert response.json() == command
    _assert_matches_expected(response.json(), json.loads((SAMPLE_V2 / "expected-report-v2.json").read_text()))
    [event] = events_after(last)
    assert (event.action, event.category, event.object_type) == (Action.VIEW, Category.REPORT, "outcomes_report")


def test_the_outcomes_endpoint_takes_the_commands_options(physician):
    # given
    call_command("import_registry", str(SAMPLE), stdout=io.StringIO())
    client = bearer(physician, read_only=True)
    params = {"from": "2025-01-01", "to": "2026-03-31", "as_of": "2026-06-30", "threshold": "62.5"}

    # when
    response = client.get(reverse("api:outcomes_report"), params)

    # then
    assert response.status_code == 200
    command = _command_report(
        "--from", "2025-01-01", "--to", "2026-03-31", "--as-of", "2026-06-30", "--threshold", "62.5"
    )
    assert response.json() == command
    assert response.json()["threshold_percent"] == 62.5


def test_the_outcomes_endpoint_takes_the_kind_as_the_command_does(physician, tmp_path):
    # given
    _import_v2_sample(tmp_path)
    client = bearer(physician, read_only=True)

    # when
    response = client.get(reverse("api:outcomes_report"), {"as_of": "2026-06-30", "kind": "rf_cooled"})

    # then the command's JSON with --kind: only that kind's treatments, the funnel's blocks unchanged
    assert response.status_code == 200
    data = response.json()
    assert data == _command_report("--as-of", "2026-06-30", "--kind", "rf_cooled")
    assert {row["group"] for row in data["response"] if row["group"].startswith("kind:")} == {"kind:rf_cooled"}
    everything = _command_report("--as-of", "2026-06-30")
    assert data["funnel"][0]["blocks"] == everything["funnel"][0]["blocks"]
    assert data["adverse_events"][0]["treatments"] < everything["adverse_events"][0]["treatments"]


def test_the_outcomes_endpoint_narrows_to_a_nerve_and_physician(physician):
    # given
    call_command("import_registry", str(SAMPLE), stdout=io.StringIO())
    client = bearer(physician, read_only=True)

    # when
    everything = client.get(reverse("api:outcomes_report"), {"as_of": "2026-06-30"}).json()
    narrowed = client.get(
        reverse("api:outcomes_report"), {"as_of": "2026-06-30", "nerve": "superior_cluneal", "physician": "dr_okafor"}
    ).json()

    # then only that nerve's and physician's groups remain, with fewer blocks overall
    groups = {row["group"] for row in narrowed["funnel"]}
    assert groups == {"overall", "nerve:superior_cluneal", "physician:dr_okafor"}
    assert narrowed["funnel"][0]["blocks"] < everything["funnel"][0]["blocks"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2026-13-01"}, "from"),
        ({"as_of": "yesterday"}, "as_of"),
        ({"threshold": "0"}, "threshold"),
        ({"threshold": "101"}, "threshold"),
        ({"threshold": "NaN"}, "threshold"),
        ({"nerve": "no_such_nerve"}, "nerve"),
        ({"physician": "nobody"}, "physician"),
        ({"kind": "laser"}, "kind"),
        ({"from": "2026-02-01", "to": "2026-01-01"}, "to"),
    ],
)
def test_bad_report_parameters_are_named(physician, params, field):
    # when
    response = bearer(physician).get(reverse("api:outcomes_report"), params)
    # then
    assert response.status_code == 400
    assert list(response.json()) == [field]


def test_front_desk_staff_cannot_read_the_outcomes_report(staff_user):
    # when
    response = bearer(staff_user).get(reverse("api:outcomes_report"))
    # then: as the dashboard page
    assert response.status_code == 403


# ---------------------------------------------------------------------------------------------------------------
# The registry import


def _csvs(**replace: bytes) -> list[SimpleUploadedFile]:
    return [
        SimpleUploadedFile(name, replace.get(name, (SAMPLE / name).read_bytes()), content_type="text/csv")
        for name in FILES
    ]


def _zip() -> SimpleUploadedFile:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in FILES:
            archive.writestr(f"export/{name}", (SAMPLE / name).read_bytes())
    return SimpleUploadedFile("registry.zip", buffer.getvalue(), content_type="application/zip")


def _post_import(client, files, *, dry_run: bool):
    return client.post(reverse("api:registry_import"), {"files": files, "dry_run": "true" if dry_run else "false"})


def test_a_dry_run_counts_and_writes_nothing(admin_user):
    # given
    client = bearer(admin_user)
    last = last_event_id()

    # when
    response = _post_import(client, _csvs(), dry_run=True)

    # then
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["dry_run"], body["problems"]) == ("dry_run", True, [])
    assert body["counts"]["patients.csv"]["created"] == 60
    assert not Patient.objects.exists()
    assert not DiagnosticBlock.objects.exists()
    assert ImportRun.objects.get().status == ImportRun.Status.DRY_RUN
    [event] = events_after(last)
    assert event.object_type == "importrun"


def test_bad_rows_are_each_named_and_nothing_is_written(admin_user):
    # given a patients.csv with two bad rows
    lines = (SAMPLE / "patients.csv").read_text().splitlines()
    header = lines[0].split(",")
    for line_number, column, value in [(2, "date_of_birth", "not-a-date"), (3, "sex", "Q")]:
        cells = lines[line_number - 1].split(",")
        cells[header.index(column)] = value
        lines[line_number - 1] = ",".join(cells)
    files = _csvs(**{"patients.csv": ("\n".join(lines) + "\n").encode()})

    # when a real run is asked for
    response = _post_import(bearer(admin_user), files, dry_run=False)

    # then refused, every problem as file:line: column: message
    assert response.status_code == 400
    body = response.json()
    assert body["status"] == "refused"
    located = [p.split(": ")[0] + ": " + p.split(": ")[1] for p in body["problems"]]
    assert "patients.csv:2: date_of_birth" in located
    assert "patients.csv:3: sex" in located
    assert not Patient.objects.exists()


def test_a_real_run_imports_and_a_second_run_changes_nothing(admin_user):
    # given
    client = bearer(admin_user)

    # when the zip is imported twice
    first = _post_import(client, [_zip()], dry_run=False)
    counts = (Patient.objects.count(), DiagnosticBlock.objects.count(), SurveyResponse.objects.count())
    second = _post_import(client, [_zip()], dry_run=False)

    # then the first writes the registry, the second finds every row already there
    assert (first.status_code, first.json()["status"]) == (200, "imported")
    assert counts[0] == 60
    assert (second.status_code, second.json()["status"]) == (200, "imported")
    assert second.json()["counts"]["patients.csv"] == {"created": 0, "matched": 60}
    assert (Patient.objects.count(), DiagnosticBlock.objects.count(), SurveyResponse.objects.count()) == counts


def test_an_unknown_file_is_refused_naming_the_field(admin_user):
    # when
    response = _post_import(bearer(admin_user), [SimpleUploadedFile("notes.txt", b"x")], dry_run=True)
    # then
    assert response.status_code == 400
    assert list(response.json()) == ["files"]
    assert not ImportRun.objects.exists()


@pytest.mark.parametrize("role", ["staff_user", "physician"])
def test_only_admins_import(request, role):
    # given
    client = bearer(request.getfixturevalue(role))
    # when
    response = _post_import(client, _csvs(), dry_run=True)
    # then
    assert response.status_code == 403
    assert not ImportRun.objects.exists()


def test_a_read_only_admin_token_cannot_import(admin_user):
    # when
    response = _post_import(bearer(admin_user, read_only=True), _csvs(), dry_run=True)
    # then
    assert response.status_code == 403
    assert not ImportRun.objects.exists()


def test_an_upload_over_the_size_limit_is_refused_and_a_run_names_the_files_uploaded(admin_user, monkeypatch):
    from apps.registry import uploads

    # given a (lowered) limit per file
    client = bearer(admin_user)
    monkeypatch.setattr(uploads, "MAX_FILE_BYTES", 10_000)

    # when a patients.csv over it is sent, then the sample as a zip (under it: the zip's files are checked)
    big = _post_import(client, _csvs(**{"patients.csv": b"\n" * 10_001}), dry_run=True)
    monkeypatch.setattr(uploads, "MAX_FILE_BYTES", 10_000_000)
    response = _post_import(client, [_zip()], dry_run=True)

    # then the first is refused naming the file and the limit, with no run; the second's run names the zip
    assert big.status_code == 400
    assert big.json()["files"] == ["patients.csv is larger than the limit of 9.8\xa0KB."]
    assert response.status_code == 200
    assert ImportRun.objects.get().source == "registry.zip"
