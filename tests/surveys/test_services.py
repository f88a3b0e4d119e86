import datetime as dt
import zoneinfo

import pytest
from django.utils import timezone

from apps.surveys.services import response_record
from tests.factories import PatientFactory, make_ablation

pytestmark = pytest.mark.django_db

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")


def test_a_survey_at_23_30_local_time_counts_for_its_local_date():
    # given an ablation on 2026-01-01 whose 2-week window closes on 2026-01-22
    ablation = make_ablation(patient=PatientFactory(), performed_on=dt.date(2026, 1, 1))
    # when the patient answers at 23:30 New York time on the last day (04:30 UTC the next day)
    completed = dt.datetime(2026, 1, 22, 23, 30, tzinfo=NEW_YORK)
    response = response_record(ablation=ablation, completed_at=completed, pain_average=3, collected_via="phone")
    # then it counts for the 2-week follow-up
    assert completed.astimezone(dt.UTC).date() == dt.date(2026, 1, 23)
    assert response.follow_up.time_point == "2w"


def test_a_survey_between_windows_is_unscheduled():
    ablation = make_ablation(patient=PatientFactory(), performed_on=dt.date(2026, 1, 1))
    between_1m_and_3m = dt.datetime(2026, 3, 1, 12, 0, tzinfo=NEW_YORK)
    response = response_record(ablation=ablation, completed_at=between_1m_and_3m, pain_average=3, collected_via="phone")
    assert response.follow_up is None


def test_of_several_answers_in_one_window_the_last_completed_counts():
    ablation = make_ablation(patient=PatientFactory(), performed_on=dt.date(2026, 1, 1))
    later = response_record(
        ablation=ablation,
        completed_at=dt.datetime(2026, 1, 20, 9, tzinfo=NEW_YORK),
        pain_average=5,
        collected_via="phone",
    )
    response_record(
        ablation=ablation,
        completed_at=dt.datetime(2026, 1, 12, 9, tzinfo=NEW_YORK),
        pain_average=1,
        collected_via="phone",
    )
    assert ablation.follow_ups.get(time_point="2w").counted_response == later


def test_on_equal_times_the_answer_recorded_last_counts():
    ablation = make_ablation(patient=PatientFactory(), performed_on=dt.date(2026, 1, 1))
    at = dt.datetime(2026, 1, 15, 9, tzinfo=NEW_YORK)
    response_record(ablation=ablation, completed_at=at, pain_average=5, collected_via="phone")
    second = response_record(ablation=ablation, completed_at=at, pain_average=2, collected_via="clinic")
    assert ablation.follow_ups.get(time_point="2w").counted_response == second


def test_an_answer_cannot_be_in_the_future():
    from django.core.exceptions import ValidationError

    ablation = make_ablation(patient=PatientFactory())
    with pytest.raises(ValidationError) as error:
        response_record(
            ablation=ablation,
            completed_at=timezone.now() + dt.timedelta(hours=1),
            pain_average=3,
            collected_via="phone",
        )
    assert "completed_at" in error.value.message_dict
