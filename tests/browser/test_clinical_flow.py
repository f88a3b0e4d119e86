"""The clinical flow in a real browser: sign in, register a patient, log a block and a cryoablation, record the
2-week follow-up from the worklist. Plus what the block form does with bad input."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from apps.accounts.models import Role
from apps.blocks.models import DiagnosticBlock, DiaryEntry
from apps.cryoablations.models import Cryoablation, FollowUp
from apps.surveys.models import SurveyResponse
from tests.browser.conftest import field, sign_in
from tests.factories import PatientFactory, UserFactory

pytestmark = pytest.mark.browser


def _static_ok(page) -> None:
    """Every request of the flow answered below 400 (the stylesheets and scripts included)."""
    bad = [line for line in page.bad_responses if "/favicon.ico" not in line]
    assert not bad, f"failed requests: {bad}"


def test_staff_records_block_ablation_and_two_week_follow_up(page):
    staff = UserFactory(role=Role.STAFF, first_name="Nora", last_name="Nurse")
    UserFactory(role=Role.PHYSICIAN, first_name="Grace", last_name="Hopper")
    now = timezone.localtime().replace(second=0, microsecond=0)
    block_at = now - dt.timedelta(days=20)
    ablation_on = timezone.localdate() - dt.timedelta(days=14)  # so its 2-week follow-up is due today

    sign_in(page, staff.username)
    expect(page.get_by_role("heading", name="Follow-up worklist")).to_be_visible()
    # The stylesheet is served and applied: Bootstrap colours the navigation bar.
    expect(page.get_by_role("navigation", name="Main")).to_have_css(
        "background-color", re.compile(r"rgb\(13, 110, 253")
    )
    nav = page.get_by_role("navigation", name="Main")

    # A new patient, through the navigation and the form.
    nav.get_by_role("link", name="New patient").click()
    field(page, "MRN").fill("e2e-0001")
    field(page, "First name").fill("Rosa")
    field(page, "Last name").fill("Quintana")
    field(page, "Date of birth").fill("1968-03-09")
    page.get_by_role("button", name="Save patient").click()
    expect(page.get_by_role("status")).to_contain_text("Patient E2E-0001 registered.")
    expect(page.get_by_role("heading", name="Rosa Quintana")).to_be_visible()

    # A superior cluneal block with its diary: baseline 8, best score 1 -> 87.5% relief.
    page.get_by_role("link", name="Log diagnostic block").click()
    field(page, "Date and time").fill(block_at.strftime("%Y-%m-%dT%H:%M"))
    field(page, "Physician").select_option(label="Grace Hopper")
    field(page, "Pre-block pain (NRS)").fill("8")
    field(page, "Target nerve").select_option(label="Superior cluneal")
    field(page, "Side").select_option(label="Left")
    field(page, "Suspected diagnosis").select_option(label="Superior cluneal nerve entrapment")
    page.get_by_label("Row 1: minutes after injection").fill("15")
    page.get_by_label("Row 1: pain").fill("2")
    page.get_by_label("Row 2: minutes after injection").fill("30")
    page.get_by_label("Row 2: pain").fill("1")
    page.get_by_role("button", name="Save block").click()
    expect(page.get_by_role("status")).to_contain_text("Diagnostic block saved.")
    expect(page.locator("#block-result")).to_contain_text("Positive")
    expect(page.locator("#peak-relief")).to_have_text("87.5%")
    expect(page.locator("#diary tbody tr")).to_have_count(2)

    # A cryoablation of the same nerve and side, the qualifying block left to the rule.
    page.get_by_role("link", name="Rosa Quintana (E2E-0001)").click()
    page.get_by_role("link", name="Record a treatment").click()
    field(page, "Date").fill(ablation_on.isoformat())
    field(page, "Physician").select_option(label="Grace Hopper")
    field(page, "Pre-procedure pain (NRS)").fill("8")
    field(page, "Target nerve").select_option(label="Superior cluneal")
    field(page, "Side").select_option(label="Left")
    expect(field(page, "Qualifying block")).to_have_value("")
    page.get_by_role("button", name="Save treatment").click()
    expect(page.get_by_role("status")).to_contain_text("Cryoablation saved; 5 follow-ups scheduled")
    qualifying = page.locator("#qualifying-block")
    expect(qualifying).to_contain_text(f"Qualifying block: Superior cluneal, left, {block_at:%Y-%m-%d}")
    expect(qualifying).to_contain_text("chosen by the qualifying-block rule")
    follow_ups = page.locator("#follow-ups tbody tr")
    expect(follow_ups).to_have_count(5)

    # The 2-week follow-up is on the worklist, due today; its answers are recorded from there.
    nav.get_by_role("link", name="Worklist").click()
    row = page.locator("#worklist tbody tr").filter(has_text="Quintana, Rosa").filter(has_text="2 weeks")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(f"{timezone.localdate():%Y-%m-%d}")
    expect(row.locator(".badge")).to_have_text("Due")
    row.get_by_role("link", name="Record answers").click()
    expect(page.get_by_role("heading", name="2 weeks follow-up answers")).to_be_visible()
    field(page, "Average pain, past 24 hours").fill("3")
    field(page, "Pain right now").fill("2")
    field(page, "Worst pain, past 24 hours").fill("5")
    field(page, "Relief since the procedure (%)").fill("60")
    field(page, "Impression of change (PGIC)").select_option(label="Much improved")
    page.get_by_role("button", name="Save answers").click()
    expect(page.get_by_role("status")).to_contain_text("2 weeks answers recorded.")
    # Back on the worklist, where the answered follow-up has left; its ablation's page shows the answer.
    expect(page.get_by_role("heading", name="Follow-up worklist")).to_be_visible()
    expect(row).to_have_count(0)
    page.goto(reverse("cryoablations:detail", args=[Cryoablation.objects.get().public_id]))
    two_weeks = follow_ups.filter(has_text="2 weeks")
    expect(two_weeks.locator("td").nth(3)).to_have_text("Completed")
    expect(two_weeks.locator("td").nth(4)).to_have_text("3")
    _static_ok(page)

    # What was stored.
    block = DiagnosticBlock.objects.get()
    assert block.patient.mrn == "E2E-0001"
    assert (block.baseline_nrs, block.side, block.nerve.code) == (8, "left", "superior_cluneal")
    assert timezone.localtime(block.performed_at) == block_at
    assert list(DiaryEntry.objects.filter(block=block).values_list("minutes_after", "nrs")) == [(15, 2), (30, 1)]
    ablation = Cryoablation.objects.get()
    assert ablation.performed_on == ablation_on
    assert ablation.qualifying_block == block
    assert ablation.qualifying_source == "rule"
    assert FollowUp.objects.filter(ablation=ablation).count() == 5
    response = SurveyResponse.objects.get()
    assert response.follow_up == FollowUp.objects.get(ablation=ablation, time_point="2w")
    assert (response.pain_average, response.pain_current, response.pain_worst) == (3, 2, 5)
    assert (response.percent_relief, response.pgic, response.collected_via) == (60, 2, "phone")
    assert response.recorded_by == staff


def test_block_form_names_bad_fields_and_keeps_what_was_typed(page):
    staff = UserFactory(role=Role.STAFF)
    UserFactory(role=Role.PHYSICIAN, first_name="Grace", last_name="Hopper")
    patient = PatientFactory()
    block_at = timezone.localtime() - dt.timedelta(days=1)

    sign_in(page, staff.username)
    page.goto(reverse("blocks:new", args=[patient.public_id]))
    field(page, "Date and time").fill(block_at.strftime("%Y-%m-%dT%H:%M"))
    field(page, "Physician").select_option(label="Grace Hopper")
    field(page, "Pre-block pain (NRS)").fill("7.5")
    field(page, "Target nerve").select_option(label="Superior cluneal")
    field(page, "Side").select_option(label="Left")
    field(page, "Suspected diagnosis").select_option(label="Superior cluneal nerve entrapment")
    page.get_by_label("Row 1: minutes after injection").fill("15")
    page.get_by_label("Row 1: pain").fill("11")
    page.get_by_role("button", name="Save block").click()

    expect(page.locator("#form-errors")).to_contain_text("Nothing was saved.")
    expect(page.locator("#form-errors")).to_contain_text("Pre-block pain (NRS): Enter a whole number.")
    expect(page.locator("#diary-errors")).to_contain_text(
        "Pain diary, row 1: Pain (NRS 0–10): Ensure this value is less than or equal to 10."
    )
    expect(field(page, "Pre-block pain (NRS)")).to_have_value("7.5")
    expect(page.get_by_label("Row 1: minutes after injection")).to_have_value("15")
    expect(page.get_by_label("Row 1: pain")).to_have_value("11")
    expect(field(page, "Side")).to_have_value("left")
    assert not DiagnosticBlock.objects.exists()
    assert not DiaryEntry.objects.exists()
