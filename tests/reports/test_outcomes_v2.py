"""The outcomes report, version 2 (outcome-definitions.md "Version 2" and its exact readings; data-exchange.md "Report,
version 2"): every treatment kind through one engine, groups and a filter by kind, superseded time points, durability
with the repeat rule, time to repeat treatment and adverse events."""

from __future__ import annotations

import datetime as dt
import io
import json
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from apps.adverse_events.models import AdverseEvent
from apps.reports.outcomes import block_ids_for, durability_ablation_ids_for, outcomes_compute, wilson_interval
from apps.surveys.models import CollectedVia
from apps.surveys.services import response_record
from tests.factories import BlockFactory, PatientFactory, make_ablation, nerve

pytestmark = pytest.mark.django_db

NEW_YORK = ZoneInfo("America/New_York")
TREATED_ON = dt.date(2025, 1, 10)
AS_OF = dt.date(2026, 6, 30)  # every window of a treatment in 2025 has closed


def day(n: int) -> dt.date:
    return TREATED_ON + dt.timedelta(days=n)


def answer(treatment, *, on_day: int, pain: int):
    completed = dt.datetime.combine(treatment.performed_on + dt.timedelta(days=on_day), dt.time(10), tzinfo=NEW_YORK)
    return response_record(
        ablation=treatment, completed_at=completed, pain_average=pain, collected_via=CollectedVia.PHONE
    )


def treatment(patient, *, on: int = 0, kind: str = "rf_conventional", **fields):
    fields.setdefault("nerve", nerve("superior_cluneal"))
    return make_ablation(patient=patient, performed_on=day(on), kind=kind, **fields)


def report_json(*args: str) -> dict:
    out = io.StringIO()
    call_command("outcomes_report", "--format", "json", "--as-of", AS_OF.isoformat(), *args, stdout=out)
    return json.loads(out.getvalue())


def rows(data: dict, section: str, *keys: str) -> dict:
    return {tuple(r[k] for k in keys) if len(keys) > 1 else r[keys[0]]: r for r in data[section]}


# Superseded time points


def test_a_superseded_time_point_stays_closed_counts_as_itt_non_responder_and_leaves_evaluable():
    # given an RF treatment answered at 3 months on day 110, after a repeat on day 100 (its 3-month window began on
    # day 75, before the repeat: the answer counts), and at 6 months on day 180 (a window begun after the repeat: the
    # answer counts for nothing), repeated by a cryoablation of the same nerve and side on day 100
    patient = PatientFactory()
    first = treatment(patient, baseline_nrs=8)
    answer(first, on_day=110, pain=2)
    answer(first, on_day=180, pain=2)
    treatment(patient, on=100, kind="cryoablation", side=first.side)

    # when
    data = report_json()

    # then at 6 months both treatments are closed, the first superseded: in ITT a non-responder, not evaluable
    response = rows(data, "response", "group", "time_point")
    six = response[("overall", "6m")]
    assert (six["treatments"], six["closed"], six["superseded"], six["evaluable"], six["responders"]) == (2, 2, 1, 0, 0)
    assert (six["rate"], six["itt_rate"]) == (None, 0.0)
    # and at 3 months the answer after the repeat date counts (the window began before it)
    three = response[("overall", "3m")]
    assert (three["closed"], three["superseded"], three["evaluable"], three["responders"]) == (2, 0, 1, 1)
    assert three["itt_rate"] == 0.5
    # and the kinds are groups of their own
    assert response[("kind:rf_conventional", "6m")]["superseded"] == 1
    assert response[("kind:cryoablation", "6m")]["superseded"] == 0
    assert response[("kind:cryoablation", "6m")]["closed"] == 1


def test_a_repeat_of_another_kind_supersedes_under_a_kind_filter_too():
    # given an RF treatment repeated by a cryoablation on day 100
    patient = PatientFactory()
    first = treatment(patient, baseline_nrs=8)
    treatment(patient, on=100, kind="cryoablation", side=first.side)

    # when the report keeps RF treatments only
    data = report_json("--kind", "rf_conventional")

    # then only the RF treatment is counted, and its 6-month time point is still superseded
    six = rows(data, "response", "group", "time_point")[("overall", "6m")]
    assert (six["treatments"], six["closed"], six["superseded"]) == (1, 1, 1)
    assert {r["group"] for r in data["response"]} >= {"overall", "kind:rf_conventional"}
    assert "kind:cryoablation" not in {r["group"] for r in data["response"]}


