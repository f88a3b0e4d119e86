"""Adverse events and the review of patients' new problems: the services and selectors, against PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.adverse_events.models import AdverseEvent, Decision, ProblemReview
from apps.adverse_events.selectors import days_waiting, new_problems_waiting
from apps.adverse_events.services import adverse_event_create, adverse_event_update, problem_dismiss
from apps.clinic.selectors import protocol_get
from apps.pages.selectors import patient_timeline
from apps.surveys.services import response_record
from tests.adverse_events.conftest import TODAY, report_new_problem
from tests.factories import BlockFactory, UserFactory, make_ablation, make_reachable_patient

pytestmark = pytest.mark.django_db

EVENT = {"category": "neuritis", "severity": "moderate", "relatedness": "probable"}


def test_an_event_on_a_treatment_is_stored_with_who_recorded_it(treatment, staff_user):
    # when
    event = adverse_event_create(
        treatment=treatment, recorded_by=staff_user, occurred_on=TODAY - dt.timedelta(days=3), serious=True, **EVENT
    )

    # then
    stored = AdverseEvent.objects.get()
    assert stored == event and stored.treatment == treatment and stored.block is None
    assert (stored.category, stored.serious, stored.recorded_by) == ("neuritis", True, staff_user)


@pytest.mark.parametrize(
    ("dates", "field", "message"),
    [
        ({"occurred_on": -15}, "occurred_on", "cannot be before its procedure"),
        ({"occurred_on": -3, "resolved_on": -4}, "resolved_on", "cannot be resolved before it began"),
    ],
)
def test_bad_dates_are_refused_naming_the_field_and_nothing_is_written(treatment, dates, field, message):
    # given: the treatment was 14 days ago
    fields = {name: TODAY + dt.timedelta(days=days) for name, days in dates.items()}

    # when
    with pytest.raises(ValidationError) as refused:
        adverse_event_create(treatment=treatment, **fields, **EVENT)

    # then
    assert message in " ".join(refused.value.message_dict[field])
    assert not AdverseEvent.objects.exists()


def test_an_event_on_a_block_is_dated_from_the_block_in_the_clinics_time_zone():
    # given: a block 20 days ago
    block = BlockFactory()
    block_day = timezone.localdate(block.performed_at)

    # when / then
    with pytest.raises(ValidationError) as refused:
        adverse_event_create(block=block, occurred_on=block_day - dt.timedelta(days=1), **EVENT)
    assert "occurred_on" in refused.value.message_dict
    event = adverse_event_create(block=block, occurred_on=block_day, **EVENT)
    assert event.block == block and event.treatment is None


def test_an_event_on_neither_a_treatment_nor_a_block_is_refused():
    with pytest.raises(ValidationError, match="on a treatment or on a block"):
        adverse_event_create(occurred_on=TODAY, **EVENT)
    assert not AdverseEvent.objects.exists()


def test_an_edit_changes_the_event_and_keeps_its_procedure(treatment):
    # given
    event = adverse_event_create(treatment=treatment, occurred_on=TODAY - dt.timedelta(days=5), **EVENT)

    # when
    adverse_event_update(event=event, severity="severe", resolved_on=TODAY)

    # then
    event.refresh_from_db()
    assert (event.severity, event.resolved_on, event.treatment) == ("severe", TODAY, treatment)
    with pytest.raises(ValueError, match="treatment"):
        adverse_event_update(event=event, treatment=None)
    with pytest.raises(ValidationError):
        adverse_event_update(event=event, resolved_on=TODAY - dt.timedelta(days=6))
    event.refresh_from_db()
    assert event.resolved_on == TODAY


# ---------------------------------------------------------------------------------------------------------------
# The staff queue of new problems


def test_a_yes_waits_on_the_queue_a_no_and_an_unanswered_question_do_not(treatment):
    # given
    yes = report_new_problem(treatment)
    response_record(
        ablation=treatment, completed_at=timezone.now(), pain_average=3, collected_via="link", new_problem=False
    )
    response_record(ablation=treatment, completed_at=timezone.now(), pain_average=3, collected_via="phone")

    # then
    assert list(new_problems_waiting(user=UserFactory())) == [yes]


def test_the_queue_shows_the_longest_waiting_first_and_counts_days_in_the_clinics_dates(treatment):
    # given: answers reaching the registry 3 days ago, at 23:30 in the clinic (already the next day in UTC), and today
    clinic_evening = timezone.make_aware(
        dt.datetime.combine(TODAY - dt.timedelta(days=3), dt.time(23, 30)), timezone.get_default_timezone()
    )
    with time_machine.travel(clinic_evening, tick=False):
        older = report_new_problem(treatment, words="Numb patch")
    newer = report_new_problem(treatment)

    # then
    assert list(new_problems_waiting(user=UserFactory())) == [older, newer]
    assert days_waiting(response=older, today=TODAY) == 3
    assert days_waiting(response=newer, today=TODAY) == 0


def test_making_an_event_from_the_answer_closes_its_review_and_keeps_the_patients_words(treatment, staff_user):
    # given
    answer = report_new_problem(treatment, words="Red and warm skin")

    # when
    event = adverse_event_create(
        treatment=treatment,
        recorded_by=staff_user,
        source_response=answer,
        occurred_on=timezone.localdate(answer.completed_at),
        notes=answer.new_problem_text,
        category="infection",
        severity="mild",
        relatedness="possible",
    )

    # then
    review = ProblemReview.objects.get()
    assert (review.response, review.decision, review.reviewed_by) == (answer, Decision.ADVERSE_EVENT, staff_user)
    assert event.source_response == answer
    assert not new_problems_waiting(user=UserFactory()).exists()
    answer.refresh_from_db()
    assert (answer.new_problem, answer.new_problem_text) == (True, "Red and warm skin")


def test_an_answer_about_another_treatment_is_refused_as_the_events_source(treatment):
    # given
    other = make_ablation(patient=make_reachable_patient(), performed_on=TODAY - dt.timedelta(days=14))
    answer = report_new_problem(other)

    # when / then
    with pytest.raises(ValidationError, match="another treatment"):
        adverse_event_create(treatment=treatment, source_response=answer, occurred_on=TODAY, **EVENT)
    assert not AdverseEvent.objects.exists() and not ProblemReview.objects.exists()


def test_dismissing_needs_a_reason_and_keeps_the_patients_words(treatment, staff_user):
    # given
    answer = report_new_problem(treatment, words="Sore for a day")

    # when: no reason, then a reason
    with pytest.raises(ValidationError) as refused:
        problem_dismiss(response=answer, reason="   ", reviewed_by=staff_user)
    assert "reason" in refused.value.message_dict and not ProblemReview.objects.exists()
    review = problem_dismiss(response=answer, reason="  Expected soreness, gone by the call ", reviewed_by=staff_user)

    # then
    assert (review.decision, review.reason) == (Decision.DISMISSED, "Expected soreness, gone by the call")
    assert not new_problems_waiting(user=UserFactory()).exists()
    answer.refresh_from_db()
    assert answer.new_problem_text == "Sore for a day"


def test_an_answer_is_reviewed_once_whichever_way_first(treatment, staff_user):
    # given: dismissed by one person
    answer = report_new_problem(treatment)
    problem_dismiss(response=answer, reason="Not a new problem", reviewed_by=staff_user)

    # when / then: another makes it an event, or dismisses it again
    with pytest.raises(ValidationError, match="already been reviewed"):
        adverse_event_create(treatment=treatment, source_response=answer, occurred_on=TODAY, **EVENT)
    with pytest.raises(ValidationError, match="already been reviewed"):
        problem_dismiss(response=answer, reason="again", reviewed_by=UserFactory())
    assert ProblemReview.objects.count() == 1 and not AdverseEvent.objects.exists()


def test_the_database_refuses_a_dismissal_without_a_reason(treatment):
    answer = report_new_problem(treatment)
    with pytest.raises(IntegrityError), transaction.atomic():
        ProblemReview.objects.create(response=answer, decision=Decision.DISMISSED, reason="")


# ---------------------------------------------------------------------------------------------------------------
# The patient's events


def test_a_patients_events_are_those_of_their_treatments_and_blocks_newest_first(treatment):
    # given
    patient = treatment.patient
    block = BlockFactory(patient=patient)
    on_treatment = adverse_event_create(treatment=treatment, occurred_on=TODAY - dt.timedelta(days=2), **EVENT)
    on_block = adverse_event_create(block=block, occurred_on=timezone.localdate(block.performed_at), **EVENT)
    someone_else = make_ablation(patient=make_reachable_patient(), performed_on=TODAY - dt.timedelta(days=14))
    adverse_event_create(treatment=someone_else, occurred_on=TODAY, **EVENT)

    # when
    timeline = patient_timeline(patient=patient, protocol=protocol_get(), today=TODAY)

    # then
    assert [e.item for e in timeline if e.kind == "adverse_event"] == [on_treatment, on_block]
