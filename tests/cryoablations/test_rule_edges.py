"""The edges of the rules on the ablation pages: what the page says of a block staff name instead of the rule's
(outside the look-back, after the ablation), and which answers the staff form takes for a follow-up (the window's
first and last clinic-local day, both included)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.clinic.selectors import protocol_get
from apps.cryoablations.selectors import qualifying_block_notes
from apps.surveys.models import SurveyResponse
from tests.factories import BlockFactory, PatientFactory, make_ablation

pytestmark = pytest.mark.django_db

NEW_YORK = ZoneInfo("America/New_York")  # the clinic's time zone (settings.TIME_ZONE)
ABLATED_ON = timezone.localdate() - dt.timedelta(days=10)


def notes_for_a_block(days_before: int, *, hour: int = 10, minute: int = 0) -> list[str]:
    """The notes of an ablation on ABLATED_ON whose staff named a 75% block `days_before` it (New York time)."""
    patient = PatientFactory()
    day = ABLATED_ON - dt.timedelta(days=days_before)
    named = BlockFactory(
        patient=patient, performed_at=dt.datetime.combine(day, dt.time(hour, minute), tzinfo=NEW_YORK), diary=[(30, 2)]
    )
    ablation = make_ablation(patient=patient, performed_on=ABLATED_ON, qualifying_block=named)
    return qualifying_block_notes(ablation=ablation, protocol=protocol_get())


def test_a_named_block_180_days_before_or_on_the_ablation_day_needs_no_note():
    assert notes_for_a_block(180) == []
    assert notes_for_a_block(0) == []
    # 23:30 New York time on the ablation day is the next day in UTC, still the ablation's day in the clinic
    assert notes_for_a_block(0, hour=23, minute=30) == []


def test_a_named_block_181_days_before_is_flagged():
    assert notes_for_a_block(181) == ["This block was performed 181 days before the treatment, more than 180."]


def test_a_named_block_the_day_after_the_ablation_is_flagged():
    assert notes_for_a_block(-1) == ["This block was performed 1 days after the treatment."]


# ---------------------------------------------------------------------------------------------------------------
# The staff answers form: the window's days are the clinic's, both ends included


def post_answers(client, completed_at: dt.datetime):
    """Answers for the 2-week follow-up (window: days 10..21) of an ablation 40 days ago, at a clinic time."""
    ablation = make_ablation(patient=PatientFactory(), performed_on=timezone.localdate() - dt.timedelta(days=40))
    follow_up = ablation.follow_ups.get(time_point="2w")
    day = {"first": follow_up.window_start, "last": follow_up.window_end}
    data = {
        "completed_at": completed_at(day).strftime("%Y-%m-%dT%H:%M"),
        "collected_via": "phone",
        "pain_average": "3",
    }
    return follow_up, client.post(reverse("cryoablations:follow_up_answers", args=[follow_up.public_id]), data)


@pytest.mark.parametrize(
    "completed_at",
    [
        # the last day at 23:30 clinic time: the next day in UTC
        lambda day: dt.datetime.combine(day["last"], dt.time(23, 30)),
        lambda day: dt.datetime.combine(day["first"], dt.time(0, 0)),
    ],
    ids=["last-day-23:30", "first-day-00:00"],
)
def test_answers_on_the_window_s_first_and_last_clinic_day_are_taken(staff_client, completed_at):
    follow_up, response = post_answers(staff_client, completed_at)
    assert response.status_code == 302
    assert SurveyResponse.objects.get().follow_up == follow_up


@pytest.mark.parametrize(
    "completed_at",
    [
        lambda day: dt.datetime.combine(day["last"] + dt.timedelta(days=1), dt.time(0, 30)),
        lambda day: dt.datetime.combine(day["first"] - dt.timedelta(days=1), dt.time(23, 59)),
    ],
    ids=["day-after-00:30", "day-before-23:59"],
)
def test_answers_a_day_outside_the_window_are_refused(staff_client, completed_at):
    follow_up, response = post_answers(staff_client, completed_at)
    assert response.status_code == 200
    assert "is outside the 2 weeks window" in response.text
    assert not SurveyResponse.objects.exists()
