"""The instrument and opioid facts (reports migrations 0010, 0012) stay what the rules' own functions say, with the
follow-up's and the treatment's columns as they are, through every change of the rows they are derived from: answers
recorded, corrected and deleted, statements recorded, corrected and deleted, treatments re-dated, re-assigned and
superseded, follow-ups moved and deleted, instruments re-scheduled and given a new version, and the clinic's time zone
changed."""

from __future__ import annotations

# S608: the queries are composed of this module's constants.
# ruff: noqa: S608
import datetime as dt
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection
from django.db.models import F

from apps.cryoablations.models import Cryoablation, FollowUp
from apps.instruments.models import Instrument, InstrumentAnswer, InstrumentVersion
from apps.medications.models import MedicationStatement
from tests.factories import PatientFactory, UserFactory
from tests.reports.test_instruments import ask, peg3
from tests.reports.test_opioids import take
from tests.reports.test_outcomes_v2 import NEW_YORK, treatment

pytestmark = pytest.mark.django_db


def fetch(query: str, params: list | None = None) -> set[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(query, params or [])
        return set(cursor.fetchall())


# The follow-up's and treatment's columns a fact copies, as they are now.
COPIED = (
    "f.time_point, f.window_end, f.superseded_by_id IS NOT NULL, t.kind, t.physician_id, t.nerve_id, t.side, "
    "t.performed_on"
)


def instrument_source(tz: str) -> set[tuple]:
    """Every follow-up x instrument with both answers, by the rules' functions over every treatment, with what the
    instrument's current version's rules make of them."""
    return fetch(
        f"""
        SELECT c.follow_up_id, c.instrument_id, f.ablation_id, ba.score_total, ba.score_items, ca.score_total,
               ca.score_items, {COPIED}, f.time_point = ANY (i.time_points),
               (ca.score_total / ca.score_items - ba.score_total / ba.score_items)::float8,
               instruments_responder(v.responder_rule, v.responder_percent, v.minimal_important_change, v.better,
                   v.positive_screen, ba.score_total, ba.score_items, ca.score_total, ca.score_items),
               instruments_positive(v.positive_screen, ba.score_total, ba.score_items),
               instruments_positive(v.positive_screen, ca.score_total, ca.score_items)
        FROM instruments_counted_answers(%s) c
        JOIN cryoablations_followup f ON f.id = c.follow_up_id
        JOIN cryoablations_cryoablation t ON t.id = f.ablation_id
        JOIN instruments_baseline_answers(%s) b ON b.treatment_id = f.ablation_id AND b.instrument_id = c.instrument_id
        JOIN instruments_instrumentanswer ba ON ba.id = b.answer_id
        JOIN instruments_instrumentanswer ca ON ca.id = c.answer_id
        JOIN instruments_instrument i ON i.id = c.instrument_id
        JOIN instruments_instrumentversion v ON v.instrument_id = i.id
            AND v.version = (SELECT max(version) FROM instruments_instrumentversion WHERE instrument_id = i.id)
        """,
        [tz, tz],
    )


def instrument_facts() -> set[tuple]:
    return fetch(
        "SELECT follow_up_id, instrument_id, ablation_id, baseline_total, baseline_items, counted_total, "
        "counted_items, time_point, window_end, superseded, kind, physician_id, nerve_id, side, performed_on, asked, "
        "change, responder, positive_baseline, positive_now FROM reports_instrumentfact"
    )


def opioid_source() -> set[tuple]:
    """Every follow-up of a treatment whose patient's MME on the treatment day is above 0, with the rule's MMEs."""
    return fetch(
        f"""
        SELECT f.id, t.id, t.patient_id, medications_mme(t.patient_id, t.performed_on),
               medications_mme(t.patient_id, f.target_date), {COPIED}
        FROM cryoablations_cryoablation t JOIN cryoablations_followup f ON f.ablation_id = t.id
        WHERE medications_mme(t.patient_id, t.performed_on) > 0
        """
    )


def opioid_facts() -> set[tuple]:
    return fetch(
        "SELECT follow_up_id, ablation_id, patient_id, baseline, mme, time_point, window_end, superseded, kind, "
        "physician_id, nerve_id, side, performed_on FROM reports_opioidfact"
    )


def assert_instrument_facts_follow_the_rules() -> int:
    expected = instrument_source(settings.TIME_ZONE)
    assert instrument_facts() == expected
    return len(expected)


def assert_opioid_facts_follow_the_rule() -> int:
    expected = opioid_source()
    assert opioid_facts() == expected
    return len(expected)


def test_the_instrument_facts_follow_answers_treatments_and_follow_ups_through_every_change():
    # given two treatments answering PEG-3 and PHQ-2 at baseline and at 3 months
    a = treatment(PatientFactory())
    peg_a = ask(a, "peg3", peg3(20), on_day=-30)
    ask(a, "peg3", peg3(14), on_day=90)
    ask(a, "phq2", {"1": 2, "2": 2}, on_day=0)
    phq_now = ask(a, "phq2", {"1": 1, "2": 1}, on_day=90)
    patient = PatientFactory()
    b = treatment(patient)
    ask(b, "peg3", peg3(20), on_day=-1)
    ask(b, "peg3", peg3(2), on_day=91)
    assert assert_instrument_facts_follow_the_rules() == 3

    # when an answer is corrected, then a later one counts instead at the same time point
    InstrumentAnswer.objects.filter(pk=peg_a.pk).update(score_total=Decimal(25))
    assert assert_instrument_facts_follow_the_rules() == 3
    ask(a, "peg3", peg3(5), on_day=95)
    assert (Decimal(5), 3) in {(row[5], row[6]) for row in instrument_facts()}  # PEG-3: a mean of 3 items
    assert assert_instrument_facts_follow_the_rules() == 3

    # when the counted PHQ-2 answer is deleted: no PHQ-2 row any more
    InstrumentAnswer.objects.filter(pk=phq_now.pk).delete()
    assert assert_instrument_facts_follow_the_rules() == 2

    # when the baseline answer falls out of the baseline window by a re-dated treatment: no PEG-3 row for a
    Cryoablation.objects.filter(pk=a.pk).update(performed_on=a.performed_on + dt.timedelta(days=5))
    assert assert_instrument_facts_follow_the_rules() == 1

    # when b's 3-month window is moved away from its answer, then back
    three_months = FollowUp.objects.get(ablation=b, time_point="3m")
    target = three_months.target_date
    FollowUp.objects.filter(pk=three_months.pk).update(window_start=target, window_end=target)
    assert assert_instrument_facts_follow_the_rules() == 0
    FollowUp.objects.filter(pk=three_months.pk).update(
        window_start=three_months.window_start, window_end=three_months.window_end
    )
    assert assert_instrument_facts_follow_the_rules() == 1

    # when a repeat treatment supersedes b's 3-month follow-up (same nerve and side, day 60): none counts there
    treatment(patient, on=60)
    assert FollowUp.objects.get(pk=three_months.pk).superseded_by_id is not None
    assert assert_instrument_facts_follow_the_rules() == 0


def test_the_facts_follow_a_treatment_s_columns_an_instrument_s_schedule_and_its_versions():
    # given a treatment answering PHQ-2 (4 -> 2: a responder by screening negative) and PEG-3, on morphine
    patient = PatientFactory()
    take(patient, "morphine", "40", start=-60)
    t = treatment(patient)
    ask(t, "phq2", {"1": 2, "2": 2}, on_day=0)
    ask(t, "phq2", {"1": 1, "2": 1}, on_day=90)
    ask(t, "peg3", peg3(20), on_day=0)
    ask(t, "peg3", peg3(8), on_day=90)
    assert assert_instrument_facts_follow_the_rules() == 2
    assert assert_opioid_facts_follow_the_rule() > 0

    # when the treatment's kind, side and physician are corrected
    other = UserFactory()
    Cryoablation.objects.filter(pk=t.pk).update(kind="rf_conventional", side="right", physician=other)
    # then the facts carry them (the figures filter and group by them)
    assert {row[10] for row in instrument_facts()} == {"rf_conventional"}
    assert {row[8] for row in opioid_facts()} == {"rf_conventional"}
    assert assert_instrument_facts_follow_the_rules() == 2
    assert assert_opioid_facts_follow_the_rule() > 0

    # when PHQ-2 is no longer asked at 3 months: its fact is no longer asked there
    phq2 = Instrument.objects.get(code="phq2")
    Instrument.objects.filter(pk=phq2.pk).update(time_points=["baseline", "6m"])
    assert assert_instrument_facts_follow_the_rules() == 2
    assert {row[15] for row in instrument_facts() if row[1] == phq2.pk} == {False}

    # when a new PHQ-2 version screens positive from 5 only (its rules are the current ones): no positive screen
    current = phq2.versions.order_by("-version").first()
    InstrumentVersion.objects.create(
        instrument=phq2,
        version=current.version + 1,
        definition=current.definition,
        languages=current.languages,
        scoring_method=current.scoring_method,
        min_items=current.min_items,
        better=current.better,
        positive_screen=Decimal(5),
        responder_rule=current.responder_rule,
        loaded_at=current.loaded_at,
    )
    assert assert_instrument_facts_follow_the_rules() == 2
    assert {(row[17], row[18], row[19]) for row in instrument_facts() if row[1] == phq2.pk} == {(False, False, False)}

    # when that version is removed again: the first version's rules
    InstrumentVersion.objects.filter(instrument=phq2, version=current.version + 1).delete()
    assert {(row[17], row[18], row[19]) for row in instrument_facts() if row[1] == phq2.pk} == {(True, True, False)}
    assert assert_instrument_facts_follow_the_rules() == 2


def test_the_instrument_facts_follow_the_clinic_s_time_zone():
    # given an answer at 22:30 in New York on the last day of the 3-month window: the next day in Tokyo
    t = treatment(PatientFactory())
    ask(t, "peg3", peg3(20), on_day=0)
    three_months = FollowUp.objects.get(ablation=t, time_point="3m")
    late = dt.datetime.combine(three_months.window_end, dt.time(22, 30), tzinfo=NEW_YORK)
    answer = ask(t, "peg3", peg3(4), on_day=1)
    InstrumentAnswer.objects.filter(pk=answer.pk).update(completed_at=late)
    assert assert_instrument_facts_follow_the_rules() == 1

    # when the time zone changes (at migrate): every fact recomputed in it
    with connection.cursor() as cursor:
        cursor.execute("SELECT reports_time_zone_set('Asia/Tokyo')")
        assert instrument_facts() == instrument_source("Asia/Tokyo")
        assert not instrument_facts()
        cursor.execute("SELECT reports_time_zone_set(%s)", [settings.TIME_ZONE])
    assert assert_instrument_facts_follow_the_rules() == 1


def test_the_opioid_facts_follow_statements_treatments_and_follow_ups_through_every_change():
    # given a patient halving morphine on day 14, one on buprenorphine only (MME 0), one on oxycodone
    halving, bupe, oxy = PatientFactory(), PatientFactory(), PatientFactory()
    take(halving, "morphine", "40", start=-60, stop=14)
    second = take(halving, "morphine", "20", start=14, stop=90)
    take(bupe, "buprenorphine", "8", start=-30)
    oxycodone = take(oxy, "oxycodone", "20", start=-10)
    first = treatment(halving)
    treatment(bupe)
    oxy_treatment = treatment(oxy)
    per_treatment = FollowUp.objects.filter(ablation=first).count()
    assert assert_opioid_facts_follow_the_rule() == 2 * per_treatment

    # when a dose is corrected, a statement deleted, another recorded
    MedicationStatement.objects.filter(pk=second.pk).update(daily_dose=Decimal("7.5"), opioid="codeine")
    assert Decimal("1.125") in {row[4] for row in opioid_facts()}
    assert assert_opioid_facts_follow_the_rule() == 2 * per_treatment
    MedicationStatement.objects.filter(pk=oxycodone.pk).delete()
    assert assert_opioid_facts_follow_the_rule() == per_treatment
    take(bupe, "tramadol", "100", start=-5)
    assert assert_opioid_facts_follow_the_rule() == 2 * per_treatment

    # when a treatment is re-dated before any opioid, and a follow-up's target day moved
    Cryoablation.objects.filter(pk=first.pk).update(performed_on=first.performed_on - dt.timedelta(days=100))
    assert assert_opioid_facts_follow_the_rule() == per_treatment
    follow_up = FollowUp.objects.filter(ablation__patient=bupe).first()
    FollowUp.objects.filter(pk=follow_up.pk).update(target_date=follow_up.window_start)
    assert assert_opioid_facts_follow_the_rule() == per_treatment

    # when the oxycodone patient is treated again (a statement back) and a follow-up and a treatment are deleted
    take(oxy, "oxycodone", "20", start=-10)
    again = treatment(oxy, on=100)
    assert assert_opioid_facts_follow_the_rule() == 2 * per_treatment + FollowUp.objects.filter(ablation=again).count()
    FollowUp.objects.filter(pk=follow_up.pk).delete()
    again.delete()
    assert assert_opioid_facts_follow_the_rule() == 2 * per_treatment - 1
    assert {row[1] for row in opioid_facts()} == {oxy_treatment.pk, follow_up.ablation_id}


def test_a_statement_over_many_treatments_writes_their_facts_in_one_pass():
    # given 17 treatments answering PEG-3 at baseline and at 3 months (more than the per-treatment path's 16)
    for _ in range(17):
        t = treatment(PatientFactory())
        ask(t, "peg3", peg3(20), on_day=-1)
        ask(t, "peg3", peg3(4), on_day=91)
    answers = list(InstrumentAnswer.objects.all())
    assert assert_instrument_facts_follow_the_rules() == 17

    # when every answer is deleted by one statement, then written back by one
    InstrumentAnswer.objects.all().delete()
    assert not instrument_facts()
    InstrumentAnswer.objects.bulk_create(answers)

    # then
    assert assert_instrument_facts_follow_the_rules() == 17

    # when one statement moves every treatment's follow-ups away from their answers
    FollowUp.objects.update(window_start=F("target_date"), window_end=F("target_date"))

    # then
    assert assert_instrument_facts_follow_the_rules() == 0
