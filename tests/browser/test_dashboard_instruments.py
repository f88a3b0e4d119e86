"""A physician in a real browser reads the dashboard's function and mood rows (PEG-3, PHQ-2, GAD-2) of the version 2
sample registry, on a clinic desktop and on a phone, and drills down from a count to its treatments."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from apps.accounts.models import Role
from tests.browser.conftest import sign_in_with_code
from tests.browser.test_dashboard_flow import DESKTOP, PHONE, SIDEWAYS
from tests.factories import UserFactory

pytestmark = pytest.mark.browser

SAMPLE_V2 = Path(__file__).resolve().parent.parent / "fixtures" / "registry-sample-v2"
INSTRUMENT_TABLE_SIDEWAYS = (
    "(box => box.scrollWidth - box.clientWidth)(document.querySelector('#instrument-table').parentElement)"
)


def test_the_function_and_mood_rows_fit_and_drill_down(page):
    # given the version 2 sample (expected-report-v2.json: at 3 months PEG-3 has 19 responders of 35, PHQ-2 20
    # positive screens at baseline and 16 now)
    call_command("import_registry", str(SAMPLE_V2), stdout=io.StringIO())
    sign_in_with_code(page, UserFactory(role=Role.PHYSICIAN, username="paz.physician"))

    # when they open the dashboard on a clinic desktop
    page.set_viewport_size(DESKTOP)
    page.goto("/reports/?physician=&as_of=2026-06-30")

    # then the rows are there, with the figures of the report, and the page does not scroll sideways
    row = page.locator('#instrument-table tr[data-instrument="peg3"][data-time-point="3m"]')
    expect(row.locator("td.responders")).to_have_text("19")
    expect(row.locator("td.rate")).to_have_text("54.3%")
    phq2 = page.locator('#instrument-table tr[data-instrument="phq2"][data-time-point="3m"]')
    expect(phq2.locator("td.positive-baseline .count")).to_have_text("20")
    expect(phq2.locator("td.positive-now .count")).to_have_text("16")
    assert page.evaluate(SIDEWAYS) == 0
    assert page.evaluate(INSTRUMENT_TABLE_SIDEWAYS) == 0

    # and on a phone the page itself does not scroll sideways (the table scrolls in its box)
    page.set_viewport_size(PHONE)
    page.reload()
    assert page.evaluate(SIDEWAYS) == 0

    # when they follow the count of responders, then the treatments behind it are listed
    page.locator('#instrument-table tr[data-instrument="peg3"][data-time-point="3m"] td.responders a').click()
    expect(page.locator("#drill-procedures")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_contain_text("PEG-3: responders at 3 months")
    assert page.evaluate(SIDEWAYS) == 0
