"""The derived follow-up rows the outcomes engine reads (FollowUpFact, kept by database triggers) always hold each
follow-up's window and the scores of the answer it counts: after ablations are recorded and re-dated, answers
recorded, superseded and corrected, follow-ups deleted, and bulk inserts."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from apps.clinic.demo import seed_demo
from apps.cryoablations.models import Cryoablation, FollowUp
from apps.cryoablations.services import ablation_update
from apps.reports.models import FollowUpFact
from apps.surveys.models import CollectedVia, SurveyResponse
from apps.surveys.services import counted_responses_refresh, response_record
from tests.factories import PatientFactory, make_ablation

pytestmark = pytest.mark.django_db

NEW_YORK = ZoneInfo("America/New_York")
ABLATED_ON = dt.date(2025, 1, 10)


def source_rows() -> dict[int, tuple]:
    """What each follow-up's row must hold, read from the follow-ups and their counted answers."""
    rows = {}
    for f in FollowUp.objects.select_related("counted_response"):
        r = f.counted_response
        answer = (r.pk, r.pain_average, r.pgic, r.completed_at) if r else (None, None, None, None)
        rows[f.pk] = (f.ablation_id, f.time_point, f.window_end, *answer)
    return rows


def derived_rows() -> dict[int, tuple]:
    return {
        x.follow_up_id: (
            x.ablation_id, x.time_point, x.window_end, x.counted_response_id, x.pain_average, x.pgic, x.completed_at
        )
        for x in FollowUpFact.objects.all()
    }  # fmt: skip


def assert_derived_rows_follow_the_source() -> int:
    source = source_rows()
    assert derived_rows() == source
    return len(source)


def answer(ablation, *, day: int, pain: int, pgic: int | None = None, hour: int = 10):
    completed = dt.datetime.combine(ablation.performed_on + dt.timedelta(days=day), dt.time(hour), tzinfo=NEW_YORK)
    return response_record(
        ablation=ablation, completed_at=completed, pain_average=pain, pgic=pgic, collected_via=CollectedVia.PHONE
    )


def test_a_recorded_ablation_has_a_row_per_follow_up_without_an_answer():
    # when
    ablation = make_ablation(patient=PatientFactory(), performed_on=ABLATED_ON)
    # then
    assert assert_derived_rows_follow_the_source() == ablation.follow_ups.count() > 0
    assert not FollowUpFact.objects.filter(counted_response_id__isnull=False).exists()


def test_the_counted_answer_is_the_last_in_the_window_and_follows_corrections():
    # given
    ablation = make_ablation(patient=PatientFactory(), performed_on=ABLATED_ON)
    three_months = ablation.follow_ups.get(time_point="3m")
    # when an answer is recorded at 3 months
    first = answer(ablation, day=88, pain=4, pgic=2)
    # then
    assert FollowUpFact.objects.get(follow_up=three_months).counted_response_id == first.pk
    assert_derived_rows_follow_the_source()
    # when a later one in the same window supersedes it
    later = answer(ablation, day=95, pain=2, pgic=1)
    # then
    fact = FollowUpFact.objects.get(follow_up=three_months)
    assert (fact.counted_response_id, fact.pain_average, fact.pgic) == (later.pk, 2, 1)
    # when staff correct the counted answer's score and time
    SurveyResponse.objects.filter(pk=later.pk).update(pain_average=6, pgic=None)
    SurveyResponse.objects.filter(pk=later.pk).update(completed_at=later.completed_at + dt.timedelta(hours=2))
    # then
    fact = FollowUpFact.objects.get(follow_up=three_months)
    assert (fact.pain_average, fact.pgic) == (6, None)
    assert assert_derived_rows_follow_the_source() == ablation.follow_ups.count()


def test_correcting_an_answer_no_follow_up_counts_changes_nothing():
    ablation = make_ablation(patient=PatientFactory(), performed_on=ABLATED_ON)
    earlier = answer(ablation, day=80, pain=5)
    answer(ablation, day=90, pain=3)
    SurveyResponse.objects.filter(pk=earlier.pk).update(pain_average=0)
    assert_derived_rows_follow_the_source()


def test_an_answer_taken_away_from_a_follow_up():
    # given a counted answer
    ablation = make_ablation(patient=PatientFactory(), performed_on=ABLATED_ON)
    response = answer(ablation, day=90, pain=3)
    # when it is moved off the follow-up (unscheduled) and the counted answers refreshed
    SurveyResponse.objects.filter(pk=response.pk).update(follow_up=None)
    counted_responses_refresh(follow_ups=ablation.follow_ups.all())
    # then no answer counts any more
    assert not FollowUpFact.objects.filter(counted_response_id__isnull=False).exists()
    assert_derived_rows_follow_the_source()


def test_a_re_dated_ablation_moves_its_windows_and_answers():
    # given an ablation with answers
    ablation = make_ablation(patient=PatientFactory(), performed_on=ABLATED_ON)
    answer(ablation, day=14, pain=5)
    answer(ablation, day=90, pain=2)
    # when its date is corrected a week earlier (the follow-ups are re-dated, the answers re-assigned)
    ablation_update(ablation=ablation, performed_on=ABLATED_ON - dt.timedelta(days=7))
    # then
    assert_derived_rows_follow_the_source()


def test_deleted_follow_ups_take_their_rows_with_them():
    ablation = make_ablation(patient=PatientFactory(), performed_on=ABLATED_ON)
    FollowUp.objects.filter(ablation=ablation, time_point="12m").delete()
    assert assert_derived_rows_follow_the_source() == ablation.follow_ups.count()
    assert not FollowUpFact.objects.filter(ablation_id=ablation.pk, time_point="12m").exists()


def test_the_demo_seeds_copy_and_bulk_refresh_keep_them():
    # given demo patients written with COPY, their counted answers set by one update per batch
    seed_demo(patients=30, batch_size=10)
    # then
    assert assert_derived_rows_follow_the_source() == FollowUp.objects.count() > 0
    assert Cryoablation.objects.exists()
    assert FollowUpFact.objects.filter(counted_response_id__isnull=False).exists()
