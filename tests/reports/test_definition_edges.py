"""The edges of outcome-definitions.md and data-exchange.md that tests/reports/test_outcomes.py and
tests/registry/test_import.py leave open: the diary window's first minute, the qualifying block's day counted in the
clinic's time zone and under the protocol's threshold, the counted survey whatever the order answers were recorded
in, window bounds, the threshold bands' edges, intention to treat beside completers, responders_30 and PGIC, where
an ablation stands in the durability estimate, "—" beside 0.0%, and imports that must change nothing."""

from __future__ import annotations

import datetime as dt
import io
import json
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.urls import reverse

from apps.accounts.models import User
from apps.audit.models import (
    CryoablationEvent,
    DiagnosticBlockEvent,
    DiaryEntryEvent,
    FollowUpEvent,
    PatientEvent,
    SurveyResponseEvent,
)
from apps.blocks.models import BlockPeakRelief, DiagnosticBlock, DiaryEntry
from apps.clinic.selectors import protocol_get
from apps.cryoablations.models import Cryoablation, FollowUp, QualifyingSource
from apps.patients.models import Patient
from apps.registry.services import registry_import
from apps.reminders.models import Message
from apps.reports.models import DurabilityStep, FollowUpFact, TreatmentFact
from apps.reports.outcomes import (
    ablation_ids_for,
    band_ablation_ids_for,
    block_ids_for,
    durability_ablation_ids_for,
    outcomes_compute,
    wilson_interval,
)
from apps.reports.presentation import percent
from apps.surveys.models import CollectedVia, SurveyResponse
from apps.surveys.services import counted_responses_refresh, response_record
from tests.factories import BlockFactory, PatientFactory, make_ablation
from tests.registry.test_import import ABLATIONS, BLOCKS, PATIENTS, RESPONSES, write  # header rows, folder writer

pytestmark = pytest.mark.django_db

NEW_YORK = ZoneInfo("America/New_York")  # the clinic's time zone (settings.TIME_ZONE)
LOS_ANGELES = ZoneInfo("America/Los_Angeles")
ABLATED_ON = dt.date(2025, 1, 10)
AS_OF = dt.date(2026, 6, 30)  # every window of an ablation on ABLATED_ON has closed


def at(day: dt.date, hour: int = 10, minute: int = 0, tz: ZoneInfo = NEW_YORK) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=tz)


def block(patient, *, days_before: int = 20, diary=((30, 2),), baseline: int = 8, hour: int = 10, minute: int = 0,
          **fields):  # fmt: skip
    """A block `days_before` the ablation date at hour:minute New York time; the default diary gives 75% relief."""
    return BlockFactory(
        patient=patient,
        performed_at=at(ABLATED_ON - dt.timedelta(days=days_before), hour, minute),
        diary=list(diary),
        baseline_nrs=baseline,
        **fields,
    )


def answer(ablation, *, day: int, pain: int, pgic: int | None = None, hour: int = 10, minute: int = 0,
           tz: ZoneInfo = NEW_YORK):  # fmt: skip
    completed = at(ablation.performed_on + dt.timedelta(days=day), hour, minute, tz)
    return response_record(
        ablation=ablation, completed_at=completed, pain_average=pain, pgic=pgic, collected_via=CollectedVia.PHONE
    )


def ablation(*, baseline: int = 8, performed_on: dt.date = ABLATED_ON, patient=None, **fields):
    return make_ablation(
        patient=patient or PatientFactory(), performed_on=performed_on, baseline_nrs=baseline, **fields
    )


def overall(report, time_point: str = "3m"):
    return report.response_row("overall", time_point)


def funnel_overall(report):
    return next(row for row in report.funnel if row.group == "overall")


def counted(ablation_, time_point: str):
    return FollowUp.objects.get(ablation=ablation_, time_point=time_point).counted_response


def report_json(*args: str) -> dict:
    out = io.StringIO()
    call_command("outcomes_report", "--format", "json", *args, stdout=out)
    return json.loads(out.getvalue())


def json_row(data: dict, group: str = "overall", time_point: str = "3m") -> dict:
    return next(r for r in data["response"] if r["group"] == group and r["time_point"] == time_point)


# ---------------------------------------------------------------------------------------------------------------
# Diagnostic block: the evaluation window includes its first minute


