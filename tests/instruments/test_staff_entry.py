"""Staff enter the instruments: on a follow-up's answers form (beside the pain questions, written together), and as
the baseline taken at the treatment visit; the treatment page lists the scores and says which baseline is missing."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.instruments.models import InstrumentAnswer
from apps.instruments.services import instrument_answer_record
from apps.surveys.models import SurveyResponse
from tests.factories import make_ablation, make_reachable_patient

pytestmark = pytest.mark.django_db

PEG3 = {"instrument-peg3-1": "6", "instrument-peg3-2": "5", "instrument-peg3-3": "4"}
PHQ2 = {"instrument-phq2-1": "2", "instrument-phq2-2": "1"}
GAD2 = {"instrument-gad2-1": "0", "instrument-gad2-2": "3"}


def _treatment(days_ago: int = 100):
    return make_ablation(
        patient=make_reachable_patient(), performed_on=timezone.localdate() - dt.timedelta(days=days_ago)
    )


def _local(day: dt.date, hour: int = 10) -> str:
    return f"{day:%Y-%m-%d}T{hour:02d}:00"


def _answers_url(follow_up) -> str:
    return reverse("cryoablations:follow_up_answers", args=[follow_up.public_id])


def test_the_answers_form_asks_the_instruments_due_at_its_time_point(staff_client):
    # given
    treatment = _treatment()

    # when
    three_months = staff_client.get(_answers_url(treatment.follow_ups.get(time_point="3m"))).text
    two_weeks = staff_client.get(_answers_url(treatment.follow_ups.get(time_point="2w"))).text

    # then
    assert "PEG-3" in three_months and "Not being able to stop or control worrying" in three_months
    assert "PEG-3" not in two_weeks


def test_staff_answers_write_the_pain_answer_and_the_instruments_together(staff_client, staff_user):
    # given
    treatment = _treatment()
    follow_up = treatment.follow_ups.get(time_point="3m")
    when = _local(timezone.localdate() - dt.timedelta(days=5))

    # when: PEG-3 and PHQ-2 asked on the call, GAD-2 not asked (left out whole)
    response = staff_client.post(
        _answers_url(follow_up),
        {"completed_at": when, "collected_via": "clinic", "pain_average": "3"} | PEG3 | PHQ2,
    )

    # then
    assert response.status_code == 302
    survey = SurveyResponse.objects.get()
    answers = {a.instrument.code: a for a in InstrumentAnswer.objects.select_related("instrument")}
    assert set(answers) == {"peg3", "phq2"}
    assert {(a.collected_via, a.recorded_by_id, a.completed_at) for a in answers.values()} == {
        ("staff", staff_user.pk, survey.completed_at)
    }
    assert survey.collected_via == "clinic"


def test_half_an_instrument_is_refused_at_its_missing_item_and_nothing_is_written(staff_client):
    # given
    treatment = _treatment()
    follow_up = treatment.follow_ups.get(time_point="3m")
    data = {"completed_at": _local(timezone.localdate()), "collected_via": "phone", "pain_average": "3"} | PEG3
    del data["instrument-peg3-3"]

    # when
    response = staff_client.post(_answers_url(follow_up), data)

    # then
    assert response.status_code == 200
    page = response.text
    assert "Nothing was saved" in page and "Please choose an answer." in page
    assert 'value="6" checked' in page  # what was typed is kept
    assert not SurveyResponse.objects.exists() and not InstrumentAnswer.objects.exists()


def test_a_pain_answer_refused_leaves_the_instruments_unwritten(staff_client):
    # given: average pain missing, the instruments complete
    treatment = _treatment()
    follow_up = treatment.follow_ups.get(time_point="3m")

    # when
    response = staff_client.post(
        _answers_url(follow_up),
        {"completed_at": _local(timezone.localdate()), "collected_via": "phone"} | PEG3 | PHQ2 | GAD2,
    )

    # then
    assert response.status_code == 200
    assert not InstrumentAnswer.objects.exists()


def test_the_api_answers_form_is_unchanged_by_the_instruments(staff_client):
    # given: the API reads the page's pain form, not the instruments (it records them on its own endpoint)
    treatment = _treatment()
    follow_up = treatment.follow_ups.get(time_point="3m")

    # when
    response = staff_client.post(
        reverse("api:follow_up_answers", args=[follow_up.public_id]),
        {"completed_at": timezone.now().isoformat(), "collected_via": "phone", "pain_average": 3},
        content_type="application/json",
    )

    # then
    assert response.status_code == 201, response.content
    assert not InstrumentAnswer.objects.exists()


# ---------------------------------------------------------------------------------------------------------------
# Baseline


def _baseline_url(treatment) -> str:
    return reverse("cryoablations:baseline_answers", args=[treatment.public_id])


def _bare(*parts: dict) -> dict:
    """The items' fields as the baseline form names them (no prefix: the form has no other fields to tell apart)."""
    return {k.removeprefix("instrument-"): v for part in parts for k, v in part.items()}


def test_a_treatment_without_a_baseline_says_so_with_the_way_to_enter_it(staff_client):
    # given
    treatment = _treatment()

    # when
    page = staff_client.get(reverse("cryoablations:detail", args=[treatment.public_id])).text

    # then
    assert "No baseline PEG-3, PHQ-2, GAD-2:" in page
    assert _baseline_url(treatment) in page


