"""The dashboard and its drill-downs on the sample registry: the same numbers as `outcomes_report`, and every
figure's drill-down lists exactly the procedures behind it."""

from __future__ import annotations

import io
import json
import re
from html import unescape
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import reverse

from apps.accounts.models import Role
from apps.audit.models import AccessEvent
from apps.clinic.models import Nerve
from apps.cryoablations.models import Cryoablation
from apps.reports import outcomes
from apps.reports.presentation import percent
from tests.factories import UserFactory

SAMPLE = Path(__file__).resolve().parent.parent / "fixtures" / "registry-sample"
AS_OF = "2026-06-30"


@pytest.fixture
def sample(db):
    call_command("import_registry", str(SAMPLE), stdout=io.StringIO())
    out = io.StringIO()
    call_command("outcomes_report", "--format", "json", "--as-of", AS_OF, stdout=out)
    return json.loads(out.getvalue())


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def _rows(html: str, table_id: str) -> dict[str, list[str]]:
    """{time point code: cell texts} of the response table."""
    table = re.search(rf'<table[^>]*id="{table_id}".*?</table>', html, re.S).group(0)
    rows = {}
    for code, body in re.findall(r'<tr data-time-point="([^"]+)">(.*?)</tr>', table, re.S):
        rows[code] = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", body, re.S)]
    return rows


def test_dashboard_shows_the_reports_numbers_for_the_whole_clinic(sample, admin_client):
    # when an admin opens the dashboard of the whole clinic as of the report's date
    response = admin_client.get(reverse("reports:dashboard"), {"as_of": AS_OF})

    # then every overall response figure is the report's, rates shown half-up to one decimal
    assert response.status_code == 200
    rows = _rows(response.content.decode(), "response-table")
    expected = [r for r in sample["response"] if r["group"] == "overall"]
    assert set(rows) == {r["time_point"] for r in expected}
    for row in expected:
        cells = rows[row["time_point"]]
        assert cells[1:5] == [str(row[k]) for k in ("treatments", "closed", "evaluable", "responders")]
        assert cells[5] == percent(row["rate"])
        assert cells[6] == f"{percent(row['ci_low'])} – {percent(row['ci_high'])}"
        assert cells[7] == percent(row["itt_rate"])
    funnel = response.context["funnel_rows"][0]
    assert [c.text for c in funnel["cells"]] == [
        str(sample["funnel"][0][k])
        for k in ("blocks", "evaluable", "positive", "treated", "evaluable_3m", "responders_3m")
    ]
    assert response.context["durability"]["events"].text == str(sample["durability"][0]["events"])
    bands = {b["band"]: b for b in sample["threshold_bands"]}
    for row in response.context["band_rows"]:
        assert row["rate"] == percent(bands[row["band"]]["rate"])


def test_dashboard_filtered_by_nerve_equals_the_engines_nerve_group(sample, admin_client):
    # given
    nerve = Nerve.objects.get(code="superior_cluneal")
    expected = next(r for r in sample["response"] if r["group"] == "nerve:superior_cluneal" and r["time_point"] == "3m")

    # when
    response = admin_client.get(reverse("reports:dashboard"), {"as_of": AS_OF, "nerve": nerve.pk})

    # then
    cells = _rows(response.content.decode(), "response-table")["3m"]
    assert cells[4] == str(expected["responders"])
    assert cells[5] == percent(expected["rate"])


def test_a_rate_without_denominator_shows_a_dash(db, admin_client):
    # given an empty registry
    # when
    response = admin_client.get(reverse("reports:dashboard"))
    # then
    rows = _rows(response.content.decode(), "response-table")
    assert rows["3m"][5] == "—" and rows["3m"][7] == "—"


