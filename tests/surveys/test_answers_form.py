"""Staff's answers form (surveys.forms.FollowUpAnswersForm): the answers count for the follow-up only inside its
window, both ends included, in the clinic's dates (outcome-definitions.md: days in the clinic's time zone)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from apps.surveys.forms import FollowUpAnswersForm
from tests.factories import make_ablation, make_reachable_patient

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("day", "at", "accepted"),
    [
        # 23:30 in the clinic (New York) is already the next day in UTC.
        pytest.param("window_end", "23:30", True, id="last-day-late-evening"),
        pytest.param("day_after_end", "00:30", False, id="day-after-just-after-midnight"),
        pytest.param("window_start", "00:30", True, id="first-day-just-after-midnight"),
        pytest.param("day_before_start", "23:30", False, id="day-before-late-evening"),
    ],
)
def test_answers_count_inside_the_window_in_the_clinics_dates(day, at, accepted):
    # given: a 2-week follow-up whose window (days 10 to 21) has closed
    ablation = make_ablation(
        patient=make_reachable_patient(), performed_on=timezone.localdate() - dt.timedelta(days=60)
    )
    follow_up = ablation.follow_ups.get(time_point="2w")
    days = {
        "window_end": follow_up.window_end,
        "day_after_end": follow_up.window_end + dt.timedelta(days=1),
        "window_start": follow_up.window_start,
        "day_before_start": follow_up.window_start - dt.timedelta(days=1),
    }
    data = {"completed_at": f"{days[day]:%Y-%m-%d}T{at}", "collected_via": "phone", "pain_average": 4}

    # when
    form = FollowUpAnswersForm(data, follow_up=follow_up)

    # then
    assert form.is_valid() == accepted, form.errors
    if not accepted:
        assert "outside the 2 weeks window" in str(form.errors["completed_at"])
