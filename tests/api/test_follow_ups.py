import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apps.api.services import token_issue
from apps.audit.models import AccessEvent
from apps.surveys.models import SurveyResponse
from tests.factories import PatientFactory, make_ablation

pytestmark = pytest.mark.django_db


def bearer(user, *, read_only=False) -> Client:
    _, raw = token_issue(user=user, name="tests", expires_at=timezone.now() + dt.timedelta(days=1), read_only=read_only)
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


def open_follow_up():
    """The 2-week follow-up of an ablation done 14 days ago: its window holds today."""
    ablation = make_ablation(patient=PatientFactory(), performed_on=timezone.localdate() - dt.timedelta(days=14))
    return ablation.follow_ups.order_by("target_date").first()


def answers(**fields) -> dict:
    completed = timezone.localtime().replace(second=0, microsecond=0) - dt.timedelta(hours=1)
    return {"completed_at": completed.isoformat(), "collected_via": "phone", "pain_average": 3, **fields}


def test_staff_record_answers_and_read_the_follow_up_back(staff_user):
    # given
    follow_up = open_follow_up()
    client = bearer(staff_user)
    # when
    created = client.post(
        reverse("api:follow_up_answers", args=[follow_up.public_id]),
        answers(pain_worst=5, pgic=2),
        content_type="application/json",
    )
    read = client.get(reverse("api:follow_up_detail", args=[follow_up.public_id]))
    # then
    assert created.status_code == 201
    response = SurveyResponse.objects.get()
    assert (response.follow_up, response.recorded_by, response.pain_worst) == (follow_up, staff_user, 5)
    body = read.json()
    assert body["status"] == "completed"
    assert body["response"] == created.json()
    assert body["patient"] == str(follow_up.ablation.patient.public_id)


def test_answers_outside_the_window_are_refused_naming_the_field(staff_user):
    # given
    follow_up = open_follow_up()
    too_early = timezone.localtime(timezone.now() - dt.timedelta(days=60)).isoformat()
    # when
    response = bearer(staff_user).post(
        reverse("api:follow_up_answers", args=[follow_up.public_id]),
        answers(completed_at=too_early, pain_average=11),
        content_type="application/json",
    )
    # then
    assert response.status_code == 400
    assert set(response.json()) == {"completed_at", "pain_average"}
    assert not SurveyResponse.objects.exists()


def test_a_read_only_token_cannot_record_answers(staff_user):
    # given
    follow_up = open_follow_up()
    # when
    response = bearer(staff_user, read_only=True).post(
        reverse("api:follow_up_answers", args=[follow_up.public_id]), answers(), content_type="application/json"
    )
    # then
    assert response.status_code == 403
    assert not SurveyResponse.objects.exists()


def test_reading_a_follow_up_writes_one_access_event(staff_user):
    # given
    follow_up = open_follow_up()
    last = AccessEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    # when
    bearer(staff_user, read_only=True).get(reverse("api:follow_up_detail", args=[follow_up.public_id]))
    # then
    [event] = AccessEvent.objects.filter(id__gt=last)
    assert (event.actor_id, event.patient_id, event.category) == (
        staff_user.pk,
        follow_up.ablation.patient.pk,
        "survey",
    )


def test_a_time_no_time_zone_can_hold_is_refused_naming_the_field(staff_user):
    # given (found by schemathesis: year 1 overflowed converting to the clinic's time zone, a 500)
    follow_up = open_follow_up()
    # when
    response = bearer(staff_user).post(
        reverse("api:follow_up_answers", args=[follow_up.public_id]),
        answers(completed_at="0001-01-01T00:00:00Z", pain_average=11),
        content_type="application/json",
    )
    # then both problems named, nothing written
    assert response.status_code == 400
    assert set(response.json()) == {"completed_at", "pain_average"}
    assert not SurveyResponse.objects.exists()