def test_a_diary_entry_at_minute_0_is_inside_the_window():
    # given a block whose only relief is at 0 minutes (50% of 8), and one whose only entry is at 361 minutes
    patient = PatientFactory()
    at_zero = block(patient, diary=[(0, 4)])
    block(patient, diary=[(361, 0)], side="right")
    # when
    report = outcomes_compute(as_of=AS_OF)
    # then the first is evaluable and positive (both ends of 0..360 are included), the second not evaluable
    assert (funnel_overall(report).evaluable, funnel_overall(report).positive) == (1, 1)
    assert block_ids_for(filters=report.filters, measure="positive") == [at_zero.pk]


# ---------------------------------------------------------------------------------------------------------------
# Qualifying block


def test_a_block_on_the_ablation_day_qualifies_and_one_after_it_does_not():
    # given a positive block 30 days before, one on the ablation's own day (0 days), and one the day after
    patient = PatientFactory()
    block(patient, days_before=30)
    same_day = block(patient, days_before=0, hour=8)
    block(patient, days_before=-1)
    # when
    recorded = ablation(patient=patient)
    # then the latest block dated 0..180 days before is the one of the same day
    assert recorded.qualifying_block == same_day


def test_the_180_days_are_counted_on_the_clinic_s_dates_not_utc():
    # given a positive block at 23:30 New York time 181 days before the ablation (04:30 UTC, 180 days before)
    late = PatientFactory()
    late_block = block(late, days_before=181, hour=23, minute=30)
    assert (ABLATED_ON - late_block.performed_at.astimezone(dt.UTC).date()).days == 180
    # and one at 00:30 New York time 180 days before
    early = PatientFactory()
    early_block = block(early, days_before=180, hour=0, minute=30)
    # when ablations are recorded
    # then the 181-day one does not qualify, the 180-day one does
    assert ablation(patient=late).qualifying_block is None
    assert ablation(patient=early).qualifying_block == early_block


def test_the_qualifying_block_is_chosen_under_the_protocol_s_threshold_and_stays_stored():
    # given an older 87.5% block and a newer 62.5% one, under a protocol that asks for 80%
    protocol = protocol_get()
    protocol.block_threshold_percent = 80
    protocol.save()
    patient = PatientFactory()
    strict = block(patient, days_before=60, diary=[(30, 1)])
    block(patient, days_before=10, diary=[(30, 3)])
    # when the ablation is recorded
    recorded = ablation(patient=patient)
    # then the older one, the latest positive at 80%, is chosen
    assert recorded.qualifying_block == strict
    # when the protocol goes back to 50%
    protocol.block_threshold_percent = 50
    protocol.save()
    # then the stored choice does not move
    recorded.refresh_from_db()
    assert (recorded.qualifying_block, recorded.qualifying_source) == (strict, QualifyingSource.RULE)


def test_a_named_positive_block_older_than_180_days_counts_as_ablated_and_in_its_band():
    # given a 100% block 300 days before, named by staff, and a 3-month responder
    patient = PatientFactory()
    named = block(patient, days_before=300, baseline=10, diary=[(30, 0)])
    recorded = ablation(patient=patient, qualifying_block=named)
    answer(recorded, day=90, pain=2)
    # when
    report = outcomes_compute(as_of=AS_OF)
    # then the block is ablated (a positive block an ablation names) and the ablation is in the 80-100 band
    assert recorded.qualifying_source == QualifyingSource.STAFF
    assert block_ids_for(filters=report.filters, measure="ablated") == [named.pk]
    bands = {b.band: (b.evaluable_3m, b.responders_3m) for b in report.threshold_bands}
    assert bands == {"50-69": (0, 0), "70-79": (0, 0), "80-100": (1, 1)}


# ---------------------------------------------------------------------------------------------------------------
# Follow-ups: which survey counts


def test_the_survey_completed_last_counts_whatever_the_order_they_were_recorded_in():
    # given a non-responder on day 110 recorded first, then a responder on day 80 recorded after it
    recorded = ablation()
    latest = answer(recorded, day=110, pain=7)
    answer(recorded, day=80, pain=1)
    # when
    row = overall(outcomes_compute(as_of=AS_OF))
    # then the one completed last counts
    assert counted(recorded, "3m") == latest
    assert (row.evaluable, row.responders) == (1, 0)


