"""The patient page's trend chart: the series it is built from (apps.pages.trend) and the page showing it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from apps.clinic.models import Protocol
from apps.clinic.selectors import protocol_get
from apps.instruments.services import instrument_answer_record
from apps.medications.selectors import opioid_list_get
from apps.medications.services import medication_list_review, medication_statement_create
from apps.pages.selectors import patient_timeline
from apps.pages.trend import patient_trend
from apps.surveys.models import CollectedVia
from apps.surveys.services import response_record
from tests.factories import BlockFactory, PatientFactory, make_ablation

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _midday():
    """Midday in the clinic: "n days ago" is the same local date whether counted in days or in hours across a
    daylight-saving change."""
    with time_machine.travel(dt.datetime(2026, 11, 10, 17, 0, tzinfo=dt.UTC), tick=False):
        yield


def days_ago(n: int) -> dt.date:
    return timezone.localdate() - dt.timedelta(days=n)


def answered(treatment, n_days_ago: int, pain: int):
    return response_record(
        ablation=treatment,
        completed_at=timezone.now() - dt.timedelta(days=n_days_ago),
        pain_average=pain,
        collected_via=CollectedVia.PHONE,
    )


def trend_of(patient):
    today = timezone.localdate()
    protocol: Protocol = protocol_get()
    timeline = patient_timeline(patient=patient, protocol=protocol, today=today)
    opioids = opioid_list_get(patient=patient, today=today)
    return patient_trend(patient=patient, timeline=timeline, opioids=opioids, today=today)


@pytest.fixture
def patient_with_a_repeat():
    """A block, a treatment repeated on the same nerve and side (the first superseded), answers to both recorded
    out of date order."""
    patient = PatientFactory()
    block = BlockFactory(patient=patient, performed_at=timezone.now() - dt.timedelta(days=200), baseline_nrs=8)
    first = make_ablation(patient=patient, performed_on=days_ago(190), baseline_nrs=7, physician=block.physician)
    repeat = make_ablation(patient=patient, performed_on=days_ago(60), baseline_nrs=6, physician=block.physician)
    answered(repeat, 30, 4)
    answered(first, 100, 3)
    answered(first, 170, 5)
    return patient, block, first, repeat


def test_pain_is_a_line_per_treatment_from_its_baseline_through_its_answers_in_date_order(patient_with_a_repeat):
    # given
    patient, block, first, repeat = patient_with_a_repeat
    # when
    pain = trend_of(patient).series[0]
    # then
    assert (pain.name, pain.minimum, pain.maximum) == ("Pain (NRS 0–10)", 0, 10)
    lines = {line.label: line for line in pain.lines}
    assert list(lines) == ["After 2 (cryoablation)", "After 3 (cryoablation)", "Before each block"]
    first_line = [(p.on, p.value, p.open) for p in lines["After 2 (cryoablation)"].points]
    assert first_line == [(days_ago(190), 7, True), (days_ago(170), 5, False), (days_ago(100), 3, False)]
    assert [(p.on, p.value) for p in lines["After 3 (cryoablation)"].points] == [(days_ago(60), 6), (days_ago(30), 4)]
    blocks = lines["Before each block"]
    assert not blocks.joined
    assert [(p.on, p.value) for p in blocks.points] == [(timezone.localdate(block.performed_at), 8)]
    # the table's rows: every figure once, in date order, saying what it is
    assert [p.on for p in pain.points] == sorted(p.on for p in pain.points)
    assert len(pain.points) == 6
    assert "Survey after treatment 2 (3 months)" in [p.note for p in pain.points if p.on == days_ago(100)][0]


def test_every_procedure_is_marked_in_date_order_the_superseded_treatment_too(patient_with_a_repeat):
    # given
    patient, block, first, repeat = patient_with_a_repeat
    # when
    markers = trend_of(patient).markers
    # then
    assert [(m.number, m.on, m.kind) for m in markers] == [
        (1, timezone.localdate(block.performed_at), "block"),
        (2, days_ago(190), "treatment"),
        (3, days_ago(60), "treatment"),
    ]
    assert markers[0].label == f"Diagnostic block, {block.nerve}, left"
    assert markers[1].label == f"Cryoablation, {first.nerve}, left"
    assert markers[1].notes == (f"superseded by the treatment of {days_ago(60):%Y-%m-%d}",)
    assert markers[2].notes == ()


def test_mme_is_the_databases_on_each_day_it_changes_from_the_charts_start(patient_with_a_repeat):
    # given: oxycodone 20 mg a day begun long before the first procedure, handed over to tramadol 100 mg 50 days ago,
    # and buprenorphine (no factor: listed, adds 0)
    patient, *_ = patient_with_a_repeat
    medication_statement_create(
        patient=patient, opioid="oxycodone", daily_dose=Decimal(20), started_on=days_ago(400), stopped_on=days_ago(50)
    )
    medication_statement_create(patient=patient, opioid="tramadol", daily_dose=Decimal(100), started_on=days_ago(50))
    medication_statement_create(patient=patient, opioid="buprenorphine", daily_dose=Decimal(8), started_on=days_ago(10))
    medication_list_review(patient=patient, reviewed_by=None)
    # when
    mme = trend_of(patient).series[-1]
    # then: 20 x 1.5 from the chart's first day (the block's), 100 x 0.2 from the handover, as of today
    (line,) = mme.lines
    assert line.step
    chart_start = min(days_ago(200), days_ago(190))
    assert [(p.on, p.value) for p in line.points] == [
        (timezone.localdate(timezone.now() - dt.timedelta(days=200)), Decimal(30)),
        (days_ago(50), Decimal(20)),
        (days_ago(10), Decimal(20)),
        (days_ago(0), Decimal(20)),
    ]
    assert line.points[0].on <= chart_start
    assert mme.minimum == 0 and mme.maximum is None
    assert "CDC-2022" in mme.note and f"list last reviewed {timezone.localdate():%Y-%m-%d}" in mme.note


def test_a_patient_without_opioids_has_no_mme_panel_and_one_without_anything_an_empty_chart():
    # given
    patient = PatientFactory()
    # when
    trend = trend_of(patient)
    # then
    assert trend.charted == [] and trend.markers == []
    assert "Nothing to chart yet" in trend.svg and "<svg" not in trend.svg


def test_opioids_alone_chart_from_the_first_statement(db):
    # given
    patient = PatientFactory()
    medication_statement_create(patient=patient, opioid="morphine", daily_dose=Decimal(15), started_on=days_ago(40))
    # when
    trend = trend_of(patient)
    # then
    (mme,) = trend.charted
    assert [(p.on, p.value) for p in mme.points] == [(days_ago(40), Decimal(15)), (days_ago(0), Decimal(15))]
    assert "list last reviewed never" in mme.note
    assert "<svg" in trend.svg


def test_the_patient_page_shows_the_chart_its_procedures_and_its_figures(staff_client, patient_with_a_repeat):
    # given
    patient, *_ = patient_with_a_repeat
    # when
    page = staff_client.get(reverse("patients:detail", args=[patient.public_id]))
    # then
    assert page.status_code == 200
    text = page.text
    assert 'id="trend"' in text and "<title>Pain, function, mood and opioids over time</title>" in text
    assert text.count('class="trend-procedures') == 1
    assert f"superseded by the treatment of {days_ago(60):%Y-%m-%d}" in text
    assert "The chart&#x27;s figures" in text or "The chart's figures" in text
    # the print summary carries it too
    printed = staff_client.get(reverse("patients:print", args=[patient.public_id]))
    assert 'id="trend"' in printed.text


def test_a_panel_per_instrument_answered_on_its_definitions_scale_baseline_open():
    # given a treatment with a PEG-3 baseline 10 days before it and two answers after; a PHQ-2 answer after
    patient = PatientFactory()
    treatment = make_ablation(patient=patient, performed_on=days_ago(100))
    for n_days_ago, answers in (
        (110, {"1": 8, "2": 7, "3": 8}),
        (60, {"1": 4, "2": 4, "3": 3}),
        (10, {"1": 5, "2": 5, "3": 5}),
    ):
        instrument_answer_record(
            treatment=treatment,
            instrument="peg3",
            completed_at=timezone.now() - dt.timedelta(days=n_days_ago),
            answers=answers,
            collected_via="staff",
        )
    instrument_answer_record(
        treatment=treatment,
        instrument="phq2",
        completed_at=timezone.now() - dt.timedelta(days=60),
        answers={"1": 1, "2": 2},
        collected_via="staff",
    )

    # when
    series = {one.short_name: one for one in trend_of(patient).charted}

    # then PEG-3 on 0..10 with its exact mean to 2 decimals, the baseline an open circle; PHQ-2 on 0..6
    peg3 = series["PEG-3"]
    assert (peg3.name, peg3.minimum, peg3.maximum) == ("PEG-3 (0–10, lower is better)", 0, 10)
    points = peg3.points
    assert [(p.on, p.value, p.open) for p in points] == [
        (days_ago(110), Decimal("7.67"), True),
        (days_ago(60), Decimal("3.67"), False),
        (days_ago(10), Decimal("5.00"), False),
    ]
    assert points[0].note == "Baseline of treatment 1"
    assert (series["PHQ-2"].maximum, [p.value for p in series["PHQ-2"].points]) == (6, [Decimal("3.00")])
