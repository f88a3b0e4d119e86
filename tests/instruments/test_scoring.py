"""Scoring by the definitions (apps.instruments.definitions): PEG-3's exact mean, PHQ-2/GAD-2 sums and their
positive screen, a made-up licensed instrument's T-score table with its standard error and fewest items."""

from __future__ import annotations

import json
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest

from apps.instruments.definitions import (
    SHIPPED_CODES,
    Definition,
    ScoringError,
    definition_problems,
    shipped_definition,
)

MADE_UP = Path(__file__).parent / "data" / "made_up_function.json"


def _definition(code: str) -> Definition:
    return Definition(shipped_definition(code))


def made_up() -> Definition:
    return Definition(json.loads(MADE_UP.read_text(encoding="utf-8")))


@pytest.mark.parametrize("code", SHIPPED_CODES)
def test_the_shipped_definitions_have_no_problem(code):
    assert definition_problems(shipped_definition(code)) == []


def test_the_made_up_definition_has_no_problem():
    assert definition_problems(made_up().data) == []


def test_peg3_is_the_exact_mean_of_its_three_items():
    # given / when
    score = _definition("peg3").score({"1": 3, "2": 4, "3": 3})

    # then: 10/3, a fraction, not a float
    assert score.value == Fraction(10, 3)
    assert (score.total, score.items) == (Decimal(10), 3)


def test_peg3_needs_all_three_items():
    with pytest.raises(ScoringError) as error:
        _definition("peg3").score({"1": 3, "2": 4})
    assert set(error.value.errors) == {"answers.3"}
    assert "every item" in error.value.errors["answers.3"]


@pytest.mark.parametrize(("value", "field"), [(11, "answers.2"), (-1, "answers.2"), ("7", "answers.2")])
def test_an_answer_out_of_its_items_range_is_refused(value, field):
    with pytest.raises(ScoringError) as error:
        _definition("peg3").score({"1": 3, "2": value, "3": 3})
    assert list(error.value.errors) == [field]


def test_an_item_the_instrument_does_not_have_is_refused():
    with pytest.raises(ScoringError) as error:
        _definition("phq2").score({"1": 1, "2": 1, "3": 1})
    assert list(error.value.errors) == ["answers.3"]


@pytest.mark.parametrize("code", ["phq2", "gad2"])
@pytest.mark.parametrize(("answers", "total", "positive"), [((1, 1), 2, False), ((2, 1), 3, True), ((3, 3), 6, True)])
def test_phq2_and_gad2_are_sums_positive_from_3(code, answers, total, positive):
    # given
    definition = _definition(code)

    # when
    score = definition.score({"1": answers[0], "2": answers[1]})

    # then
    assert score.value == total
    assert (score.value >= definition.scoring["positive_screen"]) is positive


def test_a_t_score_is_looked_up_with_its_standard_error():
    score = made_up().score({"a1": 2, "a2": 2, "a3": 2, "a4": 1})
    assert (score.total, score.standard_error) == (Decimal("34.8"), Decimal("3.1"))


def test_a_t_score_with_an_item_left_out_prorates_the_raw_sum():
    # 2 + 3 + 3 over 3 items -> 8 x 4 / 3 = 10.67, rounded to 11
    score = made_up().score({"a1": 2, "a2": 3, "a3": 3})
    assert (score.total, score.standard_error) == (Decimal("49.9"), Decimal("3.4"))


def test_fewer_items_than_the_fewest_for_a_score_are_refused():
    with pytest.raises(ScoringError) as error:
        made_up().score({"a1": 2, "a2": 3})
    assert set(error.value.errors) == {"answers.a3", "answers.a4"}
    assert "at least 3 items" in error.value.errors["answers.a3"]


def test_texts_in_a_published_language_and_english_otherwise():
    # given / when
    shown_es, phq2_es = _definition("phq2").texts("es")
    shown_peg, peg3_es = _definition("peg3").texts("es")

    # then
    assert shown_es == "es"
    assert phq2_es["items"][0]["text"] == "Poco interés o placer en hacer cosas"
    assert phq2_es["items"][0]["answers"][0]["label"] == "Ningún día"
    assert shown_peg == "en"
    assert peg3_es["items"][0]["text"].startswith("What number best describes your pain")