def test_bilateral_is_its_own_side_and_a_same_day_treatment_supersedes_nothing():
    # given a left treatment, a bilateral one of the same nerve on day 100 and a right one on the left's date
    patient = PatientFactory()
    treatment(patient, side="left")
    treatment(patient, side="right")
    treatment(patient, on=100, side="bilateral")
    # when
    response = rows(report_json(), "response", "group", "time_point")
    # then nothing is superseded
    assert sum(r["superseded"] for r in response.values()) == 0


# Durability with the repeat rule


def _repeated_treatments():
    """Four RF treatments (baseline 10 unless said) on TREATED_ON, each repeated by a cryoablation:
    p1 responding on days 14 and 30, repeated on day 60 (event: the repeat, day 60); p2 responding on day 14, not on
    day 30, repeated on day 60 (event: day 30); p3 never answered, repeated on day 200 (event: day 200); p4 baseline
    0, repeated on day 50 (not in durability; in time to repeat)."""
    made = {}
    for name, baseline, answers, repeat_on in [
        ("p1", 10, [(14, 2), (30, 2)], 60),
        ("p2", 10, [(14, 2), (30, 8)], 60),
        ("p3", 10, [], 200),
        ("p4", 0, [], 50),
    ]:
        patient = PatientFactory()
        first = treatment(patient, baseline_nrs=baseline)
        for on_day, pain in answers:
            answer(first, on_day=on_day, pain=pain)
        made[name] = (first, treatment(patient, on=repeat_on, kind="cryoablation", side=first.side))
    return made


def test_durability_of_a_repeated_treatment_ends_on_its_first_loss_of_response_or_else_on_the_repeat_date():
    # given
    made = _repeated_treatments()

    # when
    report = outcomes_compute(as_of=AS_OF)

    # then p1's event is its repeat (day 60), p2's its non-responding answer (day 30), p3's its repeat although it
    # has no counted answer (day 200); p4 (baseline 0) and the repeats (no answer, not repeated) are left out
    overall = report.durability_groups["overall"]
    assert (overall.treatments, overall.events) == (3, 3)
    assert [(s.day, s.events, s.censored) for s in overall.curve] == [(30, 1, 0), (60, 1, 0), (200, 1, 0)]
    assert overall.median_days == 60
    assert sorted(durability_ablation_ids_for(filters=report.filters, measure="events")) == sorted(
        made[p][0].pk for p in ("p1", "p2", "p3")
    )
    durability = rows(report_json(), "durability", "group")
    assert durability["overall"] == {"group": "overall", "treatments": 3, "events": 3, "median_days": 60}
    assert durability["kind:rf_conventional"]["treatments"] == 3
    assert durability.get("kind:cryoablation", {"treatments": 0})["treatments"] == 0


def test_a_loss_of_response_answered_after_the_repeat_date_ends_durability_on_the_repeat_date():
    # given an RF treatment repeated on day 100 and answered at 3 months (a window begun on day 75, before the
    # repeat: the answer counts) on day 110, no longer responding
    patient = PatientFactory()
    first = treatment(patient, baseline_nrs=8)
    answer(first, on_day=110, pain=8)
    treatment(patient, on=100, kind="cryoablation", side=first.side)
    # when
    report = outcomes_compute(as_of=AS_OF)
    # then its event is the repeat, on day 100, not the later answer
    assert [(s.day, s.events, s.censored) for s in report.durability_groups["overall"].curve] == [(100, 1, 0)]


def test_a_repeat_after_the_as_of_date_does_not_end_durability():
    # given a responding treatment repeated on day 200
    patient = PatientFactory()
    first = treatment(patient, baseline_nrs=10)
    answer(first, on_day=14, pain=2)
    treatment(patient, on=200, kind="cryoablation", side=first.side)
    # when the report is run as of day 100
    durability = outcomes_compute(as_of=day(100)).durability
    # then it is censored at its responding answer, as without a repeat
    assert [(s.day, s.events, s.censored) for s in durability.curve] == [(14, 0, 1)]


# Time to repeat treatment


def test_time_to_repeat_counts_every_treatment_and_an_estimate_of_exactly_one_half_reaches_the_median():
    # given the four repeated treatments (baseline 0 included) and their four repeats
    _repeated_treatments()

    # when
    data = report_json()

    # then 8 treatments, 4 repeated on days 50, 60, 60, 200 and 4 censored at the as-of date: the estimate is
    # 7/8 x 5/7 x 4/5 = 1/2 exactly on day 200, the median
    repeat = rows(data, "repeat", "group")
    assert repeat["overall"] == {"group": "overall", "treatments": 8, "repeated": 4, "median_days": 200}
    assert repeat["kind:rf_conventional"] == {
        "group": "kind:rf_conventional",
        "treatments": 4,
        "repeated": 4,
        "median_days": 60,
    }
    assert repeat["kind:cryoablation"] == {
        "group": "kind:cryoablation",
        "treatments": 4,
        "repeated": 0,
        "median_days": None,
    }


