"""Each clinical rule at its edges, through the one definition every way in reads (outcome-definitions.md): the
evaluation window's last minute, a block exactly at the threshold in the funnel's positive and ablated stages, the
import's qualifying block (0..180 days before, never after), the day a time point closes in the completion and pain
sections, the intention-to-treat interval, the dashboard's half-up rounding, and a clinic whose responder percent is
30 seeing 30% in every label and export."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from decimal import Decimal
from html import unescape

import pytest
from django.core.management import call_command
from django.urls import reverse

from apps.clinic.selectors import protocol_get
from apps.cryoablations.models import Cryoablation, FollowUp
from apps.registry.services import registry_import
from apps.reports.exports import report_csv
from apps.reports.outcomes import block_ids_for, dashboard_compute, outcomes_compute, outcomes_filters, wilson_interval
from apps.reports.presentation import dashboard_context
from tests.factories import PatientFactory
from tests.registry.test_import import ABLATIONS, BLOCKS, PATIENTS, RESPONSES, write
from tests.reports.test_definition_edges import (
    AS_OF,
    ablation,
    answer,
    block,
    funnel_overall,
    json_row,
    overall,
    report_json,
)

pytestmark = pytest.mark.django_db


# ---------------------------------------------------------------------------------------------------------------
# Peak relief: the evaluation window includes its last minute


def test_a_diary_entry_at_the_window_s_last_minute_counts_in_the_report_and_for_the_ablation():
    # given a block whose only relief is at 360 minutes (50% of 8), and one whose only entry is at 361
    patient = PatientFactory()
    last_minute = block(patient, diary=[(360, 4)])
    block(patient, diary=[(361, 0)], side="right")
    # when
    report = outcomes_compute(as_of=AS_OF)
    # then the first is evaluable and positive, the second not evaluable
    assert (funnel_overall(report).blocks, funnel_overall(report).evaluable, funnel_overall(report).positive) == (
        2,
        1,
        1,
    )
    assert block_ids_for(filters=report.filters, measure="positive") == [last_minute.pk]
    # and the rule gives the first to an ablation of its nerve and side
    assert ablation(patient=patient).qualifying_block == last_minute


def test_a_shorter_evaluation_window_counts_its_own_last_minute_only():
    # given a protocol whose window is 0..120 minutes
    protocol = protocol_get()
    protocol.evaluation_window_minutes = 120
    protocol.save()
    patient = PatientFactory()
    inside = block(patient, diary=[(120, 4)])
    block(patient, diary=[(121, 0)], side="right")
    # when
    report = outcomes_compute(as_of=AS_OF)
    # then
    assert (funnel_overall(report).evaluable, funnel_overall(report).positive) == (1, 1)
    assert block_ids_for(filters=report.filters, measure="evaluable") == [inside.pk]


# ---------------------------------------------------------------------------------------------------------------
# Positive block: a peak relief exactly at the threshold is positive, in every stage of the funnel


def test_a_block_exactly_at_the_threshold_is_positive_and_ablated_and_its_ablation_in_the_3_month_stages():
    # given a block of exactly 50% (4 of 8) that the rule gives to an ablation, which responds at 3 months
    patient = PatientFactory()
    at_threshold = block(patient, diary=[(30, 4)])
    recorded = ablation(patient=patient)
    answer(recorded, day=90, pain=2)
    assert recorded.qualifying_block == at_threshold
    # when
    report = outcomes_compute(as_of=AS_OF)
    # then it counts at every stage
    funnel = funnel_overall(report)
    assert (funnel.blocks, funnel.evaluable, funnel.positive, funnel.treated) == (1, 1, 1, 1)
    assert (funnel.evaluable_3m, funnel.responders_3m) == (1, 1)
    assert block_ids_for(filters=report.filters, measure="ablated") == [at_threshold.pk]
    # when the report is run with a threshold a hundredth above it
    stricter = funnel_overall(outcomes_compute(as_of=AS_OF, threshold=Decimal("50.01")))
    # then it is evaluable only
    assert (stricter.evaluable, stricter.positive, stricter.treated, stricter.evaluable_3m) == (1, 0, 0, 0)


# ---------------------------------------------------------------------------------------------------------------
# Qualifying block through the registry import: 0..180 days before the ablation, never after


def test_the_import_picks_a_block_180_days_before_and_never_one_181_days_before_or_the_day_after(tmp_path):
    # given, for ablations on 2025-03-10: a 100% left superior cluneal block the day after (K1), a right one 180
    # days before (K2), a middle cluneal one 181 days before (K3) and a left middle cluneal one the same day (K4,
    # exactly 50%), for four ablations
    files = {
        "patients.csv": [PATIENTS, "R1,Ana,Ruiz,1970-01-01,F,,,,"],
        "blocks.csv": [
            BLOCKS,
            "K1,R1,2025-03-11T09:00,dr_new,superior_cluneal,left,,,,,,8,30:0",
            "K2,R1,2024-09-11T10:00,dr_new,superior_cluneal,right,,,,,,8,30:0",
            "K3,R1,2024-09-10T10:00,dr_new,middle_cluneal,right,,,,,,8,30:0",
            "K4,R1,2025-03-10T08:00,dr_new,middle_cluneal,left,,,,,,8,30:4",
        ],
        "ablations.csv": [
            ABLATIONS,
            "X1,R1,2025-03-10,dr_new,superior_cluneal,left,8,,,2,120,",
            "X2,R1,2025-03-10,dr_new,superior_cluneal,right,8,,,2,120,",
            "X3,R1,2025-03-10,dr_new,middle_cluneal,right,8,,,2,120,",
            "X4,R1,2025-03-10,dr_new,middle_cluneal,left,8,,,2,120,",
        ],
        "survey_responses.csv": [RESPONSES],
    }
    # when
    result = registry_import(folder=write(tmp_path / "export", files))
    # then
    assert result.ok, result.problems
    picked = dict(Cryoablation.objects.values_list("external_id", "qualifying_block__external_id"))
    assert picked == {"X1": None, "X2": "K2", "X3": None, "X4": "K4"}


# ---------------------------------------------------------------------------------------------------------------
# Closed time points: closed the day after the window's last day, in every section


def _completion_and_pain(as_of: dt.date, time_point: str = "3m") -> tuple[int, int, int]:
    dashboard = dashboard_compute(filters=outcomes_filters(as_of=as_of))
    completion = next(c for c in dashboard.completion if c.time_point == time_point)
    pain = next(p for p in dashboard.pain if p.time_point == time_point)
    return completion.closed, completion.completed, pain.answers


def test_a_time_point_is_closed_from_the_day_after_its_window_s_last_day_in_completion_and_pain():
    # given an ablation answered at 3 months
    recorded = ablation()
    answer(recorded, day=90, pain=4)
    last_day = FollowUp.objects.get(ablation=recorded, time_point="3m").window_end
    # then on the window's last day the time point is open: neither closed, completed nor in the pain section
    assert _completion_and_pain(last_day) == (0, 0, 0)
    assert overall(outcomes_compute(as_of=last_day)).closed == 0
    # and the day after, it is all three
    assert _completion_and_pain(last_day + dt.timedelta(days=1)) == (1, 1, 1)


# ---------------------------------------------------------------------------------------------------------------
# Intention to treat: responders over every closed time point


def test_the_intention_to_treat_rate_and_interval_are_over_the_closed_time_points():
    # given four ablations closed at 3 months: a responder, a non-responder and two without a survey
    answer(ablation(), day=90, pain=2)
    answer(ablation(), day=90, pain=8)
    ablation()
    ablation()
    # when
    row = overall(outcomes_compute(as_of=AS_OF))
    # then completers are 1 of 2, intention to treat 1 of 4, each with its own Wilson interval
    assert (row.closed, row.evaluable, row.responders) == (4, 2, 1)
    assert (row.rate, row.ci) == (0.5, wilson_interval(1, 2))
    assert (row.itt_rate, row.itt_ci) == (0.25, wilson_interval(1, 4))
    assert row.itt_ci != row.ci


# ---------------------------------------------------------------------------------------------------------------
# Display: half-up to one decimal


def test_the_dashboard_rounds_pain_quartiles_half_up():
    # given two 3-month answers, pain 2 and 3 (quartiles 2.25 and 2.75, median 2.5)
    answer(ablation(), day=90, pain=2)
    answer(ablation(), day=90, pain=3)
    # when
    context = dashboard_context(dashboard_compute(filters=outcomes_filters(as_of=AS_OF)), links=False)
    # then 2.25 is shown 2.3 (half-up), not 2.2 (half to even)
    row = next(r for r in context["pain_rows"] if r["label"] == "3 months")
    assert (row["median"], row["iqr"]) == ("2.5", "2.3 – 2.8")


# ---------------------------------------------------------------------------------------------------------------
# Responder percent: the protocol's, in every figure, label and export


def test_a_clinic_counting_30_percent_as_a_response_sees_30_percent_everywhere(client, admin_user):
    # given a protocol whose responder reduction is 30%, an ablation exactly 30% better at 3 months (10 -> 7) and
    # one 20% better (10 -> 8)
    protocol = protocol_get()
    protocol.responder_percent = 30
    protocol.save()
    answer(ablation(baseline=10), day=90, pain=7)
    answer(ablation(baseline=10), day=90, pain=8)
    # when
    data = report_json("--as-of", AS_OF.isoformat())
    csv_out = io.StringIO()
    call_command("outcomes_report", "--format", "csv", "--as-of", AS_OF.isoformat(), stdout=csv_out)
    client.force_login(admin_user)
    html = client.get(reverse("reports:dashboard"), {"as_of": AS_OF.isoformat()}).content.decode()
    # then the report's JSON, its CSV and a report run's CSV count the 30% one as a responder
    assert (json_row(data)["evaluable"], json_row(data)["responders"], json_row(data)["rate"]) == (2, 1, 0.5)
    csv_rows = [r for r in csv.DictReader(io.StringIO(csv_out.getvalue().split("\n\n")[1]))]
    assert next(r for r in csv_rows if r["group"] == "overall" and r["time_point"] == "3m")["responders"] == "1"
    run_rows = list(csv.reader(io.StringIO(report_csv(data).decode("utf-8-sig"))))
    header = next(r for r in run_rows if "responders" in r)
    three_months = next(r for r in run_rows if "overall" in r and "3m" in r)
    assert three_months[header.index("responders")] == "1"
    # and the durability estimate takes the 20% one as its loss of response
    assert (data["durability"][0]["treatments"], data["durability"][0]["events"]) == (2, 1)
    # and every label of the dashboard (tables and charts) names 30%, none 50%
    text = unescape(re.sub(r"<[^>]+>", " ", html))
    assert "Response rates by time point (≥30% less average pain)" in text
    assert "Response rates (≥30% less pain) by time point" in html
    assert "≥50%" not in html and "50% less" not in text
