"""Every survey asks "Any new problem since the procedure?": the patient's link (English and Spanish), the API."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.adverse_events.selectors import new_problems_waiting
from apps.surveys.models import SurveyResponse
from tests.api.test_api import bearer
from tests.factories import UserFactory, make_ablation, make_reachable_patient, make_survey_link

pytestmark = pytest.mark.django_db


def open_link(client, language="en"):
    patient = make_reachable_patient(first_name="Rosa", language=language)
    ablation = make_ablation(patient=patient, performed_on=timezone.localdate() - dt.timedelta(days=14))
    _, token = make_survey_link(follow_up=ablation.follow_ups.get(time_point="2w"))
    client.get(reverse("surveys:open", args=[token]))
    return ablation


@pytest.mark.parametrize(
    ("language", "question", "box", "yes"),
    [
        ("en", "Any new problem since the procedure?", "What happened?", ">Yes</label>"),
        ("es", "¿Algún problema nuevo desde el procedimiento?", "¿Qué pasó?", ">Sí</label>"),
    ],
)
def test_the_link_asks_about_a_new_problem_in_the_patients_language(client, language, question, box, yes):
    # given
    open_link(client, language)

    # when
    page = client.get(reverse("surveys:answer"))

    # then
    assert question in page.text and box in page.text and yes in page.text
    assert f"{question} <span" not in page.text  # optional: not marked required


def test_a_yes_and_the_patients_words_are_stored_and_wait_for_staff(client):
    # given
    open_link(client)

    # when
    response = client.post(
        reverse("surveys:answer"),
        {"pain_average": "4", "new_problem": "true", "new_problem_text": "The skin is numb and burns"},
    )

    # then
    assert response.status_code == 302
    answer = SurveyResponse.objects.get()
    assert (answer.new_problem, answer.new_problem_text) == (True, "The skin is numb and burns")
    assert list(new_problems_waiting(user=UserFactory())) == [answer]


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ({}, (None, "")),
        ({"new_problem": "false"}, (False, "")),
        # words without a yes or no: a patient who describes a problem has one
        ({"new_problem_text": "Bruise"}, (True, "Bruise")),
        # a no with words keeps both, and does not wait for staff
        ({"new_problem": "false", "new_problem_text": "Nothing new"}, (False, "Nothing new")),
    ],
)
def test_the_question_is_optional_and_nothing_written_is_dropped(client, sent, stored):
    # given
    open_link(client)

    # when
    client.post(reverse("surveys:answer"), {"pain_average": "4", **sent})

    # then
    answer = SurveyResponse.objects.get()
    assert (answer.new_problem, answer.new_problem_text) == stored
    assert new_problems_waiting(user=UserFactory()).exists() == (stored[0] is True)


def test_the_api_takes_the_new_problem_with_the_answers(staff_user):
    # given
    ablation = make_ablation(
        patient=make_reachable_patient(), performed_on=timezone.localdate() - dt.timedelta(days=14)
    )
    follow_up = ablation.follow_ups.get(time_point="2w")
    url = reverse("api:follow_up_answers", args=[follow_up.public_id])
    body = {"completed_at": timezone.localtime().isoformat(), "collected_via": "phone", "pain_average": 3}

    # when
    refused = bearer(staff_user).post(url, body | {"new_problem": "maybe"}, content_type="application/json")
    created = bearer(staff_user).post(
        url, body | {"new_problem": True, "new_problem_text": "Leg weak"}, content_type="application/json"
    )

    # then
    assert refused.status_code == 400 and "new_problem" in refused.json()
    assert created.status_code == 201
    assert list(new_problems_waiting(user=UserFactory()).values_list("new_problem_text", flat=True)) == ["Leg weak"]
