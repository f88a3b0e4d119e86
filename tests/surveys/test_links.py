"""Patients' survey links (surveys.services.link_create, links_create): made in one place, open until the end of the
follow-up window's last day in the clinic's time zone, and not a moment longer."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from apps.surveys.models import SurveyLink, SurveyResponse
from apps.surveys.selectors import link_by_token, link_is_open
from apps.surveys.services import LinkNotUsable, link_answer, link_create, links_create, token_hash
from tests.factories import BlockFactory, make_ablation, make_reachable_patient

pytestmark = pytest.mark.django_db


def two_week_follow_up():
    patient = make_reachable_patient()
    return make_ablation(patient=patient, performed_on=timezone.localdate() - dt.timedelta(days=14)).follow_ups.get(
        time_point="2w"
    )


def test_a_follow_ups_link_is_open_until_the_end_of_the_windows_last_day_in_clinic_time():
    # given
    follow_up = two_week_follow_up()

    # when
    new = link_create(patient=follow_up.ablation.patient, follow_up=follow_up)

    # then: midnight after the last day, in the clinic's time zone; only the token's hash is kept
    closes = dt.datetime.combine(
        follow_up.window_end + dt.timedelta(days=1), dt.time(), timezone.get_default_timezone()
    )
    assert new.link.expires_at == closes
    assert link_by_token(token=new.token) == new.link and new.link.token_hash == token_hash(new.token)
    assert link_is_open(link=new.link, now=closes - dt.timedelta(microseconds=1))
    assert not link_is_open(link=new.link, now=closes)


def test_links_made_at_once_each_get_their_own_token():
    # given
    follow_up = two_week_follow_up()
    block = BlockFactory(patient=follow_up.ablation.patient)
    expires_at = timezone.now() + dt.timedelta(hours=1)
    patient = follow_up.ablation.patient

    # when
    made = links_create(
        targets=[
            {"patient": patient, "follow_up": follow_up},
            {"patient": patient, "block": block, "diary_minutes": 30, "expires_at": expires_at},
        ]
    )

    # then
    assert [link_by_token(token=new.token) for new in made] == [new.link for new in made]
    assert SurveyLink.objects.count() == 2 and made[1].link.expires_at == expires_at


def test_a_diary_link_needs_its_expiry():
    block = BlockFactory(patient=make_reachable_patient())
    with pytest.raises(ValueError, match="expiry"):
        link_create(patient=block.patient, block=block, diary_minutes=30)


def test_answers_submitted_at_the_links_expiry_are_refused():
    # given: a link opened in time (it is in the browser's session), submitted when it expires
    follow_up = two_week_follow_up()
    new = link_create(patient=follow_up.ablation.patient, follow_up=follow_up, expires_at=timezone.now())

    # when / then
    with pytest.raises(LinkNotUsable):
        link_answer(link=new.link, answers={"pain_average": 3}, now=new.link.expires_at)
    assert not SurveyResponse.objects.exists()
