"""Recording instrument answers (instrument_answer_record), loading definitions, re-scoring, and what is due when
(the selectors), against PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from fractions import Fraction

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from apps.instruments.definitions import shipped_definition
from apps.instruments.models import Instrument, InstrumentAnswer
from apps.instruments.selectors import (
    instrument_texts,
    instruments_due,
    instruments_due_at_baseline,
    treatment_baseline_answers,
    treatment_baseline_missing,
)
from apps.instruments.services import (
    DefinitionError,
    instrument_answer_record,
    instrument_answer_rescore,
    instrument_definition_load,
)
from tests.factories import PatientFactory, make_ablation
from tests.instruments.test_scoring import MADE_UP

pytestmark = pytest.mark.django_db

TREATED = dt.date(2026, 3, 2)


def _at(day: dt.date, hour: int = 10) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


@pytest.fixture
def treatment():
    return make_ablation(patient=PatientFactory(), performed_on=TREATED)


def _record(treatment, code="peg3", answers=None, day=TREATED, **extra):
    return instrument_answer_record(
        treatment=treatment,
        instrument=code,
        completed_at=_at(day),
        answers=answers or {"1": 6, "2": 7, "3": 5},
        collected_via="staff",
        **extra,
    )


def test_an_answer_is_stored_with_its_score_and_the_version_used(treatment):
    # when
    answer = _record(treatment, answers={"1": "6", "2": 7, "3": 4})

    # then
    stored = InstrumentAnswer.objects.get(pk=answer.pk)
    assert stored.answers == {"1": 6, "2": 7, "3": 4}
    assert stored.score == Fraction(17, 3)
    assert stored.score_text == "5.67"
    assert stored.version.version == 1
    assert stored.instrument.code == "peg3"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"code": "odi"}, "instrument"),
        ({"answers": {"1": 6, "2": 11, "3": 5}}, "answers.2"),
        ({"answers": {"1": 6, "3": 5}}, "answers.2"),
        ({"code": "phq2", "answers": {"1": 4, "2": 0}}, "answers.1"),
        ({"answers": {"1": 6, "2": "many", "3": 5}}, "answers.2"),
        ({"collected_via": "pigeon"}, "collected_via"),
    ],
)
def test_bad_answers_are_refused_naming_the_field_and_nothing_is_written(treatment, kwargs, field):
    # given
    args = {"collected_via": "staff", **kwargs}
    code = args.pop("code", "peg3")
    answers = args.pop("answers", {"1": 6, "2": 7, "3": 5})

    # when
    with pytest.raises(ValidationError) as error:
        instrument_answer_record(
            treatment=treatment, instrument=code, completed_at=_at(TREATED), answers=answers, **args
        )

    # then
    assert field in error.value.message_dict
    assert not InstrumentAnswer.objects.exists()


def test_an_answer_for_a_treatment_of_another_patient_is_refused(treatment):
    with pytest.raises(ValidationError) as error:
        _record(treatment, patient=PatientFactory())
    assert "treatment" in error.value.message_dict
    assert not InstrumentAnswer.objects.exists()


def test_an_answer_in_the_future_is_refused(treatment):
    with pytest.raises(ValidationError) as error:
        _record(treatment, day=timezone.localdate() + dt.timedelta(days=2))
    assert "completed_at" in error.value.message_dict


def test_the_same_instrument_twice_at_the_same_time_is_refused(treatment):
    _record(treatment)
    with pytest.raises(ValidationError) as error:
        _record(treatment)
    assert "completed_at" in error.value.message_dict
    assert InstrumentAnswer.objects.count() == 1


def test_the_baseline_is_the_last_answer_0_to_30_days_before_the_treatment(treatment):
    # given: 31 days before (too early), 30 days before, the treatment day, the day after (too late)
    _record(treatment, answers={"1": 1, "2": 1, "3": 1}, day=TREATED - dt.timedelta(days=31))
    _record(treatment, answers={"1": 2, "2": 2, "3": 2}, day=TREATED - dt.timedelta(days=30))
    on_the_day = _record(treatment, answers={"1": 3, "2": 3, "3": 3}, day=TREATED)
    _record(treatment, answers={"1": 4, "2": 4, "3": 4}, day=TREATED + dt.timedelta(days=1))
    peg3 = Instrument.objects.get(code="peg3")

    # when
    baselines = treatment_baseline_answers(treatment=treatment)

    # then
    assert baselines[peg3.pk] == on_the_day
    assert [i.code for i in treatment_baseline_missing(treatment=treatment)] == ["phq2", "gad2"]


def test_30_days_before_is_still_the_baseline_and_31_is_not(treatment):
    _record(treatment, day=TREATED - dt.timedelta(days=30))
    assert len(treatment_baseline_answers(treatment=treatment)) == 1
    other = make_ablation(patient=PatientFactory(), performed_on=TREATED)
    _record(other, day=TREATED - dt.timedelta(days=31))
    assert treatment_baseline_answers(treatment=other) == {}


def test_the_counted_answer_at_a_time_point_is_the_last_inside_its_window(treatment):
    # given
    three_months = treatment.follow_ups.get(time_point="3m")
    _record(treatment, answers={"1": 5, "2": 5, "3": 5}, day=three_months.window_start)
    last = _record(treatment, answers={"1": 2, "2": 2, "3": 2}, day=three_months.target_date)

    # when
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT answer_id FROM instruments_counted_answers(%s) WHERE follow_up_id = %s",  # every treatment's
            [settings.TIME_ZONE, three_months.pk],
        )
        counted = [row[0] for row in cursor.fetchall()]

    # then
    assert counted == [last.pk]


def test_the_default_schedule_asks_the_three_at_baseline_3_6_and_12_months():
    assert [i.code for i, _ in instruments_due_at_baseline()] == ["peg3", "phq2", "gad2"]
    for time_point in ("3m", "6m", "12m"):
        assert [i.code for i, _ in instruments_due(time_point=time_point)] == ["peg3", "phq2", "gad2"]
    assert instruments_due(time_point="14d") == []


def test_the_schedule_is_the_clinics_setting():
    # given
    Instrument.objects.filter(code="gad2").update(time_points=["baseline", "12m"])

    # then
    assert [i.code for i, _ in instruments_due(time_point="3m")] == ["peg3", "phq2"]


def test_texts_say_when_a_language_is_not_available():
    # given
    due = dict((i.code, v) for i, v in instruments_due_at_baseline())

    # when
    phq2 = instrument_texts(version=due["phq2"], language="es")
    peg3 = instrument_texts(version=due["peg3"], language="es")

    # then
    assert phq2.available and phq2.items[1]["text"] == "Se ha sentido decaído(a), deprimido(a) o sin esperanzas"
    assert not peg3.available and peg3.language == "en"


def test_a_new_version_keeps_old_scores_until_rescored_explicitly(treatment):
    # given: the made-up instrument, an answer scored with version 1
    data = json.loads(MADE_UP.read_text(encoding="utf-8"))
    instrument_definition_load(data=data)
    answer = _record(treatment, code="muf4", answers={"a1": 2, "a2": 2, "a3": 2, "a4": 1})
    assert answer.score_total == Decimal("34.8")

    # when: a corrected table is loaded as version 2
    data["version"] = 2
    data["scoring"]["table"][3]["t"] = 35.0
    version_2 = instrument_definition_load(data=data)

    # then: the old score keeps its version until re-scored
    answer.refresh_from_db()
    assert (answer.version.version, answer.score_total) == (1, Decimal("34.8"))
    assert instrument_answer_rescore(answer=answer) is True
    answer.refresh_from_db()
    assert (answer.version, answer.score_total, answer.standard_error) == (version_2, Decimal("35.0"), Decimal("3.1"))
    assert instrument_answer_rescore(answer=answer) is False


def test_a_definition_with_problems_loads_nothing():
    # given
    data = json.loads(MADE_UP.read_text(encoding="utf-8"))
    del data["items"][2]["texts"]["es"]
    data["scoring"]["table"].pop()

    # when
    with pytest.raises(DefinitionError) as error:
        instrument_definition_load(data=data)

    # then
    assert "items[2].texts.es: missing" in error.value.problems
    assert "scoring.table: no row for raw sum 12" in error.value.problems
    assert not Instrument.objects.filter(code="muf4").exists()


def test_an_older_or_same_version_is_refused():
    with pytest.raises(DefinitionError) as error:
        instrument_definition_load(data=shipped_definition("peg3"))
    assert error.value.problems == ["version: peg3 already has version 1; a new version must be above it"]
