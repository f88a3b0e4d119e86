"""A block's peak relief and result (outcome-definitions.md, Diagnostic block)."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.blocks.models import Result
from apps.clinic.selectors import protocol_get
from tests.factories import BlockFactory

pytestmark = pytest.mark.django_db


def test_peak_relief_is_the_largest_reduction_and_positive_at_the_threshold():
    # given baseline 8 and diary 15 min: 2, 30 min: 1
    block = BlockFactory(baseline_nrs=8, diary=[(15, 2), (30, 1)])
    # when
    assessment = block.assess(protocol_get())
    # then
    assert assessment.peak_relief_percent == Decimal("87.5")
    assert assessment.result == Result.POSITIVE


def test_relief_just_below_the_threshold_is_negative_and_exactly_at_it_positive():
    protocol = protocol_get()
    assert BlockFactory(baseline_nrs=10, diary=[(30, 6)]).assess(protocol).result == Result.NEGATIVE
    assert BlockFactory(baseline_nrs=10, diary=[(30, 5)]).assess(protocol).result == Result.POSITIVE


def test_the_protocol_threshold_decides():
    protocol = protocol_get()
    protocol.block_threshold_percent = Decimal(80)
    block = BlockFactory(baseline_nrs=10, diary=[(30, 3)])
    assert block.assess(protocol).result == Result.NEGATIVE


def test_entries_outside_the_window_are_kept_but_not_counted():
    protocol = protocol_get()
    block = BlockFactory(baseline_nrs=8, diary=[(360, 6), (361, 0), (720, 0)])
    assessment = block.assess(protocol)
    assert assessment.peak_relief_percent == Decimal(25)
    assert assessment.result == Result.NEGATIVE
    assert [row.counted for row in block.diary_rows(protocol)] == [True, False, False]


def test_baseline_zero_is_not_evaluable():
    block = BlockFactory(baseline_nrs=0, diary=[(30, 0)])
    assert block.assess(protocol_get()).result == Result.NOT_EVALUABLE


def test_no_diary_is_pending_until_the_window_closes_then_not_evaluable():
    protocol = protocol_get()
    performed = timezone.now() - dt.timedelta(hours=2)
    block = BlockFactory(performed_at=performed, diary=[])
    assert block.assess(protocol, now=performed + dt.timedelta(minutes=359)).result == Result.PENDING
    assert block.assess(protocol, now=performed + dt.timedelta(minutes=361)).result == Result.NOT_EVALUABLE


def test_worse_pain_gives_a_negative_reduction():
    block = BlockFactory(baseline_nrs=4, diary=[(30, 6)])
    assessment = block.assess(protocol_get())
    assert assessment.peak_relief_percent == Decimal(-50)
    assert assessment.result == Result.NEGATIVE