def test_a_physician_sees_their_own_patients_by_default(sample, client):
    # given dr_okafor (imported as an inactive physician) signed in
    from apps.accounts.models import User

    physician = User.objects.get(username="dr_okafor")
    physician.is_active = True
    physician.save()
    client.force_login(physician)
    expected = next(r for r in sample["response"] if r["group"] == "physician:dr_okafor" and r["time_point"] == "3m")

    # when
    response = client.get(reverse("reports:dashboard"), {"as_of": AS_OF})
    everyone = client.get(reverse("reports:dashboard"), {"as_of": AS_OF, "physician": ""})

    # then
    assert response.context["filters"].physician_id == physician.pk
    assert _rows(response.content.decode(), "response-table")["3m"][4] == str(expected["responders"])
    assert everyone.context["filters"].physician_id is None


def test_drill_down_lists_exactly_the_3_month_responders_of_a_nerve(sample, admin_client):
    # given the 3-month responders of superior cluneal ablations, as the dashboard links them
    nerve = Nerve.objects.get(code="superior_cluneal")
    dashboard = admin_client.get(reverse("reports:dashboard"), {"as_of": AS_OF, "nerve": nerve.pk})
    link = next(r for r in dashboard.context["response_rows"] if r["time_point"] == "3m")["responders"].url
    filters = outcomes.outcomes_filters(as_of=outcomes.date.fromisoformat(AS_OF), nerve_id=nerve.pk)
    expected_ids = outcomes.ablation_ids_for(filters=filters, time_point="3m", measure="responders")
    last = AccessEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0

    # when
    response = admin_client.get(link)

    # then the page lists those ablations, as many as the figure says, each linked, and is logged once
    group = "nerve:superior_cluneal"
    expected_count = next(r["responders"] for r in sample["response"] if (r["group"], r["time_point"]) == (group, "3m"))
    listed = [p.pk for p in response.context["procedures"]]
    assert sorted(listed) == sorted(expected_ids) and len(listed) == expected_count
    html = response.content.decode()
    for ablation in Cryoablation.objects.filter(pk__in=listed):
        assert reverse("cryoablations:detail", args=[ablation.public_id]) in html
        assert ablation.nerve_id == nerve.pk
    events = list(AccessEvent.objects.filter(id__gt=last))
    assert len(events) == 1
    patients = {a.patient_id for a in Cryoablation.objects.filter(pk__in=listed)}
    assert sorted(events[0].detail["listed"]) == sorted(patients)


@pytest.mark.parametrize(
    ("figure", "measure", "extra"),
    [
        ("funnel", "positive", {}),
        ("funnel_3m", "responders_3m", {}),
        ("band", "evaluable_3m", {"band": "80-100"}),
        ("durability", "events", {}),
        ("response", "completed", {"time_point": "6m"}),
    ],
)
def test_every_figure_drills_down_to_as_many_procedures_as_it_counts(sample, admin_client, figure, measure, extra):
    # given
    dashboard = admin_client.get(reverse("reports:dashboard"), {"as_of": AS_OF, "physician": ""}).context
    figures = {
        ("funnel", "positive"): dashboard["funnel_rows"][0]["cells"][2],
        ("funnel_3m", "responders_3m"): dashboard["funnel_rows"][0]["cells"][5],
        ("band", "evaluable_3m"): next(r for r in dashboard["band_rows"] if r["band"] == "80-100")["evaluable"],
        ("durability", "events"): dashboard["durability"]["events"],
        ("response", "completed"): next(r for r in dashboard["completion_rows"] if r["label"] == "6 months")[
            "completed"
        ],
    }
    cell = figures[(figure, measure)]

    # when
    response = admin_client.get(cell.url)

    # then
    assert f"figure={figure}" in cell.url and all(f"{k}={v}" in cell.url for k, v in extra.items())
    assert response.context["count"] == int(cell.text) == len(response.context["procedures"])


def test_staff_cannot_open_the_dashboard(db, client):
    client.force_login(UserFactory(role=Role.STAFF))
    assert client.get(reverse("reports:dashboard")).status_code == 403


