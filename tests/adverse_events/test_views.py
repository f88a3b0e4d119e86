"""The staff pages: record and edit an adverse event, the patient page and timeline, the New problems tab."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apps.adverse_events.models import AdverseEvent, Decision, ProblemReview
from apps.adverse_events.services import adverse_event_create
from tests.adverse_events.conftest import TODAY, report_new_problem
from tests.factories import BlockFactory, UserFactory

pytestmark = pytest.mark.django_db


def event_form(**overrides):
    data = {
        "category": "neuritis",
        "occurred_on": (TODAY - dt.timedelta(days=3)).isoformat(),
        "resolved_on": "",
        "severity": "moderate",
        "serious": "no",
        "relatedness": "probable",
        "notes": "Burning along the buttock for a week",
    }
    return data | overrides


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def test_staff_record_an_event_from_the_treatment_page_and_see_it_there(staff_client, staff_user, treatment):
    # given: the treatment page offers the form
    page = staff_client.get(reverse("cryoablations:detail", args=[treatment.public_id]))
    new_url = reverse("adverse_events:new_for_treatment", args=[treatment.public_id])
    assert new_url in page.text

    # when
    response = staff_client.post(new_url, event_form(serious="yes"))

    # then
    assert response.status_code == 302
    assert response["Location"] == reverse("cryoablations:detail", args=[treatment.public_id])
    event = AdverseEvent.objects.get()
    assert (event.treatment, event.serious, event.recorded_by) == (treatment, True, staff_user)
    shown = text(staff_client.get(response["Location"]))
    assert "Adverse event recorded: Neuritis (new burning pain or dysesthesia)." in shown
    assert "Probably related" in shown and "Serious" in shown and "Burning along the buttock" in shown


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"occurred_on": (TODAY - dt.timedelta(days=30)).isoformat()}, "Date it began: The event cannot be before"),
        ({"resolved_on": (TODAY - dt.timedelta(days=5)).isoformat()}, "Resolved on: The event cannot be resolved"),
        ({"category": "frostbite"}, "What happened"),
        ({"category": ""}, "Category: Choose what happened."),
        ({"relatedness": ""}, "Related to the procedure: Say how likely the procedure caused it."),
        ({"occurred_on": ""}, "Date it began: Enter the date the problem began."),
    ],
)
def test_bad_input_gets_a_message_naming_the_field_and_nothing_is_saved(staff_client, treatment, overrides, message):
    # when
    response = staff_client.post(
        reverse("adverse_events:new_for_treatment", args=[treatment.public_id]), event_form(**overrides)
    )

    # then
    assert response.status_code == 200
    shown = text(response)
    assert "Nothing was saved" in shown
    if message == "What happened":  # an unknown category: Django's own words, under the field's label
        assert "Category: Select a valid choice." in shown
    else:
        assert message in shown
    assert not AdverseEvent.objects.exists()


def test_staff_record_an_event_on_a_block_from_the_block_page(staff_client):
    # given
    block = BlockFactory()
    page = staff_client.get(reverse("blocks:detail", args=[block.public_id]))
    new_url = reverse("adverse_events:new_for_block", args=[block.public_id])
    assert new_url in page.text
    block_day = timezone.localdate(block.performed_at)

    # when
    too_early = staff_client.post(new_url, event_form(occurred_on=(block_day - dt.timedelta(days=1)).isoformat()))
    response = staff_client.post(new_url, event_form(occurred_on=block_day.isoformat(), category="vasovagal"))

    # then
    assert f"The event cannot be before its procedure ({block_day})" in text(too_early)
    assert response["Location"] == reverse("blocks:detail", args=[block.public_id])
    assert AdverseEvent.objects.get().block == block
    assert "Vasovagal reaction" in text(staff_client.get(response["Location"]))


def test_staff_edit_an_event(staff_client, treatment):
    # given
    event = adverse_event_create(
        treatment=treatment,
        occurred_on=TODAY - dt.timedelta(days=3),
        category="bleeding",
        severity="mild",
        relatedness="possible",
    )
    url = reverse("adverse_events:edit", args=[event.public_id])
    form = staff_client.get(url)
    assert 'value="possible" selected' in form.text or 'possible" selected' in form.text

    # when
    response = staff_client.post(url, event_form(category="bleeding", resolved_on=TODAY.isoformat()))

    # then
    assert response.status_code == 302
    event.refresh_from_db()
    assert (event.resolved_on, event.relatedness, event.treatment) == (TODAY, "probable", treatment)


def test_the_patient_page_lists_the_events_of_treatments_and_blocks_and_the_timeline_shows_them(
    staff_client, treatment
):
    # given
    patient = treatment.patient
    block = BlockFactory(patient=patient)
    adverse_event_create(
        treatment=treatment,
        occurred_on=TODAY - dt.timedelta(days=2),
        category="numbness",
        severity="mild",
        relatedness="definite",
    )
    adverse_event_create(
        block=block,
        occurred_on=timezone.localdate(block.performed_at),
        category="vasovagal",
        severity="mild",
        relatedness="definite",
        serious=True,
    )

    # when
    page = staff_client.get(reverse("patients:detail", args=[patient.public_id]))

    # then
    shown = text(page)
    events = shown.split('id="adverse-events"')[1]
    assert "Numbness" in events and "Vasovagal reaction" in events and "Serious" in events
    timeline = shown.split('id="timeline"')[1].split("</table>")[0]
    assert timeline.count('class="timeline-adverse_event"') == 2
    assert "after the cryoablation of" in timeline and "after the block of" in timeline


# ---------------------------------------------------------------------------------------------------------------
# The New problems tab


def test_the_tab_counts_the_waiting_answers_and_lists_them_oldest_first_with_their_wait(staff_client, treatment):
    # given: one answer 3 days old, one of today
    with time_machine.travel(timezone.now() - dt.timedelta(days=3), tick=False):
        report_new_problem(treatment, words="Numb patch on the buttock")
    report_new_problem(treatment, words="Sharp pain when sitting")

    # when
    worklist = staff_client.get(reverse("cryoablations:worklist"))
    tab = staff_client.get(reverse("adverse_events:new_problems"))

    # then
    assert re.search(r"New problems <span[^>]*>2</span>", worklist.text)
    shown = text(tab)
    assert shown.index("Numb patch on the buttock") < shown.index("Sharp pain when sitting")
    assert "waiting 3 days" in shown and "since today" in shown
    assert treatment.patient.last_name in shown


def test_make_an_adverse_event_opens_the_form_prefilled_and_saving_it_closes_the_answer(staff_client, treatment):
    # given: an answer given at 22:30 in the clinic, already the next day in UTC
    clinic_evening = timezone.make_aware(
        dt.datetime.combine(TODAY - dt.timedelta(days=1), dt.time(22, 30)), timezone.get_default_timezone()
    )
    answer = report_new_problem(treatment, words="Skin red and hot", when=clinic_evening)
    queue = staff_client.get(reverse("adverse_events:new_problems"))
    link = re.search(r'href="([^"]*)">Make an adverse event', queue.text).group(1).replace("&amp;", "&")

    # when: one click opens the form
    form = staff_client.get(link)

    # then: the treatment, the clinic's date of the answer and the patient's words are there
    assert form.context["treatment"] == treatment
    assert form.context["form"].initial == {"occurred_on": TODAY - dt.timedelta(days=1), "notes": "Skin red and hot"}
    assert f'name="source_response" value="{answer.public_id}"' in form.text

    # when: staff choose what it was and save
    data = event_form(
        occurred_on=(TODAY - dt.timedelta(days=1)).isoformat(), notes="Skin red and hot", category="infection"
    )
    response = staff_client.post(
        link, data | {"source_response": str(answer.public_id), "next": "/adverse-events/new-problems/"}
    )

    # then: back on the queue, now empty; the event remembers the answer; the answer keeps its words
    assert response["Location"] == "/adverse-events/new-problems/"
    event = AdverseEvent.objects.get()
    assert (event.source_response, event.occurred_on, event.category) == (
        answer,
        TODAY - dt.timedelta(days=1),
        "infection",
    )
    assert ProblemReview.objects.get().decision == Decision.ADVERSE_EVENT
    assert "No new problems waiting." in staff_client.get(response["Location"]).text
    answer.refresh_from_db()
    assert answer.new_problem_text == "Skin red and hot"


def test_dismissing_needs_a_reason(staff_client, staff_user, treatment):
    # given
    answer = report_new_problem(treatment, words="Tired after the drive")
    url = reverse("adverse_events:dismiss", args=[answer.public_id])
    assert "Tired after the drive" in staff_client.get(url).text

    # when
    refused = staff_client.post(url, {"reason": "  "})
    response = staff_client.post(url, {"reason": "Not a problem of the procedure"})

    # then
    assert "Why is this not an adverse event?: Say why this is not an adverse event." in text(refused)
    assert response["Location"] == reverse("adverse_events:new_problems")
    review = ProblemReview.objects.get()
    assert (review.decision, review.reason, review.reviewed_by) == (
        Decision.DISMISSED,
        "Not a problem of the procedure",
        staff_user,
    )
    # a second dismissal (another tab left open) is told, not stored
    again = staff_client.post(url, {"reason": "again"})
    assert "This answer has already been reviewed." in text(again)
    assert ProblemReview.objects.count() == 1


def test_an_answer_reported_on_the_staff_answers_form_lands_on_the_queue(staff_client, treatment):
    # given
    follow_up = treatment.follow_ups.get(time_point="2w")

    # when
    staff_client.post(
        reverse("cryoablations:follow_up_answers", args=[follow_up.public_id]),
        {
            "completed_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
            "collected_via": "phone",
            "pain_average": "3",
            "new_problem": "true",
            "new_problem_text": "Says the leg feels weak",
        },
    )

    # then
    assert "Says the leg feels weak" in staff_client.get(reverse("adverse_events:new_problems")).text


# ---------------------------------------------------------------------------------------------------------------
# Who may


@pytest.mark.parametrize("role", ["staff", "physician"])
def test_staff_and_physicians_record_events_and_work_the_queue(role, treatment):
    # given
    client = Client()
    client.force_login(UserFactory(role=role))
    answer = report_new_problem(treatment)

    # when
    queue = client.get(reverse("adverse_events:new_problems"))
    made = client.post(
        reverse("adverse_events:new_for_treatment", args=[treatment.public_id]),
        event_form() | {"source_response": str(answer.public_id)},
    )

    # then
    assert queue.status_code == 200 and made.status_code == 302
    assert AdverseEvent.objects.get().source_response == answer


def test_a_user_without_a_role_is_refused_and_a_visitor_sent_to_sign_in(treatment):
    # given
    answer = report_new_problem(treatment)
    event = adverse_event_create(
        treatment=treatment, occurred_on=TODAY, category="bleeding", severity="mild", relatedness="possible"
    )
    urls = [
        reverse("adverse_events:new_for_treatment", args=[treatment.public_id]),
        reverse("adverse_events:edit", args=[event.public_id]),
        reverse("adverse_events:new_problems"),
        reverse("adverse_events:dismiss", args=[answer.public_id]),
    ]
    no_role = Client()
    no_role.force_login(UserFactory())

    # then
    for url in urls:
        assert no_role.get(url).status_code == 403, url
        assert no_role.post(url, event_form() | {"reason": "x"}).status_code == 403, url
        visitor = Client().get(url)
        assert visitor.status_code == 302 and visitor["Location"].startswith(reverse("accounts:login")), url
    assert AdverseEvent.objects.count() == 1 and not ProblemReview.objects.exists()


def test_the_patient_page_reads_the_events_in_one_query_however_many(staff_client, treatment):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts = []
    for n in (1, 5):
        for i in range(n):
            adverse_event_create(
                treatment=treatment,
                occurred_on=TODAY - dt.timedelta(days=i),
                category="numbness",
                severity="mild",
                relatedness="possible",
            )
        staff_client.get(reverse("patients:list"))  # the session's renewal, at most once a minute, comes first
        with CaptureQueriesContext(connection) as queries:
            page = staff_client.get(reverse("patients:detail", args=[treatment.patient.public_id]))
        assert page.text.count('class="adverse-event"') == AdverseEvent.objects.count()
        counts.append(len(queries))
    assert counts[0] == counts[1]