def test_staff_enter_the_baseline_and_the_treatment_page_shows_the_scores(staff_client):
    # given
    treatment = _treatment(days_ago=3)

    # when
    response = staff_client.post(
        _baseline_url(treatment), {"completed_at": _local(treatment.performed_on, 9)} | _bare(PEG3, PHQ2, GAD2)
    )

    # then
    assert response.status_code == 302
    assert {a.collected_via for a in InstrumentAnswer.objects.all()} == {"staff"}
    page = staff_client.get(reverse("cryoablations:detail", args=[treatment.public_id])).text
    assert "No baseline" not in page
    table = page[page.index('id="instrument-answers"') :]
    assert table.count("Baseline") == 3
    assert "PEG-3</td>\n        <td>5</td>" in table
    assert table.count("positive screen") == 2  # PHQ-2 3 and GAD-2 3 (cut-off 3)


def test_a_baseline_missing_one_instrument_names_only_that_one(staff_client):
    # given
    treatment = _treatment(days_ago=3)

    # when: only PEG-3 and PHQ-2 recorded (as the import or the API may)
    for code, answers in (("peg3", {"1": 1, "2": 2, "3": 3}), ("phq2", {"1": 0, "2": 0})):
        instrument_answer_record(
            treatment=treatment,
            instrument=code,
            completed_at=timezone.make_aware(dt.datetime.combine(treatment.performed_on, dt.time(8))),
            answers=answers,
            collected_via="staff",
        )
    page = staff_client.get(reverse("cryoablations:detail", args=[treatment.public_id])).text

    # then
    assert "No baseline GAD-2:" in page


@pytest.mark.parametrize(
    ("days_before", "accepted"),
    [(0, True), (30, True), (31, False), (-1, False)],
    ids=["treatment-day", "30-days-before", "31-days-before", "day-after"],
)
def test_the_baseline_date_must_be_on_or_before_the_treatment_within_30_days(staff_client, days_before, accepted):
    # given: a treatment 5 days ago (the day after it is in the past too)
    treatment = _treatment(days_ago=5)
    day = treatment.performed_on - dt.timedelta(days=days_before)

    # when
    response = staff_client.post(_baseline_url(treatment), {"completed_at": _local(day)} | _bare(PEG3, PHQ2, GAD2))

    # then
    assert (response.status_code == 302) == accepted
    assert InstrumentAnswer.objects.exists() == accepted
    if not accepted:
        assert "does not count as a baseline" in response.text
        assert 'value="6" checked' in response.text


def test_the_baseline_form_takes_one_instrument_whole_and_refuses_half_of_one(staff_client):
    # given
    treatment = _treatment(days_ago=3)
    when = {"completed_at": _local(treatment.performed_on)}

    # when: nothing, then GAD-2 half answered, then GAD-2 alone in full (the rest recorded another day)
    nothing = staff_client.post(_baseline_url(treatment), when)
    half = staff_client.post(_baseline_url(treatment), when | {"gad2-1": "1"})
    whole = staff_client.post(_baseline_url(treatment), when | _bare(GAD2))

    # then
    assert nothing.status_code == 200 and "Answer at least one questionnaire." in nothing.text
    assert half.status_code == 200 and half.text.count("Please choose an answer.") >= 1
    assert 'id="id_gad2-1_1" value="1" checked' in half.text
    assert whole.status_code == 302
    assert [a.instrument.code for a in InstrumentAnswer.objects.all()] == ["gad2"]


def test_the_baseline_form_refuses_a_time_in_the_future(staff_client):
    # given: a treatment today
    treatment = _treatment(days_ago=0)
    later = timezone.localtime() + dt.timedelta(hours=2)

    # when
    response = staff_client.post(
        _baseline_url(treatment), {"completed_at": later.strftime("%Y-%m-%dT%H:%M")} | _bare(PEG3, PHQ2, GAD2)
    )

    # then
    assert response.status_code == 200
    assert not InstrumentAnswer.objects.exists()


def test_an_instrument_refused_by_the_service_takes_the_pain_answer_back_with_it(staff_client):
    # given: a PEG-3 of this treatment already recorded at the very minute staff type
    treatment = _treatment()
    follow_up = treatment.follow_ups.get(time_point="3m")
    day = timezone.localdate() - dt.timedelta(days=3)
    instrument_answer_record(
        treatment=treatment,
        instrument="peg3",
        completed_at=timezone.make_aware(dt.datetime.combine(day, dt.time(10))),
        answers={"1": 1, "2": 1, "3": 1},
        collected_via="staff",
    )

    # when
    response = staff_client.post(
        _answers_url(follow_up),
        {"completed_at": _local(day), "collected_via": "phone", "pain_average": "3"} | PHQ2 | PEG3,
    )

    # then: refused at PEG-3, and neither the pain answer nor PHQ-2 (recorded before it) was kept
    assert response.status_code == 200
    assert "PEG-3: This treatment already has a PEG-3 completed at that time." in response.text
    assert not SurveyResponse.objects.exists()
    assert InstrumentAnswer.objects.count() == 1