def test_on_equal_completion_times_the_survey_recorded_last_counts():
    # given two surveys completed at the same time: a responder recorded first, a non-responder recorded after
    recorded = ablation()
    first = answer(recorded, day=90, pain=1)
    second = answer(recorded, day=90, pain=7)
    # then the one recorded last counts
    assert counted(recorded, "3m") == second
    assert overall(outcomes_compute(as_of=AS_OF)).responders == 0
    # when the records say the first one was in fact recorded later
    SurveyResponse.objects.filter(pk=first.pk).update(recorded_at=second.recorded_at + dt.timedelta(minutes=5))
    counted_responses_refresh(follow_ups=recorded.follow_ups.all())
    # then it is the one that counts
    assert counted(recorded, "3m") == first
    assert overall(outcomes_compute(as_of=AS_OF)).responders == 1


@pytest.mark.parametrize(
    ("day", "time_point"),
    [(9, None), (10, "2w"), (21, "2w"), (22, "1m"), (45, "1m"), (46, None), (74, None), (75, "3m"), (120, "3m"),
     (121, None), (149, None), (150, "6m"), (210, "6m"), (211, None), (329, None), (330, "12m"), (400, "12m"),
     (401, None)],
)  # fmt: skip
def test_a_survey_counts_for_the_time_point_whose_window_holds_its_day_both_ends_included(day, time_point):
    # given
    recorded = ablation()
    # when a survey is completed `day` days after the ablation
    response = answer(recorded, day=day, pain=2)
    # then it lands on that window's follow-up, or none (unscheduled, kept and never counted)
    assert (response.follow_up.time_point if response.follow_up else None) == time_point
    report = outcomes_compute(as_of=AS_OF)
    evaluable = {tp: overall(report, tp).evaluable for tp in ("2w", "1m", "3m", "6m", "12m")}
    assert evaluable == {tp: int(tp == time_point) for tp in evaluable}
    assert SurveyResponse.objects.filter(pk=response.pk).exists()


def test_a_survey_at_23_30_on_the_last_day_of_2_weeks_stays_in_2_weeks():
    # given a survey at 23:30 New York time on day 21: 04:30 UTC on day 22, the first day of the 1-month window
    recorded = ablation()
    response = answer(recorded, day=21, pain=2, hour=23, minute=30)
    assert response.completed_at.astimezone(dt.UTC).date() == ABLATED_ON + dt.timedelta(days=22)
    # when
    report = outcomes_compute(as_of=AS_OF)
    # then it counts for 2 weeks, not for 1 month
    assert response.follow_up.time_point == "2w"
    assert (overall(report, "2w").evaluable, overall(report, "1m").evaluable) == (1, 0)


def test_days_are_the_clinic_s_whatever_the_patient_s_own_time_zone():
    # given a patient in Los Angeles answering at 21:30 their time on day 21: 00:30 on day 22 in New York
    recorded = ablation(patient=PatientFactory(timezone="America/Los_Angeles"))
    response = answer(recorded, day=21, pain=2, hour=21, minute=30, tz=LOS_ANGELES)
    # then the day is the clinic's: day 22, the 1-month window
    assert response.follow_up.time_point == "1m"


# ---------------------------------------------------------------------------------------------------------------
# Response rates: completers and intention to treat, responders_30, PGIC


def test_intention_to_treat_counts_every_closed_time_point_and_completers_only_the_evaluable():
    # given at 3 months: a responder, a non-responder, one without a survey, one with baseline 0 (closed, not
    # evaluable), and one whose 3-month window is still open at AS_OF (with a survey)
    responder = ablation()
    answer(responder, day=90, pain=2)
    non_responder = ablation()
    answer(non_responder, day=90, pain=6)
    missing = ablation()
    zero = ablation(baseline=0)
    answer(zero, day=90, pain=0)
    still_open = ablation(performed_on=AS_OF - dt.timedelta(days=100))
    answer(still_open, day=90, pain=1)
    # when
    report = outcomes_compute(as_of=AS_OF)
    data = report_json("--as-of", AS_OF.isoformat())
    # then completers: 1 of 2 evaluable; intention to treat: 1 of the 4 closed (a missing survey is non-response)
    row = overall(report)
    assert (row.treatments, row.closed, row.evaluable, row.responders) == (5, 4, 2, 1)
    assert row.rate == 0.5 and row.itt_rate == 0.25
    filters = report.filters
    assert sorted(ablation_ids_for(filters=filters, time_point="3m", measure="closed")) == sorted(
        [responder.pk, non_responder.pk, missing.pk, zero.pk]
    )
    assert ablation_ids_for(filters=filters, time_point="3m", measure="responders") == [responder.pk]
    # and the JSON carries the same, with the Wilson interval of the completers' rate
    got = json_row(data)
    assert (got["treatments"], got["closed"], got["evaluable"], got["responders"]) == (5, 4, 2, 1)
    assert (got["rate"], got["itt_rate"]) == (0.5, 0.25)
    assert (got["ci_low"], got["ci_high"]) == pytest.approx(wilson_interval(1, 2), abs=1e-12)


