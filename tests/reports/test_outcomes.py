"""Every rule of outcome-definitions.md as the outcomes engine applies it, with its edges."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.urls import reverse

from apps.reports.outcomes import (
    _durability,
    ablation_ids_for,
    block_ids_for,
    durability_ablation_ids_for,
    outcomes_compute,
    outcomes_filters,
    response_rate_3m_overall,
    wilson_interval,
)
from apps.surveys.models import CollectedVia
from apps.surveys.services import response_record
from tests.factories import BlockFactory, PatientFactory, make_ablation, nerve

pytestmark = pytest.mark.django_db

NEW_YORK = ZoneInfo("America/New_York")
ABLATED_ON = dt.date(2025, 1, 10)
AS_OF = dt.date(2026, 6, 30)  # every window of an ablation on ABLATED_ON has closed


def at(day: dt.date, hour: int = 10, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=NEW_YORK)


def block(patient, *, days_before: int = 20, diary=((30, 2),), baseline: int = 8, **fields):
    """A block `days_before` the ablation date; the default diary gives 75% relief."""
    return BlockFactory(
        patient=patient,
        performed_at=at(ABLATED_ON - dt.timedelta(days=days_before)),
        diary=list(diary),
        baseline_nrs=baseline,
        **fields,
    )


def answer(ablation, *, day: int, pain: int, pgic: int | None = None, hour: int = 10, minute: int = 0):
    completed = at(ablation.performed_on + dt.timedelta(days=day), hour, minute)
    return response_record(
        ablation=ablation, completed_at=completed, pain_average=pain, pgic=pgic, collected_via=CollectedVia.PHONE
    )


def overall(report, time_point: str = "3m"):
    return report.response_row("overall", time_point)


def funnel_overall(report):
    return next(row for row in report.funnel if row.group == "overall")


# Diagnostic block


def test_a_block_with_baseline_0_is_not_evaluable():
    # given a block whose pre-block pain is 0, with a diary
    block(PatientFactory(), baseline=0, diary=[(30, 0)])
    # when
    report = outcomes_compute(as_of=AS_OF)
    # then it is a block, neither evaluable nor positive
    row = funnel_overall(report)
    assert (row.blocks, row.evaluable, row.positive) == (1, 0, 0)


def test_diary_entries_outside_the_window_are_never_counted():
    # given relief only at 420 minutes (outside 0..360) on one block, and at 360 minutes on another
    patient = PatientFactory()
    block(patient, diary=[(30, 8), (420, 0)])
    block(patient, diary=[(360, 4)], side="right")
    # when
    report = outcomes_compute(as_of=AS_OF)
    # then the first is evaluable but negative (0%), the second positive (50% at the window's last minute)
    row = funnel_overall(report)
    assert (row.blocks, row.evaluable, row.positive) == (2, 2, 1)


def test_a_block_without_a_diary_entry_in_the_window_is_not_evaluable():
    patient = PatientFactory()
    block(patient, diary=[])
    block(patient, diary=[(480, 0)], side="right")
    row = funnel_overall(outcomes_compute(as_of=AS_OF))
    assert (row.blocks, row.evaluable, row.positive) == (2, 0, 0)


def test_the_threshold_decides_which_blocks_are_positive_but_ablated_follows_the_stored_qualifying_block():
    # given a 62.5% block that qualified an ablation under the protocol's 50%
    patient = PatientFactory()
    qualifying = block(patient, diary=[(30, 3)])
    ablation = make_ablation(patient=patient, performed_on=ABLATED_ON)
    assert ablation.qualifying_block == qualifying
    # when the report is run at 50% and at 80%
    at_50 = funnel_overall(outcomes_compute(as_of=AS_OF))
    at_80 = funnel_overall(outcomes_compute(as_of=AS_OF, threshold=80))
    # then at 80% the block is evaluable but not positive, so not counted as ablated either
    assert (at_50.positive, at_50.treated) == (1, 1)
    assert (at_80.evaluable, at_80.positive, at_80.treated) == (1, 0, 0)


def test_a_peak_exactly_at_the_threshold_is_positive():
    block(PatientFactory(), baseline=10, diary=[(15, 5)])
    assert funnel_overall(outcomes_compute(as_of=AS_OF)).positive == 1
    assert funnel_overall(outcomes_compute(as_of=AS_OF, threshold=51)).positive == 0


# Qualifying block


def test_of_repeat_blocks_the_latest_positive_one_is_the_ablated_one():
    # given an older positive block, the latest positive one and a newer negative one
    patient = PatientFactory()
    older = block(patient, days_before=90)
    latest = block(patient, days_before=30)
    block(patient, days_before=10, diary=[(30, 8)])
    make_ablation(patient=patient, performed_on=ABLATED_ON)
    # when
    report = outcomes_compute(as_of=AS_OF)
    filters = report.filters
    # then three blocks, two positive, one ablated: the latest positive
    row = funnel_overall(report)
    assert (row.blocks, row.positive, row.treated) == (3, 2, 1)
    assert block_ids_for(filters=filters, measure="ablated") == [latest.pk]
    assert older.pk in block_ids_for(filters=filters, measure="positive")


def test_a_block_181_days_before_does_not_qualify_and_the_ablation_is_left_out_of_the_bands():
    # given a positive block 181 days before the ablation, and a 3-month responder
    patient = PatientFactory()
    block(patient, days_before=181)
    ablation = make_ablation(patient=patient, performed_on=ABLATED_ON, baseline_nrs=8)
    answer(ablation, day=90, pain=2)
    # when
    report = outcomes_compute(as_of=AS_OF)
    # then the ablation has no qualifying block: not "ablated", in no band, but in the response rates
    assert ablation.qualifying_block is None
    assert funnel_overall(report).treated == 0
    assert all(band.evaluable_3m == 0 for band in report.threshold_bands)
    assert (overall(report).evaluable, overall(report).responders) == (1, 1)


def test_an_explicitly_named_negative_block_counts_for_the_ablation_but_not_as_ablated():
    # given a negative block (25%) named by staff
    patient = PatientFactory()
    named = block(patient, days_before=400, diary=[(30, 6)])
    ablation = make_ablation(patient=patient, performed_on=ABLATED_ON, qualifying_block=named, baseline_nrs=8)
    answer(ablation, day=90, pain=2)
    # when
    report = outcomes_compute(as_of=AS_OF)
    # then: evaluable, not positive, not ablated; below 50% so left out of the bands; the ablation is still counted
    row = funnel_overall(report)
    assert (row.evaluable, row.positive, row.treated) == (1, 0, 0)
    assert all(band.evaluable_3m == 0 for band in report.threshold_bands)
    assert overall(report).responders == 1


def test_threshold_bands_bounds():
    # given qualifying blocks of 50%, 70% and 100% peak relief (baseline 10), each ablation a 3-month responder
    for pain_at_peak, side in ((5, "left"), (3, "right"), (0, "bilateral")):
        patient = PatientFactory()
        block(patient, baseline=10, diary=[(30, pain_at_peak)], side=side)
        ablation = make_ablation(patient=patient, performed_on=ABLATED_ON, side=side, baseline_nrs=8)
        answer(ablation, day=90, pain=2)
    # when
    bands = {b.band: b for b in outcomes_compute(as_of=AS_OF).threshold_bands}
    # then lower bounds are inclusive, and 100% falls in 80-100
    assert [(b, bands[b].evaluable_3m, bands[b].responders_3m) for b in bands] == [
        ("50-69", 1, 1),
        ("70-79", 1, 1),
        ("80-100", 1, 1),
    ]


# Follow-ups and responders


def test_of_several_surveys_in_one_window_the_last_counts():
    # given a responder early in the 3-month window, then a non-responder later in it
    ablation = make_ablation(patient=PatientFactory(), performed_on=ABLATED_ON, baseline_nrs=8)
    answer(ablation, day=80, pain=1)
    answer(ablation, day=110, pain=7)
    # when
    row = overall(outcomes_compute(as_of=AS_OF))
    # then the last one counts
    assert (row.evaluable, row.responders) == (1, 0)


def test_a_survey_between_windows_is_never_counted():
    # given a survey on day 50: after the 1-month window (22..45), before the 3-month one (75..120)
    ablation = make_ablation(patient=PatientFactory(), performed_on=ABLATED_ON, baseline_nrs=8)
    answer(ablation, day=50, pain=1)
    # when
    report = outcomes_compute(as_of=AS_OF)
    # then no time point has an evaluable answer; the closed ones count it as missing
    for time_point in ("1m", "3m"):
        row = overall(report, time_point)
        assert (row.closed, row.evaluable, row.responders) == (1, 0, 0)
        assert row.itt_rate == 0.0 and row.rate is None


def test_a_survey_at_23_30_local_time_belongs_to_that_local_date():
    # given a survey at 23:30 New York time on day 45 (the 1-month window's last day): 04:30 UTC on day 46
    ablation = make_ablation(patient=PatientFactory(), performed_on=ABLATED_ON, baseline_nrs=8)
    response = answer(ablation, day=45, pain=2, hour=23, minute=30)
    assert response.completed_at.astimezone(dt.UTC).date() == ABLATED_ON + dt.timedelta(days=46)
    # when
    report = outcomes_compute(as_of=AS_OF)
    # then it counts for 1 month
    assert (overall(report, "1m").evaluable, overall(report, "1m").responders) == (1, 1)


def test_responder_rules_50_30_and_pgic():
    # given baseline 10 and answers of 5 (50%), 7 (30%) and 8 (20%, PGIC much improved) at three time points
    ablation = make_ablation(patient=PatientFactory(), performed_on=ABLATED_ON, baseline_nrs=10)
    answer(ablation, day=14, pain=5)
    answer(ablation, day=30, pain=7)
    answer(ablation, day=90, pain=8, pgic=2)
    # when
    report = outcomes_compute(as_of=AS_OF)
    # then
    two_weeks, one_month, three_months = (overall(report, tp) for tp in ("2w", "1m", "3m"))
    assert (two_weeks.responders, two_weeks.responders_30) == (1, 1)
    assert (one_month.responders, one_month.responders_30) == (0, 1)
    assert (three_months.responders, three_months.responders_30, three_months.pgic_improved) == (0, 0, 1)


def test_an_ablation_with_baseline_0_is_closed_but_never_evaluable():
    ablation = make_ablation(patient=PatientFactory(), performed_on=ABLATED_ON, baseline_nrs=0)
    answer(ablation, day=90, pain=0)
    row = overall(outcomes_compute(as_of=AS_OF))
    assert (row.treatments, row.closed, row.evaluable) == (1, 1, 0)


def test_a_time_point_closes_the_day_after_its_window_ends():
    # given a 3-month answer; the window ends on day 120
    ablation = make_ablation(patient=PatientFactory(), performed_on=ABLATED_ON, baseline_nrs=8)
    answer(ablation, day=100, pain=2)
    last_day = ABLATED_ON + dt.timedelta(days=120)
    # when the report is run as of the last day, then the day after
    still_open = overall(outcomes_compute(as_of=last_day))
    closed = overall(outcomes_compute(as_of=last_day + dt.timedelta(days=1)))
    # then open time points are left out of every figure but the count of ablations
    assert (still_open.treatments, still_open.closed, still_open.evaluable) == (1, 0, 0)
    assert (closed.closed, closed.evaluable, closed.responders) == (1, 1, 1)


def test_a_denominator_of_0_is_null_in_json():
    # given one ablation whose time points are all still open
    make_ablation(patient=PatientFactory(), performed_on=ABLATED_ON, baseline_nrs=8)
    # when
    out = io.StringIO()
    call_command("outcomes_report", "--as-of", ABLATED_ON.isoformat(), stdout=out)
    data = json.loads(out.getvalue())
    # then rates and intervals are null, not 0
    row = next(r for r in data["response"] if r["group"] == "overall" and r["time_point"] == "3m")
    assert (row["treatments"], row["closed"], row["evaluable"]) == (1, 0, 0)
    assert row["rate"] is None and row["itt_rate"] is None and row["ci_low"] is None and row["ci_high"] is None
    assert all(band["rate"] is None for band in data["threshold_bands"])
    assert data["durability"][0] == {"group": "overall", "treatments": 0, "events": 0, "median_days": None}


def test_groups_by_nerve_and_physician_and_the_date_range():
    # given ablations of two nerves, one outside the date range
    patient = PatientFactory()
    cluneal = make_ablation(patient=patient, performed_on=ABLATED_ON, baseline_nrs=8)
    make_ablation(patient=patient, performed_on=ABLATED_ON, nerve=nerve("medial_branch"), baseline_nrs=8)
    make_ablation(patient=patient, performed_on=dt.date(2024, 1, 5), baseline_nrs=8)
    # when
    report = outcomes_compute(as_of=AS_OF, date_from=dt.date(2025, 1, 1), date_to=dt.date(2025, 12, 31))
    # then
    assert report.response_row("overall", "3m").treatments == 2
    assert report.response_row("nerve:superior_cluneal", "3m").treatments == 1
    assert report.response_row(f"physician:{cluneal.physician.username}", "3m").treatments == 1
    assert report.groups[0].key == "overall"


def test_drill_down_gives_the_ablations_behind_a_figure():
    # given a 3-month responder and a non-responder of superior cluneal, and a responder of medial branch
    patient = PatientFactory()
    responder = make_ablation(patient=patient, performed_on=ABLATED_ON, baseline_nrs=8)
    answer(responder, day=90, pain=2)
    other = make_ablation(patient=patient, performed_on=ABLATED_ON, side="right", baseline_nrs=8)
    answer(other, day=90, pain=7)
    medial = make_ablation(patient=patient, performed_on=ABLATED_ON, nerve=nerve("medial_branch"), baseline_nrs=8)
    answer(medial, day=90, pain=1)
    report = outcomes_compute(as_of=AS_OF)
    # when
    group = report.group("nerve:superior_cluneal")
    ids = ablation_ids_for(filters=report.filters, time_point="3m", measure="responders", group=group)
    # then the figure and its drill-down agree
    assert ids == [responder.pk]
    assert report.response_row("nerve:superior_cluneal", "3m").responders == 1
    assert sorted(ablation_ids_for(filters=report.filters, time_point="3m", measure="evaluable", group=group)) == (
        sorted([responder.pk, other.pk])
    )
    assert response_rate_3m_overall(filters=report.filters).responders == 2


# Intervals and durability


def test_wilson_interval():
    assert wilson_interval(5, 9) == pytest.approx((0.26665129349549305, 0.8112214789023355), abs=1e-12)
    assert wilson_interval(0, 0) == (None, None)
    low, high = wilson_interval(0, 4)
    assert low == 0.0 and 0 < high < 1


def test_kaplan_meier_durability_and_median():
    # given four ablations (baseline 10):
    #   A loses response at 3 months (day 90), B at 6 months (day 182), C is censored at 6 months (day 182),
    #   D responds at 2 weeks and has no other counted answer: censored at day 14
    patient = PatientFactory()
    sides = iter([("left", "superior_cluneal"), ("right", "superior_cluneal"), ("left", "medial_branch"),
                  ("right", "medial_branch")])  # fmt: skip
    ablations = []
    for side, code in sides:
        ablations.append(
            make_ablation(patient=patient, performed_on=ABLATED_ON, side=side, nerve=nerve(code), baseline_nrs=10)
        )
    a, b, c, d = ablations
    answer(a, day=30, pain=2)
    answer(a, day=90, pain=6)
    answer(a, day=182, pain=2)  # after the loss of response: the first non-responder is the event
    answer(b, day=90, pain=3)
    answer(b, day=182, pain=8)
    answer(c, day=182, pain=1)
    answer(d, day=14, pain=1)
    # when
    durability = outcomes_compute(as_of=AS_OF).durability
    # then: at day 14, 4 at risk, censored 1; at 90, 3 at risk, 1 event -> 2/3; at 182, 2 at risk, 1 event -> 1/3
    assert (durability.treatments, durability.events) == (4, 2)
    assert [(s.day, s.at_risk, s.events) for s in durability.curve] == [(14, 4, 0), (90, 3, 1), (182, 2, 1)]
    assert durability.curve[-1].survival == pytest.approx(1 / 3)
    assert durability.median_days == 182


def test_the_durability_table_reads_the_estimate_on_each_time_point_s_target_day(admin_user, client):
    # given the four ablations of the test above: losses at days 90 and 182, censored at 14 and 182
    patient = PatientFactory()
    for side, code, answers in [
        ("left", "superior_cluneal", [(30, 2), (90, 6), (182, 2)]),
        ("right", "superior_cluneal", [(90, 3), (182, 8)]),
        ("left", "medial_branch", [(182, 1)]),
        ("right", "medial_branch", [(14, 1)]),
    ]:
        ablation = make_ablation(
            patient=patient, performed_on=ABLATED_ON, side=side, nerve=nerve(code), baseline_nrs=10
        )
        for day, pain in answers:
            answer(ablation, day=day, pain=pain)
    durability = outcomes_compute(as_of=AS_OF).durability
    # when the estimate is read on a day: the last step on or before it, and the losses up to it
    # then: before the first step, all responding; between steps, the earlier one; past the last, not followed
    assert durability.at_day(13) == (None, 0)
    assert durability.at_day(30) == (durability.curve[0], 0)
    assert durability.at_day(90) == (durability.curve[1], 1)
    assert durability.at_day(182) == (durability.curve[2], 2)
    assert durability.at_day(183) is None
    # and the dashboard's table shows one row per time point, in words
    client.force_login(admin_user)
    html = client.get(reverse("reports:dashboard"), {"physician": ""}).content.decode()
    table = re.search(r'<table[^>]*id="durability-landmarks".*?</table>', html, re.S).group(0)
    rows = [re.sub(r"<[^>]+>", "|", row) for row in re.findall(r"<tr>(.*?)</tr>", table, re.S)[1:]]
    cells = [[c.strip() for c in row.split("|") if c.strip()] for row in rows]
    assert cells[0][:2] == ["2 weeks (day 14)", "100.0%"]
    assert [c[1] for c in cells[2:]] == ["66.7%", "33.3%", "not followed this long"]
    assert [c[-1] for c in cells[2:]] == ["1", "2", "—"]


def test_durability_counts_only_the_time_points_closed_at_as_of():
    # given an ablation that responds at 3 months and has lost its response at 6 months
    ablation = make_ablation(patient=PatientFactory(), performed_on=ABLATED_ON, baseline_nrs=10)
    answer(ablation, day=90, pain=2)
    answer(ablation, day=182, pain=8)
    closes = {f.time_point: f.window_end for f in ablation.follow_ups.all()}
    # when the 3-month window has closed but not the 6-month one: censored at day 90
    filters = outcomes_filters(as_of=closes["6m"])
    durability = outcomes_compute(as_of=closes["6m"]).durability
    assert [(s.day, s.events, s.censored) for s in durability.curve] == [(90, 0, 1)]
    assert durability_ablation_ids_for(filters=filters, measure="censored") == [ablation.pk]
    # when the 6-month one has closed too: the event at day 182
    filters = outcomes_filters(as_of=closes["6m"] + dt.timedelta(days=1))
    durability = outcomes_compute(as_of=filters.as_of).durability
    assert [(s.day, s.events, s.censored) for s in durability.curve] == [(182, 1, 0)]
    assert durability_ablation_ids_for(filters=filters, measure="events") == [ablation.pk]
    # before any window has closed, it is not in the estimate
    assert outcomes_compute(as_of=closes["3m"]).durability.treatments == 0


def test_the_median_s_interval_runs_from_the_band_s_lower_to_its_upper_limit():
    # 100 ablations at risk: 10 lose their response on each of days 10, 20, ..., 100
    days = [{"day": day, "events": 10, "censored": 0} for day in range(10, 101, 10)]
    durability = _durability(days)
    low, high = durability.median_ci
    assert durability.median_days == 50
    assert low is not None and high is not None and low <= 50 <= high
    assert low < high


def test_durability_median_is_none_when_the_estimate_stays_above_half():
    ablation = make_ablation(patient=PatientFactory(), performed_on=ABLATED_ON, baseline_nrs=10)
    answer(ablation, day=90, pain=2)
    durability = outcomes_compute(as_of=AS_OF).durability
    assert (durability.treatments, durability.events, durability.median_days) == (1, 0, None)