def test_time_to_repeat_is_censored_at_the_as_of_date():
    # given
    _repeated_treatments()
    # when the report is run as of day 55: only p4's repeat (day 50) has happened, and only it of the repeats is done
    report = outcomes_compute(as_of=day(55))
    # then 5 treatments: p4's repeat at day 50, the three others censored at day 55, p4's repeat censored at day 5
    overall = report.repeat["overall"]
    assert (overall.treatments, overall.events) == (5, 1)
    assert [(s.day, s.events, s.censored) for s in overall.curve] == [(5, 0, 1), (50, 1, 0), (55, 0, 3)]


# The funnel with kinds


def _block_named_by_two_treatments():
    """A positive block (75%) named by an RF treatment (3-month responder) and a cryoablation of the same day
    (3-month non-responder): a same-day treatment supersedes nothing."""
    patient = PatientFactory()
    block = BlockFactory(
        patient=patient,
        nerve=nerve("superior_cluneal"),
        side="left",
        performed_at=dt.datetime.combine(day(-20), dt.time(10), tzinfo=NEW_YORK),
        diary=[(30, 2)],
        baseline_nrs=8,
    )
    rf = treatment(patient, side="left", baseline_nrs=8)
    cryo = treatment(patient, side="left", baseline_nrs=8, kind="cryoablation")
    assert rf.qualifying_block_id == cryo.qualifying_block_id == block.pk
    answer(rf, on_day=90, pain=2)
    answer(cryo, on_day=90, pain=7)
    return block


def test_a_block_named_by_two_treatments_is_treated_once_and_both_treatments_reach_its_3_month_stages():
    # given
    block = _block_named_by_two_treatments()

    # when
    data = report_json()

    # then
    funnel = rows(data, "funnel", "group")
    assert {k: funnel["overall"][k] for k in ("blocks", "evaluable", "positive", "treated")} == {
        "blocks": 1,
        "evaluable": 1,
        "positive": 1,
        "treated": 1,
    }
    assert (funnel["overall"]["evaluable_3m"], funnel["overall"]["responders_3m"]) == (2, 1)
    assert not any(group.startswith("kind:") for group in funnel)
    assert block_ids_for(filters=outcomes_compute(as_of=AS_OF).filters, measure="ablated") == [block.pk]


@pytest.mark.parametrize(
    "kind, treated, evaluable_3m, responders_3m",
    [("cryoablation", 1, 1, 0), ("rf_conventional", 1, 1, 1), ("pns_permanent", 0, 0, 0)],
)
def test_with_a_kind_the_funnel_keeps_its_blocks_and_follows_that_kinds_treatments(
    kind, treated, evaluable_3m, responders_3m
):
    # given
    block = _block_named_by_two_treatments()
    # when
    data = report_json("--kind", kind)
    # then blocks, evaluable and positive are unchanged; the later stages are that kind's
    overall = rows(data, "funnel", "group")["overall"]
    assert [overall[k] for k in ("blocks", "evaluable", "positive", "treated", "evaluable_3m", "responders_3m")] == [
        1,
        1,
        1,
        treated,
        evaluable_3m,
        responders_3m,
    ]
    filters = outcomes_compute(as_of=AS_OF, kind=kind).filters
    assert block_ids_for(filters=filters, measure="ablated") == ([block.pk] if treated else [])
    # and the threshold bands (overall only) follow the kind too
    bands = rows(data, "threshold_bands", "band")
    assert (bands["70-79"]["evaluable_3m"], bands["70-79"]["responders_3m"]) == (evaluable_3m, responders_3m)


# Adverse events