def test_responders_30_and_pgic_improved_at_their_edges():
    # given 3-month surveys (the score: average pain over the past 24 hours)
    cases = {
        "30%, PGIC 1": (10, 7, 1),  # moderate only; PGIC very much improved
        "20%, PGIC 3": (10, 8, 3),  # neither; PGIC minimally improved does not count
        "28.6%": (7, 5, None),  # just below 30%
        "33.3%": (3, 2, None),  # a repeating fraction above 30%
        "50% of 6, PGIC 2": (6, 3, 2),  # substantial (and moderate); PGIC much improved
        "worse": (4, 6, 7),  # a negative reduction
    }
    ids = {}
    for name, (baseline, pain, pgic) in cases.items():
        ids[name] = ablation(baseline=baseline)
        answer(ids[name], day=90, pain=pain, pgic=pgic)
    # a PGIC 1 on an earlier survey of the window that no longer counts, and on a baseline-0 ablation
    superseded = ablation(baseline=10)
    answer(superseded, day=80, pain=5, pgic=1)
    answer(superseded, day=100, pain=5, pgic=4)
    zero = ablation(baseline=0)
    answer(zero, day=90, pain=0, pgic=1)
    # when
    report = outcomes_compute(as_of=AS_OF)
    filters = report.filters
    # then
    row = overall(report)
    assert (row.closed, row.evaluable, row.responders, row.responders_30, row.pgic_improved) == (8, 7, 2, 4, 2)

    def drill(measure):
        return sorted(ablation_ids_for(filters=filters, time_point="3m", measure=measure))

    assert drill("responders") == sorted([ids["50% of 6, PGIC 2"].pk, superseded.pk])
    assert drill("responders_30") == sorted(
        [ids["30%, PGIC 1"].pk, ids["33.3%"].pk, ids["50% of 6, PGIC 2"].pk, superseded.pk]
    )
    assert drill("pgic_improved") == sorted([ids["30%, PGIC 1"].pk, ids["50% of 6, PGIC 2"].pk])
    got = json_row(report_json("--as-of", AS_OF.isoformat()))
    assert (got["responders"], got["responders_30"], got["pgic_improved"]) == (2, 4, 2)


def test_pgic_and_responders_30_of_an_open_time_point_are_not_counted():
    # given a 3-month survey of 30% with PGIC 1, its window still open at the as-of date
    recorded = ablation(baseline=10)
    answer(recorded, day=90, pain=7, pgic=1)
    as_of = ABLATED_ON + dt.timedelta(days=120)
    # when
    row = overall(outcomes_compute(as_of=as_of))
    # then nothing is counted until the window has closed
    assert (row.treatments, row.closed, row.evaluable, row.responders_30, row.pgic_improved) == (1, 0, 0, 0, 0)
    after = overall(outcomes_compute(as_of=as_of + dt.timedelta(days=1)))
    assert (after.closed, after.evaluable, after.responders_30, after.pgic_improved) == (1, 1, 1, 1)


# ---------------------------------------------------------------------------------------------------------------
# Denominator of 0: "—" on screen, null in JSON, and 0 is not "—"


def test_a_closed_time_point_without_surveys_shows_a_dash_for_completers_and_0_percent_for_itt(client, admin_user):
    # given one ablation whose 3-month window has closed without a survey
    ablation()
    client.force_login(admin_user)
    # when
    response = client.get(reverse("reports:dashboard"), {"as_of": AS_OF.isoformat()})
    data = report_json("--as-of", AS_OF.isoformat())
    # then the completers' rate and its interval have no denominator ("—", null); intention to treat is 0 of 1
    row = next(r for r in response.context["response_rows"] if r["time_point"] == "3m")
    assert (row["rate"], row["ci"]) == ("—", "—")
    assert row["itt_rate"] == percent(0.0) == "0.0%"
    got = json_row(data)
    assert (got["closed"], got["evaluable"]) == (1, 0)
    assert got["rate"] is None and got["ci_low"] is None and got["ci_high"] is None
    assert got["itt_rate"] == 0.0


