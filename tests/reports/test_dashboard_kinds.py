"""The dashboard and report runs filtered by treatment kind, on the version 2 sample: every figure is the report's
with --kind (the same engine), the drill-downs keep the kind, and a report run takes it."""

from __future__ import annotations

import io
import json
import re
import shutil
from html import unescape
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import reverse

from apps.reports import services
from apps.reports.models import ReportRun
from apps.reports.presentation import percent

SAMPLE = Path(__file__).resolve().parent.parent / "fixtures" / "registry-sample-v2"
AS_OF = "2026-06-30"


@pytest.fixture
def sample_v2(db, tmp_path):
    for path in SAMPLE.glob("*.csv"):
        if path.name not in ("instrument_responses.csv", "medications.csv"):
            shutil.copy(path, tmp_path / path.name)
    call_command("import_registry", str(tmp_path), stdout=io.StringIO())


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def report(*args: str) -> dict:
    out = io.StringIO()
    call_command("outcomes_report", "--format", "json", "--as-of", AS_OF, *args, stdout=out)
    return json.loads(out.getvalue())


def response_cells(html: str) -> dict[str, list[str]]:
    table = re.search(r'<table[^>]*id="response-table".*?</table>', html, re.S).group(0)
    return {
        code: [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", body, re.S)]
        for code, body in re.findall(r'<tr data-time-point="([^"]+)">(.*?)</tr>', table, re.S)
    }


def test_the_dashboard_filtered_by_kind_shows_that_kinds_figures_everywhere(sample_v2, admin_client):
    # given the report's figures for cooled radiofrequency
    expected = report("--kind", "rf_cooled")

    # when an admin filters the dashboard by that treatment
    response = admin_client.get(reverse("reports:dashboard"), {"as_of": AS_OF, "kind": "rf_cooled"})

    # then the treatment is chosen in words, and every figure is the report's for that kind
    assert response.status_code == 200
    html = response.content.decode()
    assert re.search(r'<option value="rf_cooled" selected>Cooled radiofrequency</option>', html)
    rows = response_cells(html)
    for row in (r for r in expected["response"] if r["group"] == "overall"):
        cells = rows[row["time_point"]]
        assert cells[1:5] == [str(row[k]) for k in ("treatments", "closed", "evaluable", "responders")]
        assert cells[5] == percent(row["rate"]) and cells[7] == percent(row["itt_rate"])
    superseded = {r["time_point"]: r["superseded"] for r in expected["response"] if r["group"] == "overall"}
    note = unescape(re.sub(r"<[^>]+>", "", re.search(r'<p[^>]*id="superseded-note".*?</p>', html, re.S).group(0)))
    assert sum(superseded.values()) > 0
    for row in response.context["response_rows"]:
        if superseded[row["time_point"]]:
            assert f"{row['label']} {superseded[row['time_point']]}" in note
    funnel = response.context["funnel_rows"][0]
    assert [c.text for c in funnel["cells"]] == [
        str(expected["funnel"][0][k])
        for k in ("blocks", "evaluable", "positive", "treated", "evaluable_3m", "responders_3m")
    ]
    durability = next(d for d in expected["durability"] if d["group"] == "overall")
    assert response.context["durability"]["events"].text == str(durability["events"])
    bands = {b["band"]: b for b in expected["threshold_bands"]}
    for row in response.context["band_rows"]:
        assert row["rate"] == percent(bands[row["band"]]["rate"])
    # and the kind changes the figures (the whole clinic's are others)
    assert expected["response"] != report()["response"]


def test_a_drill_down_keeps_the_kind_and_names_it_in_words(sample_v2, admin_client):
    # given the 3-month responders of conventional radiofrequency, as the dashboard links them
    dashboard = admin_client.get(reverse("reports:dashboard"), {"as_of": AS_OF, "kind": "rf_conventional"})
    cell = next(r for r in dashboard.context["response_rows"] if r["time_point"] == "3m")["responders"]
    assert "kind=rf_conventional" in cell.url

    # when
    response = admin_client.get(cell.url)

    # then as many treatments as the figure counts, all of that kind, the title in words
    assert response.context["count"] == int(cell.text) > 0
    assert {p.kind for p in response.context["procedures"]} == {"rf_conventional"}
    text = unescape(re.sub(r"<[^>]+>", " ", response.content.decode()))
    assert "Responders at 3 months · conventional radiofrequency" in re.sub(r"\s+", " ", text)
    assert "rf_conventional" not in text


def test_an_unknown_kind_is_named_and_shows_no_figures(db, admin_client):
    response = admin_client.get(reverse("reports:dashboard"), {"kind": "laser"})
    html = unescape(response.content.decode())
    assert "Treatment: Select a valid choice." in html
    assert 'id="response-table"' not in html


def test_a_report_run_takes_the_kind_and_builds_its_figures(sample_v2, admin_client, settings, tmp_path):
    # given
    settings.REPORT_FILES_ROOT = str(tmp_path / "runs")

    # when an admin asks for a report of pulsed radiofrequency, and it is built
    response = admin_client.post(reverse("reports:run_new"), {"kind": "rf_pulsed"})
    run = ReportRun.objects.get()
    services.report_run_build(run_id=run.pk)

    # then the run holds the kind, says it in words, and its CSV is the report's with --kind
    assert response.status_code == 302 and run.treatment_kind == "rf_pulsed"
    page = admin_client.get(reverse("reports:run", args=[run.public_id])).content.decode()
    assert "Outcomes report · Pulsed radiofrequency" in unescape(page)
    listed = unescape(admin_client.get(reverse("reports:runs")).content.decode())
    assert "pulsed radiofrequency" in listed and "rf_pulsed" not in listed
    run.refresh_from_db()
    csv_text = (Path(settings.REPORT_FILES_ROOT) / run.csv_file).read_text()
    out = io.StringIO()
    call_command(
        "outcomes_report", "--format", "csv", "--as-of", run.as_of.isoformat(), "--kind", "rf_pulsed", stdout=out
    )
    assert csv_text == out.getvalue()


def test_the_superseded_time_points_drill_down_to_the_repeated_treatments(sample_v2, admin_client):
    # given the 6-month time points superseded by a repeat, as the dashboard links them
    dashboard = admin_client.get(reverse("reports:dashboard"), {"as_of": AS_OF})
    row = next(r for r in dashboard.context["superseded_rows"] if r["time_point"] == "6m")

    # when
    response = admin_client.get(row["superseded"].url)

    # then as many treatments as counted, each one superseded at 6 months, titled in words
    assert response.context["count"] == int(row["superseded"].text) > 0
    for treatment in response.context["procedures"]:
        assert treatment.follow_ups.get(time_point="6m").superseded_by_id is not None
    assert "Superseded by a repeat treatment at 6 months" in unescape(response.content.decode())
