"""Staff add an opioid on the patient page, see today's MME with its factor table, and mark the list reviewed, at a
desk and on a phone-sized screen (Playwright with Chromium)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from apps.accounts.models import Role
from apps.medications.models import MedicationReview, MedicationStatement
from tests.browser.conftest import TIMEOUT_MS, field, sign_in
from tests.factories import PatientFactory, UserFactory

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("width", [1280, 390])
def test_staff_add_an_opioid_see_the_mme_and_mark_the_list_reviewed(browser, live_server, width):
    # given
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    patient = PatientFactory(first_name="Marta", last_name="Quiroga")
    staff = UserFactory(role=Role.STAFF)
    today = timezone.localdate()

    # when: staff open the patient from the list and add oxycodone 10 mg twice a day
    sign_in(page, staff.username)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Patients").click()
    page.get_by_role("link", name=re.compile("Quiroga")).first.click()
    page.set_viewport_size({"width": width, "height": 900})  # the page's own work at the width under test
    section = page.locator("#opioids")
    expect(section).to_contain_text("No opioids recorded.")
    expect(section).to_contain_text("List last reviewed: never")
    section.get_by_role("link", name="Add an opioid").click()
    field(page, "Opioid").select_option(label="Oxycodone")
    field(page, "Daily dose (mg a day; fentanyl patch: mcg an hour)").fill("0")
    field(page, "Started on").fill((today - dt.timedelta(days=7)).isoformat())
    page.get_by_role("button", name="Save opioid").click()
    expect(page.locator("#form-errors")).to_contain_text("The daily dose must be above 0.")
    field(page, "Daily dose (mg a day; fentanyl patch: mcg an hour)").fill("20")
    page.get_by_role("button", name="Save opioid").click()

    # then: the list shows it and today's MME (20 mg x 1.5) with the factor table's version
    section = page.locator("#opioids")
    expect(section.locator("tr.opioid-statement")).to_contain_text("20 mg/day")
    expect(section.locator(".mme-today")).to_contain_text("Today's MME: 30 mg morphine equivalents a day")
    expect(section.locator(".mme-today")).to_contain_text("CDC-2022")

    # and "Reviewed today" records the review, shown beside the MME
    section.get_by_role("button", name="Reviewed today").click()
    expect(page.get_by_role("status")).to_contain_text("Opioid list marked as reviewed today.")
    expect(page.locator("#opioids .opioid-review")).to_contain_text(f"List last reviewed: {today:%Y-%m-%d}")
    assert MedicationStatement.objects.get(patient=patient).daily_dose == 20
    assert MedicationReview.objects.get(patient=patient).reviewed_by == staff
    # no sideways scroll of the page at either width
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    context.close()