def test_rates_are_shown_half_up_to_one_decimal():
    assert percent(1 / 16) == "6.3%"  # 6.25: half-up, not to even
    assert percent(1 / 8) == "12.5%"
    assert percent(2 / 3) == "66.7%"
    assert percent(None) == "—"


# ---------------------------------------------------------------------------------------------------------------
# Threshold bands


BAND_CASES = [
    # (baseline, best diary score, peak relief, band or None when left out)
    (10, 5, "50%", "50-69"),
    (9, 3, "66.7%", "50-69"),  # the largest NRS relief below 70%
    (10, 3, "70%", "70-79"),
    (9, 2, "77.8%", "70-79"),  # the largest NRS relief below 80%
    (5, 1, "80%", "80-100"),
    (10, 0, "100%", "80-100"),
    (9, 5, "44.4%", None),  # below 50%: left out (named by staff, so it is the qualifying block)
    (0, 0, "not evaluable", None),  # baseline 0: no peak relief, left out (named by staff)
]


def test_threshold_band_edges():
    # given one ablation per case, each qualified by a block of that peak relief, each a 3-month responder except
    # the 80% and 66.7% ones
    in_band: dict[str, set[int]] = {"50-69": set(), "70-79": set(), "80-100": set()}
    responders: dict[str, set[int]] = {"50-69": set(), "70-79": set(), "80-100": set()}
    for baseline, score, peak, band in BAND_CASES:
        patient = PatientFactory()
        qualifying = block(patient, baseline=baseline, diary=[(30, score)])
        named = qualifying if band is None else None
        recorded = ablation(patient=patient, qualifying_block=named)
        assert recorded.qualifying_block == qualifying, peak
        responds = peak not in ("80%", "66.7%")
        answer(recorded, day=90, pain=2 if responds else 7)
        if band:
            in_band[band].add(recorded.pk)
            if responds:
                responders[band].add(recorded.pk)
    # when the report is run at the protocol's 50% and at 80%
    for threshold in (None, 80):
        report = outcomes_compute(as_of=AS_OF, threshold=threshold)
        # then lower bounds are inclusive, upper exclusive, 100% is in 80-100, below 50% and none are left out,
        # whatever the positive-block threshold
        bands = {b.band: (b.evaluable_3m, b.responders_3m) for b in report.threshold_bands}
        assert bands == {"50-69": (2, 1), "70-79": (2, 2), "80-100": (2, 1)}, threshold
        for band, ids in in_band.items():
            got = band_ablation_ids_for(filters=report.filters, band=band, measure="evaluable_3m")
            assert set(got) == ids, (threshold, band)
            got = band_ablation_ids_for(filters=report.filters, band=band, measure="responders_3m")
            assert set(got) == responders[band], (threshold, band)
        assert overall(report).evaluable == len(BAND_CASES)
    rates = {b["band"]: b["rate"] for b in report_json("--as-of", AS_OF.isoformat())["threshold_bands"]}
    assert rates == {"50-69": 0.5, "70-79": 1.0, "80-100": 0.5}


# ---------------------------------------------------------------------------------------------------------------
# Durability (Kaplan-Meier)


