"""A physician in a real browser opens Compare treatments from the dashboard and reads the kinds side by side, at a
desktop's width and a phone's, without scrolling sideways; the figures are the engine's."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from apps.accounts.models import Role
from apps.reports.outcomes import outcomes_compute
from apps.reports.presentation import percent
from apps.surveys.models import CollectedVia
from apps.surveys.services import response_record
from tests.browser.conftest import sign_in_with_code
from tests.browser.test_walk import SCROLLS_SIDEWAYS
from tests.factories import PatientFactory, UserFactory, make_ablation

pytestmark = pytest.mark.browser

NEW_YORK = ZoneInfo("America/New_York")
TREATED_ON = dt.date(2025, 1, 10)
KINDS = ["cryoablation", "rf_conventional", "pns_temporary"]


def test_physician_compares_the_kinds_from_the_dashboard_at_both_widths(page, tmp_path):
    # given a physician's cryoablations, conventional RF and temporary PNS treatments answered at 3 months
    doctor = UserFactory(role=Role.PHYSICIAN, username="paz.physician", first_name="Paz", last_name="Physician")
    for kind, pains in {"cryoablation": (2, 3, 7), "rf_conventional": (2, 8), "pns_temporary": (1,)}.items():
        for pain in pains:
            t = make_ablation(
                patient=PatientFactory(), performed_on=TREATED_ON, kind=kind, physician=doctor, baseline_nrs=8
            )
            completed = dt.datetime.combine(TREATED_ON + dt.timedelta(days=90), dt.time(10), tzinfo=NEW_YORK)
            response_record(ablation=t, completed_at=completed, pain_average=pain, collected_via=CollectedVia.PHONE)
    report = outcomes_compute()

    # when they sign in, open the dashboard and follow its link to Compare treatments
    sign_in_with_code(page, doctor)
    page.set_viewport_size({"width": 1366, "height": 900})
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Dashboard").click()
    expect(page.get_by_role("heading", name="Outcomes dashboard")).to_be_visible()
    page.get_by_role("link", name="Compare treatments").last.click()

    # then the kinds are side by side in words, each 3-month rate the engine's
    expect(page.get_by_role("heading", name="Compare treatments")).to_be_visible()
    rows = page.locator("#compare-response-table tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.locator("th")).to_have_text(
        ["Cryoablation", "Conventional radiofrequency", "Nerve stimulation, temporary leads"]
    )
    for kind in KINDS:
        figures = report.response_row(f"kind:{kind}", "3m")
        cell = page.locator(f'#compare-response-table tr[data-kind="{kind}"] td[data-time-point="3m"]')
        expect(cell.locator(".rate")).to_have_text(percent(figures.rate))
        expect(cell.locator(".counts")).to_have_text(f"{figures.responders}/{figures.evaluable}")
    # and both charts name every kind in their legends
    for chart in page.locator("#compare-durability svg").all():
        for name in ("Cryoablation", "Conventional radiofrequency"):
            expect(chart.get_by_text(name, exact=True)).to_have_count(1)
    assert not page.evaluate(SCROLLS_SIDEWAYS)
    page.screenshot(path=tmp_path / "compare-1366.png", full_page=True)

    # when the same page is read on a phone
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()

    # then the rows are stacked with each time point named, and nothing scrolls sideways
    cell = page.locator('#compare-response-table tr[data-kind="cryoablation"] td[data-time-point="3m"]')
    expect(cell).to_be_visible()
    box = cell.bounding_box()
    assert box is not None and box["x"] + box["width"] <= 390
    assert not page.evaluate(SCROLLS_SIDEWAYS)
    page.screenshot(path=tmp_path / "compare-390.png", full_page=True)
    assert not page.bad_responses, page.bad_responses