def test_adverse_events_count_through_their_treatment_whatever_their_date_and_never_on_a_block():
    # given an RF treatment with an unrelated mild event and a possibly related serious one; a cryoablation with an
    # unrelated event a year later; a cryoablation with none; and an event on a block
    patient = PatientFactory()
    rf = treatment(patient, side="left")
    cryo = treatment(patient, side="right", kind="cryoablation")
    treatment(PatientFactory(), kind="cryoablation")
    block = BlockFactory(patient=patient, performed_at=dt.datetime.combine(day(-20), dt.time(10), tzinfo=NEW_YORK))
    common = {"category": "other", "severity": "mild"}
    AdverseEvent.objects.create(treatment=rf, occurred_on=day(2), relatedness="unrelated", **common)
    AdverseEvent.objects.create(
        treatment=rf, occurred_on=day(3), relatedness="possible", serious=True, category="infection", severity="severe"
    )
    AdverseEvent.objects.create(treatment=cryo, occurred_on=day(365), relatedness="unrelated", **common)
    AdverseEvent.objects.create(block=block, occurred_on=day(-20), relatedness="definite", serious=True, **common)

    # when the report covers treatments up to their date only
    data = report_json("--to", TREATED_ON.isoformat())

    # then
    events = rows(data, "adverse_events", "group")
    low, high = wilson_interval(1, 3)
    assert events["overall"] == {
        "group": "overall",
        "treatments": 3,
        "with_event": 2,
        "with_related": 1,
        "with_serious": 1,
        "rate_related": 1 / 3,
        "ci_low": low,
        "ci_high": high,
    }
    cryo_row = events["kind:cryoablation"]
    assert (cryo_row["treatments"], cryo_row["with_event"], cryo_row["with_related"], cryo_row["rate_related"]) == (
        2,
        1,
        0,
        0.0,
    )
    # and with a kind filter, only that kind's treatments
    only_rf = rows(report_json("--kind", "rf_conventional"), "adverse_events", "group")["overall"]
    assert (only_rf["treatments"], only_rf["with_event"], only_rf["with_serious"]) == (1, 1, 1)


# The report's shape


def test_the_report_speaks_version_2():
    # given
    _block_named_by_two_treatments()
    # when
    data = report_json()
    # then
    assert list(data) == [
        "version",
        "as_of",
        "threshold_percent",
        "funnel",
        "response",
        "threshold_bands",
        "durability",
        "repeat",
        "adverse_events",
        "instruments",
        "opioids",
    ]
    assert data["version"] == 2
    # no answer yet: every instrument row evaluable 0, the screening ones' positive counts 0, PEG-3's null
    assert data["instruments"] and all(r["evaluable"] == 0 and r["rate"] is None for r in data["instruments"])
    assert {r["instrument"] for r in data["instruments"] if r["positive_baseline"] is None} == {"peg3"}
    assert data["opioids"] and all(r["on_opioids"] == 0 and r["rate"] is None for r in data["opioids"])
    for section in ("response", "durability", "repeat", "adverse_events"):
        groups = [r["group"] for r in data[section]]
        assert groups[0] == "overall", section
        assert {"kind:cryoablation", "kind:rf_conventional"} <= set(groups), section
    assert set(data["response"][0]) == {
        "group", "time_point", "treatments", "closed", "superseded", "evaluable", "responders", "responders_30",
        "pgic_improved", "rate", "itt_rate", "ci_low", "ci_high",
    }  # fmt: skip


def test_the_csv_carries_every_section_with_the_version():
    # given
    _block_named_by_two_treatments()
    # when
    out = io.StringIO()
    call_command("outcomes_report", "--format", "csv", "--as-of", AS_OF.isoformat(), stdout=out)
    # then
    sections = [block.splitlines() for block in out.getvalue().strip().split("\n\n")]
    assert [lines[1].split(",")[0] for lines in sections] == [
        "funnel",
        "response",
        "threshold_bands",
        "durability",
        "repeat",
        "adverse_events",
        "instruments",
        "opioids",
    ]
    assert all(lines[0].startswith("section,version,as_of,threshold_percent,") for lines in sections)
    assert all(line.split(",")[1] == "2" for lines in sections for line in lines[1:])


def test_an_unknown_kind_is_refused():
    with pytest.raises(CommandError, match="kind"):
        report_json("--kind", "laser")


def test_a_groups_median_is_the_full_estimates_median():
    # given many made-up estimates, one of them reaching exactly one half
    import random

    from apps.reports.outcomes import _durability, _median_only

    rng = random.Random(15)
    cases = [[{"day": 10, "events": 1, "censored": 0}, {"day": 20, "events": 1, "censored": 2}]]
    for _ in range(200):
        days = sorted(rng.sample(range(1, 400), rng.randint(1, 30)))
        cases.append([{"day": d, "events": rng.randint(0, 3), "censored": rng.randint(0, 3)} for d in days])
    # then the groups' shortcut gives the same counts and median as the full estimate
    for days in cases:
        full, quick = _durability(days), _median_only(days)
        assert (quick.treatments, quick.events, quick.median_days) == (full.treatments, full.events, full.median_days)