def test_dashboard_stays_within_a_bounded_number_of_queries(sample, admin_client, django_assert_max_num_queries):
    # given the figures computed once (the first request: sign-in checks, the engine's queries with the instruments
    # asked, the session, and the navigation's count of the sites for its Sites compared link)
    url, query = reverse("reports:dashboard"), {"as_of": AS_OF, "physician": ""}
    with django_assert_max_num_queries(24):
        admin_client.get(url, query)
    # when the figures' data have not changed, then they come from the cache
    with django_assert_max_num_queries(14):
        admin_client.get(url, query)


# percentile_cont over every score, written directly on the follow-ups and their counted answers: the reference the
# engine's quartiles (computed from the scores counted by value) must equal, to the last bit.
PAIN_BY_PERCENTILE_CONT = """
WITH scores AS (
    SELECT 'baseline' AS time_point, a.baseline_nrs::float AS pain, NULL::float AS change
    FROM cryoablations_cryoablation a
    WHERE %(nerve_id)s::bigint IS NULL OR a.nerve_id = %(nerve_id)s::bigint
    UNION ALL
    SELECT f.time_point, r.pain_average::float,
           CASE WHEN a.baseline_nrs > 0 THEN (r.pain_average - a.baseline_nrs)::float * 100 / a.baseline_nrs END
    FROM cryoablations_cryoablation a
    JOIN cryoablations_followup f ON f.ablation_id = a.id
    JOIN surveys_surveyresponse r ON r.id = f.counted_response_id
    WHERE f.window_end < %(as_of)s::date AND (%(nerve_id)s::bigint IS NULL OR a.nerve_id = %(nerve_id)s::bigint)
)
SELECT time_point, count(*),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY pain), percentile_cont(0.25) WITHIN GROUP (ORDER BY pain),
       percentile_cont(0.75) WITHIN GROUP (ORDER BY pain), percentile_cont(0.5) WITHIN GROUP (ORDER BY change),
       percentile_cont(0.25) WITHIN GROUP (ORDER BY change), percentile_cont(0.75) WITHIN GROUP (ORDER BY change)
FROM scores GROUP BY time_point
"""


def test_pain_quartiles_are_postgresqls_percentile_cont(sample):
    import datetime as dt

    from django.db import connection

    as_of = dt.date.fromisoformat(AS_OF)
    nerve_ids = [None, *Cryoablation.objects.values_list("nerve_id", flat=True).distinct()]
    for nerve_id in nerve_ids:
        # given the reference, computed by PostgreSQL over every score
        with connection.cursor() as cursor:
            cursor.execute(PAIN_BY_PERCENTILE_CONT, {"as_of": as_of, "nerve_id": nerve_id})
            expected = {row[0]: tuple(row[1:]) for row in cursor.fetchall()}
        # when the engine computes the dashboard
        dashboard = outcomes.dashboard_compute(filters=outcomes.outcomes_filters(as_of=as_of, nerve_id=nerve_id))
        # then every time point with scores has exactly the reference's count, medians and quartiles
        got = {
            p.time_point: (p.answers, p.pain_median, p.pain_q1, p.pain_q3, p.change_median, p.change_q1, p.change_q3)
            for p in dashboard.pain
            if p.answers
        }
        assert got == expected, nerve_id
        assert len(got) > 1


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"date_from": "2026-06-01", "date_to": "2026-01-01"}, "The start date is after the end date."),
        ({"date_from": "notadate"}, "From: Enter a valid date."),
        ({"nerve": "0"}, "Nerve: Select a valid choice."),  # no row has id 0 (ids grow on a kept test database)
        ({"side": "up"}, "Side: Select a valid choice."),
    ],
)
def test_bad_filters_are_named_and_show_no_figures(sample, admin_client, query, message):
    # when the filters cannot be applied as asked
    response = admin_client.get(reverse("reports:dashboard"), query)

    # then the page names the problem and shows no figure (figures of the whole clinic would pass for the filter's)
    html = response.content.decode()
    assert message in html
    assert 'id="response-table"' not in html and 'id="funnel"' not in html
    # and keeps what was typed
    assert all(f'value="{value}"' in html for value in query.values() if value not in ("0", "up"))