def test_durability_time_is_to_the_survey_s_completion_censored_at_the_last_responder():
    # given (baseline 10):
    #   A responds at 2 weeks, 1 month and 3 months, the last at 23:30 New York time on day 95 (UTC: day 96):
    #     censored at day 95, its last counted responder
    #   B responds at 1 month, then has lost its response on day 100 (3-month window, target day 90): event at 100
    #   C responds at 2 weeks; a non-responding survey on day 50 is between windows, never counted: censored at 14
    a, b, c = ablation(baseline=10), ablation(baseline=10), ablation(baseline=10)
    answer(a, day=14, pain=1)
    answer(a, day=30, pain=2)
    answer(a, day=95, pain=3, hour=23, minute=30)
    answer(b, day=30, pain=2)
    answer(b, day=100, pain=8)
    answer(c, day=14, pain=2)
    answer(c, day=50, pain=9)
    # and ablations left out: none counted (windows closed, no survey), baseline 0 with surveys, an unscheduled
    # survey only
    ablation(baseline=10)
    zero = ablation(baseline=0)
    answer(zero, day=90, pain=0)
    unscheduled = ablation(baseline=10)
    answer(unscheduled, day=60, pain=9)
    # when
    report = outcomes_compute(as_of=AS_OF)
    durability = report.durability
    # then
    assert (durability.treatments, durability.events) == (3, 1)
    assert [(s.day, s.at_risk, s.events, s.censored) for s in durability.curve] == [
        (14, 3, 0, 1),
        (95, 2, 0, 1),
        (100, 1, 1, 0),
    ]
    assert durability.curve[-1].survival == 0.0
    assert durability.median_days == 100
    assert sorted(durability_ablation_ids_for(filters=report.filters, measure="ablations")) == sorted(
        [a.pk, b.pk, c.pk]
    )
    assert durability_ablation_ids_for(filters=report.filters, measure="events") == [b.pk]
    assert report_json("--as-of", AS_OF.isoformat())["durability"][0] == {
        "group": "overall",
        "treatments": 3,
        "events": 1,
        "median_days": 100,
    }


def test_the_first_non_responder_is_the_event_even_when_a_later_survey_responds_again():
    # given an ablation that does not respond at 2 weeks (day 12), responds at 1 month and 3 months
    recorded = ablation(baseline=10)
    answer(recorded, day=12, pain=9)
    answer(recorded, day=30, pain=1)
    answer(recorded, day=90, pain=1)
    # when
    durability = outcomes_compute(as_of=AS_OF).durability
    # then the loss of response is at day 12
    assert [(s.day, s.events, s.censored) for s in durability.curve] == [(12, 1, 0)]
    assert durability.median_days == 12


def test_the_median_is_the_first_time_the_estimate_reaches_one_half():
    # given two ablations: one loses its response on day 90, the other is censored on day 182
    lost, kept = ablation(baseline=10), ablation(baseline=10)
    answer(lost, day=90, pain=9)
    answer(kept, day=182, pain=1)
    # when
    durability = outcomes_compute(as_of=AS_OF).durability
    # then the estimate is exactly 0.5 on day 90: the median
    assert [(s.day, s.survival) for s in durability.curve] == [(90, 0.5), (182, 0.5)]
    assert durability.median_days == 90


# ---------------------------------------------------------------------------------------------------------------
# Import


FILES = {
    "patients.csv": [PATIENTS, "R1,Ana,Diaz,1970-01-02,F,ana@example.org,,email,"],
    "blocks.csv": [
        BLOCKS,
        "K1,R1,2025-01-01T10:00,dr_new,superior_cluneal,left,ultrasound,lidocaine,2,1,25,8,30:6",  # 25%
        "K2,R1,2025-02-01T10:00,dr_new,superior_cluneal,left,ultrasound,lidocaine,2,1,25,8,30:1",  # 87.5%
    ],
    "ablations.csv": [ABLATIONS, "X1,R1,2025-03-10,dr_new,superior_cluneal,left,8,cryo,27G,2,120,"],
    "survey_responses.csv": [RESPONSES, "R1,X1,2025-06-10T10:00,2,,,,1", "R1,X1,2025-06-20T10:00,7,,,,"],
}


def with_rows(**extra: list[str]) -> dict[str, list[str]]:
    files = {name: list(lines) for name, lines in FILES.items()}
    for key, lines in extra.items():
        files[f"{key}.csv"] += lines
    return files


SNAPSHOT_MODELS = [
    Patient, DiagnosticBlock, DiaryEntry, Cryoablation, FollowUp, SurveyResponse, User, BlockPeakRelief,
    FollowUpFact, DurabilityStep, TreatmentFact, Message, PatientEvent, DiagnosticBlockEvent, DiaryEntryEvent,
    CryoablationEvent, FollowUpEvent, SurveyResponseEvent,
]  # fmt: skip


def snapshot() -> dict[str, list[dict]]:
    """Every row, every column, of the registry's tables, the figures' derived rows, reminders and history."""
    return {m.__name__: list(m.objects.order_by("pk").values()) for m in SNAPSHOT_MODELS}


