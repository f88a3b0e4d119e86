"""The patients' survey pages: link into session, neutral page, headers, single use, rate limit, diary."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apps.blocks.models import DiaryEntry
from apps.clinic.selectors import protocol_get
from apps.surveys.models import CollectedVia, SurveyResponse
from tests.factories import BlockFactory, make_ablation, make_reachable_patient, make_survey_link

pytestmark = pytest.mark.django_db


def open_follow_up(**patient_fields):
    """A 2-week follow-up whose window holds today, and a link to it."""
    patient = make_reachable_patient(first_name="Rosa", **patient_fields)
    ablation = make_ablation(patient=patient, performed_on=timezone.localdate() - dt.timedelta(days=14))
    follow_up = ablation.follow_ups.get(time_point="2w")
    link, token = make_survey_link(follow_up=follow_up)
    return follow_up, link, token


def test_opening_a_link_moves_it_into_the_session_and_redirects_to_a_url_without_the_token(client):
    # given
    _, link, token = open_follow_up()

    # when
    response = client.get(reverse("surveys:open", args=[token]))

    # then
    assert (response.status_code, response["Location"]) == (302, reverse("surveys:answer"))
    assert token not in response["Location"]
    assert client.session["survey_link"] == str(link.public_id)
    assert response["Referrer-Policy"] == "no-referrer"
    assert response["Cache-Control"] == "no-store"


def test_the_survey_greets_by_first_name_only_and_stores_the_answers(client):
    # given
    follow_up, _, token = open_follow_up()
    client.get(reverse("surveys:open", args=[token]))

    # when
    page = client.get(reverse("surveys:answer"))
    response = client.post(
        reverse("surveys:answer"),
        {"pain_average": "3", "pain_current": "2", "pain_worst": "6", "percent_relief": "60", "pgic": "2"},
    )

    # then
    assert page.status_code == 200
    assert "Hello Rosa," in page.text and follow_up.ablation.patient.last_name not in page.text
    assert page["Cache-Control"] == "no-store"
    assert response["Location"] == reverse("surveys:thanks")
    answer = SurveyResponse.objects.get()
    assert (answer.pain_average, answer.pain_worst, answer.pgic, answer.collected_via) == (
        3,
        6,
        2,
        CollectedVia.PATIENT_LINK,
    )
    follow_up.refresh_from_db()
    assert follow_up.counted_response == answer
    assert "Thank you, Rosa!" in client.get(reverse("surveys:thanks")).text


def test_average_pain_is_required(client):
    # given
    _, _, token = open_follow_up()
    client.get(reverse("surveys:open", args=[token]))

    # when
    response = client.post(reverse("surveys:answer"), {"pain_current": "2"})

    # then
    assert response.status_code == 200
    assert "Please choose a number from 0 to 10." in response.text
    assert not SurveyResponse.objects.exists()


def test_the_page_is_in_the_patients_language(client):
    # given
    _, _, token = open_follow_up(language="es")
    client.get(reverse("surveys:open", args=[token]))

    # when
    page = client.get(reverse("surveys:answer"))

    # then
    assert '<html lang="es">' in page.text
    assert "Hola, Rosa:" in page.text and "Su dolor promedio en las últimas 24 horas" in page.text


def test_opening_again_in_the_same_browser_says_already_answered(client):
    # given
    _, _, token = open_follow_up()
    client.get(reverse("surveys:open", args=[token]))
    client.post(reverse("surveys:answer"), {"pain_average": "3"})

    # when
    again = client.get(reverse("surveys:open", args=[token]), follow=True)

    # then
    assert again.status_code == 200
    assert "This survey has already been answered" in again.text


@pytest.mark.parametrize("state", ["unknown", "expired", "used", "revoked"])
def test_every_link_that_does_not_open_gets_the_same_neutral_page(state):
    # given
    _, link, token = open_follow_up()
    now = timezone.now()
    if state == "unknown":
        token = "A" * 32
    elif state == "expired":
        type(link).objects.filter(pk=link.pk).update(expires_at=now - dt.timedelta(seconds=1))
    elif state == "used":
        type(link).objects.filter(pk=link.pk).update(used_at=now)
    else:
        type(link).objects.filter(pk=link.pk).update(revoked_at=now)
    neutral = Client().get(reverse("surveys:open", args=["B" * 32]))

    # when
    response = Client().get(reverse("surveys:open", args=[token]))

    # then
    assert response.status_code == neutral.status_code == 404
    assert response.content == neutral.content
    assert response["Cache-Control"] == "no-store"


def test_a_link_revoked_after_opening_no_longer_takes_answers(client):
    # given
    _, link, token = open_follow_up()
    client.get(reverse("surveys:open", args=[token]))
    type(link).objects.filter(pk=link.pk).update(revoked_at=timezone.now())

    # when
    response = client.post(reverse("surveys:answer"), {"pain_average": "3"})

    # then
    assert response.status_code == 404
    assert not SurveyResponse.objects.exists()


def test_opening_is_rate_limited_per_address(settings):
    # given
    settings.SURVEY_RATE_LIMIT = 3
    # Addresses of this run only: the counts live in Redis for the whole window, across test runs.
    client = Client(REMOTE_ADDR=f"192.0.2.{uuid.uuid4()}")
    other = Client(REMOTE_ADDR=f"198.51.100.{uuid.uuid4()}")

    # when
    statuses = [client.get(reverse("surveys:open", args=[f"guess{n:027d}"])).status_code for n in range(4)]

    # then
    assert statuses == [404, 404, 404, 429]
    assert other.get(reverse("surveys:open", args=["guess" + "0" * 27])).status_code == 404


def test_a_diary_link_lands_in_the_blocks_diary_as_patient_reported(client):
    # given: a block an hour ago with a baseline of 8
    patient = make_reachable_patient()
    block = BlockFactory(patient=patient, performed_at=timezone.now() - dt.timedelta(minutes=50), baseline_nrs=8)
    _, token = make_survey_link(block=block, diary_minutes=60)
    client.get(reverse("surveys:open", args=[token]))

    # when
    page = client.get(reverse("surveys:answer"))
    client.post(reverse("surveys:answer"), {"pain_current": "2"})

    # then
    assert "How is your pain right now?" in page.text
    entry = DiaryEntry.objects.get(block=block)
    assert (entry.minutes_after, entry.nrs, entry.source) == (60, 2, DiaryEntry.Source.PATIENT)
    assert block.assess(protocol_get()).is_positive  # 8 -> 2 is 75% relief


def test_the_opt_out_link_stops_messages(client):
    # given
    follow_up, _, token = open_follow_up()
    patient = follow_up.ablation.patient

    # when
    client.get(reverse("surveys:open_stop", args=[token]))
    confirm = client.get(reverse("surveys:stop"))
    client.post(reverse("surveys:stop"))

    # then
    patient.refresh_from_db()
    assert "Stop survey messages?" in confirm.text
    assert patient.opted_out_at is not None


def test_the_form_still_needs_its_csrf_token_when_the_browser_sends_origin_null():
    # given: a browser that enforces CSRF, with the link in its session
    _, _, token = open_follow_up()
    client = Client(enforce_csrf_checks=True)
    client.get(reverse("surveys:open", args=[token]))
    form = client.get(reverse("surveys:answer"))
    csrf = form.context["csrf_token"]

    # when
    without = client.post(reverse("surveys:answer"), {"pain_average": "3"}, HTTP_ORIGIN="null")
    with_token = client.post(
        reverse("surveys:answer"), {"pain_average": "3", "csrfmiddlewaretoken": str(csrf)}, HTTP_ORIGIN="null"
    )

    # then
    assert without.status_code == 403
    assert with_token.status_code == 302
    assert SurveyResponse.objects.count() == 1