def test_a_report_asked_for_from_the_dashboard_keeps_its_side(db, client, django_capture_on_commit_callbacks):
    # given a physician on the dashboard filtered to the left side
    from apps.reports.models import ReportRun
    from apps.reports.services import report_title

    physician = UserFactory(role=Role.PHYSICIAN)
    client.force_login(physician)
    assert 'name="side"' in client.get(reverse("reports:dashboard"), {"side": "left"}).content.decode()

    # when they ask for a report of the left side
    response = client.post(reverse("reports:run_new"), {"physician": physician.pk, "side": "left"})

    # then the run is of the left side only, and its title says so
    run = ReportRun.objects.get()
    assert response.status_code == 302
    assert run.side == "left"
    assert report_title(run).endswith("Left side")


def test_charts_round_percentages_half_up_like_the_tables():
    # given 10 of 32 (31.25%), which a float's :.1f shows as 31.2
    from apps.reports import charts

    # then
    assert percent(10 / 32) == charts.percent(10 / 32) == "31.3%"
    svg = str(charts.bar_chart([charts.Bar("3 months", 10 / 32)], title="Rate"))
    assert "31.3%" in svg and "31.2%" not in svg


def test_a_drill_down_is_titled_in_words_with_its_filters(sample, admin_client):
    # given the 3-month responders of superior cluneal ablations by dr_okafor, on the left, in a date range
    from apps.accounts.models import User

    nerve = Nerve.objects.get(code="superior_cluneal")
    physician = User.objects.get(username="dr_okafor")
    query = {"as_of": AS_OF, "nerve": nerve.pk, "physician": physician.pk, "side": "left"}
    query |= {"date_from": "2025-01-01", "date_to": "2025-12-31", "figure": "response", "measure": "responders"}

    # when
    response = admin_client.get(reverse("reports:drill"), {**query, "time_point": "3m"})

    # then the title says which figure and which filters, in words, and no internal code is on the page
    html = response.content.decode()
    title = re.sub(r"\s+", " ", re.search(r"<h1[^>]*>(.*?)</h1>", html, re.S).group(1)).strip()
    assert title == (
        f"Responders at 3 months · {nerve.name} · {physician.display_name} · left side"
        " · procedures from 1 January 2025 to 31 December 2025"
    )
    assert "time points closed before 30 June 2026" in html
    text = re.sub(r"<[^>]+>", " ", html)
    for code in ("responders_3m", "funnel_3m", "response · responders", "superior_cluneal", " 3m "):
        assert code not in text


def test_a_funnel_drill_down_names_its_step_in_words(sample, admin_client):
    # when
    response = admin_client.get(
        reverse("reports:drill"), {"as_of": AS_OF, "physician": "", "figure": "funnel_3m", "measure": "responders_3m"}
    )

    # then
    text = unescape(re.sub(r"<[^>]+>", " ", response.content.decode()))
    assert "Responders at 3 months of the funnel's treatments" in text
    assert "funnel_3m" not in text


def test_the_response_labels_read_the_protocols_responder_percent(sample, admin_client):
    # given a clinic that counts a 30% reduction as a response
    from apps.clinic.models import Protocol

    Protocol.objects.filter(pk=1).update(responder_percent=30)

    # when
    html = admin_client.get(reverse("reports:dashboard"), {"as_of": AS_OF, "physician": ""}).content.decode()

    # then the headings and the chart say 30%, not 50%
    assert "Response rates by time point (≥30% less average pain)" in html
    assert "Response rates (≥30% less pain) by time point" in html
    assert "≥50%" not in html