def test_an_answer_naming_another_patient_s_ablation_is_refused(tmp_path):
    # given a second patient, and an answer of theirs naming the first patient's ablation
    files = with_rows(patients=["R2,Bo,Li,1970-01-01,M,,,none,"], survey_responses=["R2,X1,2025-06-17T10:00,2,,,,"])
    # when
    result = registry_import(folder=write(tmp_path / "export", files))
    # then
    messages = [str(p) for p in result.problems]
    assert "survey_responses.csv:4: mrn: Treatment X1 is of another patient." in messages
    assert not Patient.objects.exists()


def test_a_refused_import_into_a_registry_with_data_changes_nothing(tmp_path):
    # given the files imported once
    assert registry_import(folder=write(tmp_path / "first", FILES)).ok
    x1 = Cryoablation.objects.get(external_id="X1")
    assert (x1.qualifying_block.external_id, counted(x1, "3m").pain_average) == ("K2", 7)
    before = snapshot()
    # when new files come with a new patient, a new block, a new answer that would count for X1, and one bad row
    files = with_rows(
        patients=["R2,Bo,Li,1970-01-01,M,,,none,"],
        blocks=["K3,R2,2025-02-01T10:00,dr_other,tibial,left,ultrasound,,,,,8,30:0"],
        survey_responses=["R1,X1,2025-07-05T10:00,0,,,,1"],
        ablations=["X2,R2,2025-03-10,dr_other,tibial,left,8,,,0,120,"],  # cycles 0: refused
    )
    result = registry_import(folder=write(tmp_path / "second", files))
    # then the import is refused and not one row, derived row, history event or account was written
    assert [str(p) for p in result.problems] == ["ablations.csv:3: cycles: It must be at least 1."]
    assert snapshot() == before
    assert not User.objects.filter(username="dr_other").exists()


def test_a_second_import_of_the_same_files_changes_no_row_at_all(tmp_path):
    # given the files imported once
    folder = write(tmp_path / "export", FILES)
    assert registry_import(folder=folder).ok
    before = snapshot()
    # when they are imported again
    result = registry_import(folder=folder)
    # then every row is matched, and every row of every table (history included) is as it was
    assert result.ok
    assert result.counts["patients.csv"] == {"created": 0, "matched": 1}
    assert result.counts["survey_responses.csv"]["created"] == 0
    assert result.created_physicians == []
    assert snapshot() == before


def test_an_import_picks_the_qualifying_block_on_the_clinic_s_dates_under_the_protocol_s_threshold(tmp_path):
    # given, for ablations on 2025-03-10: left superior cluneal blocks K2 (87.5%, 120 days before) and K3 (62.5%,
    # 10 days before); a right-side block K4 at 00:30 New York time 180 days before; a middle cluneal block K5 at
    # 23:30 New York time 181 days before (03:30 UTC: 180 days before in UTC); a protocol asking for 80%
    protocol = protocol_get()
    protocol.block_threshold_percent = 80
    protocol.save()
    files = {
        "patients.csv": FILES["patients.csv"],
        "blocks.csv": [
            BLOCKS,
            "K2,R1,2024-11-10T10:00,dr_new,superior_cluneal,left,,,,,,8,30:1",
            "K3,R1,2025-02-28T10:00,dr_new,superior_cluneal,left,,,,,,8,30:3",
            "K4,R1,2024-09-11T00:30,dr_new,superior_cluneal,right,,,,,,8,30:1",
            "K5,R1,2024-09-10T23:30,dr_new,middle_cluneal,left,,,,,,8,30:1",
        ],
        "ablations.csv": [
            ABLATIONS,
            "X1,R1,2025-03-10,dr_new,superior_cluneal,left,8,,,2,120,",
            "X2,R1,2025-03-10,dr_new,superior_cluneal,right,8,,,2,120,",
            "X3,R1,2025-03-10,dr_new,middle_cluneal,left,8,,,2,120,",
        ],
        "survey_responses.csv": [RESPONSES],
    }
    # when
    result = registry_import(folder=write(tmp_path / "export", files))
    # then X1 gets K2 (K3 is below the protocol's 80%), X2 gets K4 (180 days), X3 none (K5: 181 days on the
    # clinic's calendar)
    assert result.ok, result.problems
    picked = dict(Cryoablation.objects.values_list("external_id", "qualifying_block__external_id"))
    assert picked == {"X1": "K2", "X2": "K4", "X3": None}
