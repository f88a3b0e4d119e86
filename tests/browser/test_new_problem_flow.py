"""A patient's new problem, from the survey link to an adverse event on their page (Playwright with Chromium)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from apps.accounts.models import Role
from apps.adverse_events.models import AdverseEvent
from tests.browser.conftest import TIMEOUT_MS, field, sign_in
from tests.factories import UserFactory, make_ablation, make_reachable_patient, make_survey_link

pytestmark = pytest.mark.browser

WORDS = "Since Tuesday the skin over the spot burns and feels numb"


@pytest.fixture
def phone(browser, live_server):
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    yield page
    context.close()


def test_a_patients_new_problem_becomes_an_adverse_event_in_one_click(phone, page):
    # given: a treatment 14 days ago and its 2-week survey link
    patient = make_reachable_patient(first_name="Rosa", last_name="Quintana")
    ablation = make_ablation(patient=patient, performed_on=timezone.localdate() - dt.timedelta(days=14))
    _, token = make_survey_link(follow_up=ablation.follow_ups.get(time_point="2w"))
    staff = UserFactory(role=Role.STAFF)

    # when: the patient answers on a phone, with "yes, a new problem"
    phone.goto(f"/s/{token}/")
    phone.get_by_role("group", name=re.compile("Your average pain in the past 24 hours")).get_by_text(
        "4", exact=True
    ).click()
    phone.get_by_role("group", name=re.compile("Any new problem since the procedure")).get_by_text(
        "Yes", exact=True
    ).click()
    phone.get_by_label("What happened?").fill(WORDS)
    phone.get_by_role("button", name="Send my answers").click()
    phone.get_by_role("heading", name="Thank you, Rosa!").wait_for()

    # and staff open the worklist's New problems tab
    sign_in(page, staff.username)
    tab = page.get_by_role("link", name=re.compile(r"^New problems"))
    expect(tab).to_contain_text("1")
    tab.click()
    row = page.locator("#new-problems tr.new-problem")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(WORDS)
    expect(row).to_contain_text("Quintana, Rosa")
    expect(row).to_contain_text("since today")

    # one click opens the event form, prefilled with the treatment, the date and the patient's words
    row.get_by_role("link", name="Make an adverse event").click()
    expect(page.get_by_role("heading", name="Record an adverse event")).to_be_visible()
    expect(field(page, "Date it began")).to_have_value(timezone.localdate().isoformat())
    expect(field(page, "Notes")).to_have_value(WORDS)
    field(page, "Category").select_option(label="Neuritis (new burning pain or dysesthesia)")
    page.get_by_label("Moderate").check()
    field(page, "Related to the procedure").select_option(label="Probably related")
    page.get_by_role("button", name="Save adverse event").click()

    # then: back on the queue, now empty; the event is on the patient's page and in the timeline
    expect(page.get_by_role("status")).to_contain_text("Adverse event recorded")
    expect(page.locator("#new-problems")).to_contain_text("No new problems waiting.")
    expect(page.get_by_role("link", name=re.compile(r"^New problems"))).to_contain_text("0")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Patients").click()
    page.get_by_role("link", name=re.compile("Quintana")).first.click()
    events = page.locator("#adverse-events")
    expect(events).to_contain_text("Neuritis (new burning pain or dysesthesia)")
    expect(events).to_contain_text("Probably related")
    expect(events).to_contain_text(WORDS)
    expect(page.locator("#timeline tr.timeline-adverse_event")).to_contain_text("Adverse event")
    event = AdverseEvent.objects.get()
    assert (event.treatment, event.source_response.new_problem_text) == (ablation, WORDS)
    assert not [line for line in page.bad_responses if "/favicon.ico" not in line]
