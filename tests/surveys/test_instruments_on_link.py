"""The function and mood instruments on the patient's survey link: asked after the pain questions at the time points
the clinic's schedule names, in the patient's language where the instrument is published in it (else in English,
saying so), every item required, written with the pain answer or not at all."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from apps.instruments.models import Instrument, InstrumentAnswer
from apps.surveys.models import SurveyLink, SurveyResponse
from tests.factories import make_ablation, make_reachable_patient, make_survey_link

pytestmark = pytest.mark.django_db

PEG3 = {"instrument-peg3-1": "6", "instrument-peg3-2": "5", "instrument-peg3-3": "4"}
PHQ2 = {"instrument-phq2-1": "2", "instrument-phq2-2": "1"}
GAD2 = {"instrument-gad2-1": "0", "instrument-gad2-2": "3"}
ALL = PEG3 | PHQ2 | GAD2


def open_link(client, *, time_point="3m", days=90, **patient_fields):
    """A follow-up whose window holds today and its link, opened in `client`."""
    patient = make_reachable_patient(first_name="Rosa", **patient_fields)
    treatment = make_ablation(patient=patient, performed_on=timezone.localdate() - dt.timedelta(days=days))
    follow_up = treatment.follow_ups.get(time_point=time_point)
    link, token = make_survey_link(follow_up=follow_up)
    client.get(reverse("surveys:open", args=[token]))
    return follow_up, link


def test_the_instruments_due_at_3_months_follow_the_pain_questions_in_english(client):
    # given
    open_link(client)

    # when
    page = client.get(reverse("surveys:answer")).text

    # then: PEG-3, PHQ-2 and GAD-2, after "Any new problem", in their published English wording
    assert page.index("Any new problem since the procedure?") < page.index("PEG-3") < page.index("PHQ-2")
    assert "What number best describes your pain on average in the past week?" in page
    assert "Little interest or pleasure in doing things" in page
    assert "Not being able to stop or control worrying" in page
    assert "not available" not in page


def test_a_spanish_speaker_gets_phq2_in_its_published_spanish_and_peg3_in_english_with_a_note(client):
    # given
    open_link(client, language="es")

    # when
    page = client.get(reverse("surveys:answer")).text

    # then
    assert "Poco interés o placer en hacer cosas" in page and "Más de la mitad de los días" in page
    assert "Little interest or pleasure" not in page
    assert page.count("Este cuestionario no está disponible en español; se pregunta en inglés.") == 2  # PEG-3, GAD-2
    assert "What number best describes your pain on average in the past week?" in page
    assert 'lang="en"' in page


def test_no_instrument_at_a_time_point_the_schedule_does_not_name(client):
    # given: the 2-week follow-up (the default schedule: baseline, 3, 6 and 12 months)
    open_link(client, time_point="2w", days=14)

    # when
    page = client.get(reverse("surveys:answer")).text

    # then
    assert "PEG-3" not in page and "Only the first question is required." in page


def test_the_schedule_is_the_clinics_setting(client):
    # given: the clinic asks PHQ-2 at 2 weeks too
    Instrument.objects.filter(code="phq2").update(time_points=["baseline", "2w"])
    open_link(client, time_point="2w", days=14)

    # when
    page = client.get(reverse("surveys:answer")).text

    # then
    assert "PHQ-2" in page and "PEG-3" not in page


def test_one_submit_writes_the_pain_answer_and_every_instrument_scored_via_the_link(client):
    # given
    follow_up, link = open_link(client, language="es")

    # when
    response = client.post(reverse("surveys:answer"), {"pain_average": "4"} | ALL)

    # then
    assert response.status_code == 302 and response["Location"] == reverse("surveys:thanks")
    survey = SurveyResponse.objects.get()
    answers = {a.instrument.code: a for a in InstrumentAnswer.objects.select_related("instrument")}
    assert (answers["peg3"].score_text, answers["phq2"].score_text, answers["gad2"].score_text) == ("5", "3", "3")
    assert {a.collected_via for a in answers.values()} == {"link"}
    assert {a.completed_at for a in answers.values()} == {survey.completed_at}
    assert {a.treatment_id for a in answers.values()} == {follow_up.ablation_id}
    # PHQ-2 was shown in Spanish, PEG-3 and GAD-2 in English
    assert (answers["phq2"].language, answers["peg3"].language, answers["gad2"].language) == ("es", "en", "en")
    link.refresh_from_db()
    assert link.used_at is not None


def test_a_missing_item_gets_a_message_at_that_item_nothing_is_written_and_what_was_typed_is_kept(client):
    # given
    _, link = open_link(client, language="es")
    data = {"pain_average": "4", "new_problem_text": "Me pica la piel"} | ALL
    del data["instrument-phq2-2"]

    # when
    response = client.post(reverse("surveys:answer"), data)

    # then
    assert response.status_code == 200
    page = response.text
    assert "Revise las respuestas marcadas abajo." in page
    assert page.count("Elija una respuesta.") == 1
    error_at = page.index("Elija una respuesta.")
    assert page.rindex("Se ha sentido decaído(a)", 0, error_at) > page.rindex("Poco interés", 0, error_at)
    assert 'id="id_instrument-phq2-1_2" value="2" checked' in page  # the PHQ-2 item answered is kept
    assert 'value="6" checked' in page and "Me pica la piel" in page
    assert not SurveyResponse.objects.exists() and not InstrumentAnswer.objects.exists()
    link.refresh_from_db()
    assert link.used_at is None


def test_an_answer_out_of_an_items_range_is_refused_at_the_item(client):
    # given
    open_link(client)

    # when
    response = client.post(reverse("surveys:answer"), {"pain_average": "4"} | ALL | {"instrument-phq2-1": "7"})

    # then
    assert response.status_code == 200
    assert "Select a valid choice. 7 is not one of the available choices." in response.text
    assert not SurveyResponse.objects.exists() and not InstrumentAnswer.objects.exists()


def test_a_refusal_by_the_service_leaves_nothing_written_and_the_link_unused(client):
    # given: an answer for this treatment and instrument already at the very time the submit will be stamped
    # (the service's unique completion time), so the instrument is refused after the pain answer was written
    follow_up, link = open_link(client)
    now = timezone.now().replace(microsecond=0)
    InstrumentAnswer.objects.create(
        treatment=follow_up.ablation,
        instrument=Instrument.objects.get(code="gad2"),
        version=Instrument.objects.get(code="gad2").versions.get(),
        completed_at=now,
        answers={"1": 0, "2": 0},
        score_total=0,
        collected_via="staff",
    )
    # when
    with time_machine.travel(now, tick=False):
        response = client.post(reverse("surveys:answer"), {"pain_average": "4"} | ALL)

    # then: the whole submit rolled back, the page says why at GAD-2
    assert response.status_code == 200
    assert "GAD-2: This treatment already has a GAD-2 completed at that time." in response.text
    assert not SurveyResponse.objects.exists()
    assert InstrumentAnswer.objects.count() == 1
    assert SurveyLink.objects.get(pk=link.pk).used_at is None
