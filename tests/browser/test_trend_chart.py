"""A physician opens a patient's page before the visit and reads the trend chart (pain per treatment, daily MME,
the procedures marked), at a desk and on a phone, and prints it on one page (Playwright with Chromium)."""

from __future__ import annotations

import datetime as dt
import os
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from apps.accounts.models import Role
from apps.medications.services import medication_list_review, medication_statement_create
from apps.surveys.models import CollectedVia
from apps.surveys.services import response_record
from tests.browser.conftest import TIMEOUT_MS, sign_in_with_code
from tests.factories import BlockFactory, PatientFactory, UserFactory, make_ablation

pytestmark = pytest.mark.browser

A4_HEIGHT_PX = 297 / 25.4 * 96  # an A4 sheet's height in CSS pixels, before its margins


def seeded_patient(physician):
    """A year of history: two blocks, a treatment repeated, answers after each, opioids tapered."""
    today = timezone.localdate()
    patient = PatientFactory(first_name="Marta", last_name="Quiroga")
    BlockFactory(patient=patient, physician=physician, performed_at=timezone.now() - dt.timedelta(days=330))
    block = BlockFactory(
        patient=patient, physician=physician, performed_at=timezone.now() - dt.timedelta(days=320), baseline_nrs=7
    )
    first = make_ablation(
        patient=patient, physician=physician, performed_on=today - dt.timedelta(days=310), baseline_nrs=8
    )
    for days, pain in ((296, 4), (280, 3), (220, 3), (130, 5)):
        response_record(
            ablation=first,
            completed_at=timezone.now() - dt.timedelta(days=days),
            pain_average=pain,
            collected_via=CollectedVia.PHONE,
        )
    repeat = make_ablation(
        patient=patient,
        physician=physician,
        performed_on=today - dt.timedelta(days=100),
        baseline_nrs=7,
        kind="rf_conventional",
        nerve=block.nerve,
    )
    other_side = make_ablation(
        patient=patient, physician=physician, performed_on=today - dt.timedelta(days=95), baseline_nrs=6, side="right"
    )
    for treatment, days, pain in ((repeat, 80, 3), (repeat, 10, 2), (other_side, 70, 4)):
        response_record(
            ablation=treatment,
            completed_at=timezone.now() - dt.timedelta(days=days),
            pain_average=pain,
            collected_via=CollectedVia.PATIENT_LINK,
        )
    medication_statement_create(
        patient=patient,
        opioid="oxycodone",
        daily_dose=Decimal(40),
        started_on=today - dt.timedelta(days=500),
        stopped_on=today - dt.timedelta(days=200),
    )
    medication_statement_create(
        patient=patient, opioid="oxycodone", daily_dose=Decimal(20), started_on=today - dt.timedelta(days=200)
    )
    medication_list_review(patient=patient, reviewed_by=physician)
    return patient


@pytest.mark.parametrize("width", [1366, 390])
def test_a_physician_reads_the_trend_chart_and_prints_it_on_one_page(browser, live_server, width, tmp_path):
    # given
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1366, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    physician = UserFactory(role=Role.PHYSICIAN)
    patient = seeded_patient(physician)
    # WALK_SCREENSHOTS=DIR keeps the screenshots there, to look at (test_walk.py's setting).
    shots = Path(os.environ.get("WALK_SCREENSHOTS") or tmp_path)

    # when
    sign_in_with_code(page, physician)
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(f"/patients/{patient.public_id}/")

    # then: the chart, its panels and its numbered procedures, the superseded treatment among them
    trend = page.locator("#trend")
    chart = trend.get_by_role("img", name="Pain, function, mood and opioids over time")
    expect(chart).to_be_visible()
    expect(chart.locator("text", has_text="Pain (NRS 0–10)")).to_have_count(1)
    expect(chart.locator("text", has_text="Daily MME (mg morphine equivalents)")).to_have_count(1)
    procedures = trend.locator(".trend-procedures li")
    expect(procedures).to_have_count(5)
    expect(procedures.nth(2)).to_contain_text("Cryoablation")
    expect(procedures.nth(2)).to_contain_text("superseded by the treatment of")
    expect(procedures.nth(3)).to_contain_text("Conventional radiofrequency")
    # the figures behind it, one click away
    trend.get_by_text("The chart's figures").click()
    expect(trend.locator(".trend-figures table").first).to_contain_text("Survey after treatment 3")
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    trend.screenshot(path=str(shots / f"trend-figures-{width}.png"))
    trend.get_by_text("The chart's figures").click()
    # no sideways scroll; the chart's text no smaller than 11 px
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    scale = chart.evaluate("svg => svg.getBoundingClientRect().width / svg.viewBox.baseVal.width")
    assert 14 * scale >= 11
    trend.screenshot(path=str(shots / f"trend-{width}.png"))
    page.screenshot(path=str(shots / f"patient-page-{width}.png"), full_page=True)

    # and printed (on an A4 sheet's width), the chart stays whole on one page
    page.set_viewport_size({"width": round(210 / 25.4 * 96), "height": round(A4_HEIGHT_PX)})
    page.emulate_media(media="print")
    expect(page.get_by_role("navigation", name="Main")).to_be_hidden()
    box = trend.bounding_box()
    assert box is not None and box["height"] < A4_HEIGHT_PX - 2 * 10 / 25.4 * 96  # less 1 cm margins
    trend.screenshot(path=str(shots / f"trend-print-{width}.png"))
    # the print summary carries the same chart above the timeline
    page.goto(f"/patients/{patient.public_id}/print/")
    expect(page.locator("#trend").get_by_role("img", name="Pain, function, mood and opioids over time")).to_be_visible()
    box = page.locator("#trend").bounding_box()
    assert box is not None and box["height"] < A4_HEIGHT_PX - 2 * 10 / 25.4 * 96
    page.screenshot(path=str(shots / f"print-summary-{width}.png"), full_page=True)
    context.close()


def test_a_patient_with_nothing_recorded_has_the_chart_say_so(page, live_server):
    # given
    physician = UserFactory(role=Role.PHYSICIAN)
    patient = PatientFactory()
    # when
    sign_in_with_code(page, physician)
    page.goto(f"/patients/{patient.public_id}/")
    # then
    expect(page.locator("#trend")).to_contain_text("Nothing to chart yet")
    expect(page.locator("#trend svg")).to_have_count(0)
