"""Treatments of other kinds in a real browser: staff record a conventional radiofrequency treatment from a positive
block's page (the kind first, then only its details), see it with its details and follow-ups, record a repeat and
see the first one's later follow-ups superseded by it; at a desktop's width and on a phone. Without the script,
every detail shows and the server names the one of another kind."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from apps.accounts.models import Role
from apps.cryoablations.models import Cryoablation, FollowUp, Kind
from tests.browser.conftest import PASSWORD, TIMEOUT_MS, field, sign_in
from tests.factories import BlockFactory, PatientFactory, UserFactory

pytestmark = pytest.mark.browser

WIDTHS = [(1366, 900), (390, 844)]
SCROLLS_SIDEWAYS = "document.scrollingElement.scrollWidth > document.scrollingElement.clientWidth"
# The innermost elements reaching past the window's right edge, to say what to fix.
WIDEST = """() => [...document.querySelectorAll("body *")]
  .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5)
  .filter(e => ![...e.children].some(c => c.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5))
  .slice(0, 5).map(e => `${e.tagName.toLowerCase()}.${e.className}: ${e.textContent.trim().slice(0, 40)}`)"""


def _fits(page, where: str) -> list[str]:
    """What scrolls sideways at either width, as one line each."""
    problems = []
    for width, height in WIDTHS:
        page.set_viewport_size({"width": width, "height": height})
        if page.evaluate(SCROLLS_SIDEWAYS):
            problems.append(f"{where} at {width} px scrolls sideways: {page.evaluate(WIDEST)}")
    page.set_viewport_size({"width": 1280, "height": 900})
    return problems


@pytest.fixture
def clinic(live_server):
    staff = UserFactory(role=Role.STAFF, username="nora.nurse")
    UserFactory(role=Role.PHYSICIAN, first_name="Grace", last_name="Hopper")
    patient = PatientFactory(mrn="RF-0001", first_name="Rosa", last_name="Quintana")
    # A positive superior cluneal block, left (baseline 8, best 1: 87.5% relief), 45 days ago.
    block = BlockFactory(
        patient=patient, side="left", diary=[(15, 2), (30, 1)], performed_at=timezone.now() - dt.timedelta(days=45)
    )
    return {"staff": staff, "patient": patient, "block": block}


def test_staff_record_a_conventional_rf_treatment_then_a_repeat_that_supersedes_it(page, clinic):
    block = clinic["block"]
    treated_on = timezone.localdate() - dt.timedelta(days=40)
    repeated_on = timezone.localdate() - dt.timedelta(days=5)
    problems: list[str] = []
    sign_in(page, clinic["staff"].username)

    # From the positive block's page: nerve, side and the block itself come prefilled.
    page.goto(f"/blocks/{block.public_id}/")
    page.get_by_role("link", name="Record a treatment").click()
    expect(page.get_by_role("heading", name="Record a treatment")).to_be_visible()
    expect(field(page, "Target nerve")).to_have_value(str(block.nerve_id))
    expect(field(page, "Side")).to_have_value("left")
    expect(field(page, "Qualifying block")).to_have_value(str(block.pk))
    # Cryoablation is chosen first, with its details; choosing RF shows RF's instead.
    expect(page.get_by_label("Cryoablation", exact=True)).to_be_checked()
    expect(field(page, "Cycles")).to_have_value("2")
    expect(field(page, "Cannula gauge")).to_be_hidden()
    page.get_by_label("Conventional radiofrequency", exact=True).check()
    expect(page.locator("[data-details-legend]")).to_have_text("Conventional radiofrequency details")
    expect(field(page, "Cycles")).to_be_hidden()
    expect(field(page, "Device")).to_be_hidden()
    problems += _fits(page, "the treatment form")
    field(page, "Date").fill(treated_on.isoformat())
    field(page, "Physician").select_option(label="Grace Hopper")
    field(page, "Pre-procedure pain (NRS)").fill("8")
    field(page, "Cannula gauge").fill("18")
    field(page, "Active tip (mm)").fill("10")
    field(page, "Temperature (°C)").fill("80")
    field(page, "Seconds per lesion").fill("90")
    field(page, "Lesions").fill("3")
    page.get_by_role("button", name="Save treatment").click()

    # Its page: the kind, its details in words with units, the block, five follow-ups.
    expect(page.get_by_role("status")).to_have_text("Conventional radiofrequency saved; 5 follow-ups scheduled.")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Conventional radiofrequency · Superior cluneal, left")
    details = page.locator("#treatment-details")
    for name, value in [("Cannula", "18 gauge"), ("Active tip", "10 mm"), ("Temperature", "80 °C"), ("Lesions", "3")]:
        expect(details).to_contain_text(re.compile(rf"{name}\s*{value}"))
    expect(details).to_contain_text(re.compile(r"Time per lesion\s*90 s"))
    expect(details).not_to_contain_text("Freeze")
    block_day = timezone.localtime(block.performed_at).date()
    expect(page.locator("#qualifying-block")).to_contain_text(f"Superior cluneal, left, {block_day:%Y-%m-%d}")
    follow_ups = page.locator("#follow-ups tbody tr")
    expect(follow_ups).to_have_count(5)
    expect(page.locator("#follow-ups")).not_to_contain_text("Superseded")
    problems += _fits(page, "the RF treatment's page")
    first = Cryoablation.objects.get()
    assert (first.kind, first.temperature_c, first.lesions, first.cycles) == (Kind.RF_CONVENTIONAL, 80, 3, None)

    # The pain came back: a cryoablation of the same nerve and side, from the patient's page.
    page.get_by_role("link", name="Rosa Quintana (RF-0001)").click()
    page.get_by_role("link", name="Record a treatment").click()
    field(page, "Date").fill(repeated_on.isoformat())
    field(page, "Physician").select_option(label="Grace Hopper")
    field(page, "Pre-procedure pain (NRS)").fill("7")
    field(page, "Target nerve").select_option(label="Superior cluneal")
    field(page, "Side").select_option(label="Left")
    field(page, "Device").fill("Iovera")
    page.get_by_role("button", name="Save treatment").click()
    expect(page.get_by_role("status")).to_have_text("Cryoablation saved; 5 follow-ups scheduled.")
    chain = page.locator("#repeat-chain")
    expect(chain).to_have_text(f"Repeats conventional radiofrequency of {treated_on:%Y-%m-%d}.")
    expect(page.locator("#treatment-details")).to_contain_text(re.compile(r"Freeze cycles\s*2"))

    # The first treatment's follow-ups from the repeat on are superseded by it, with a link back.
    chain.get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Conventional radiofrequency")
    superseded = follow_ups.filter(has_text=f"Superseded by cryoablation on {repeated_on:%Y-%m-%d}")
    expect(superseded).to_have_count(FollowUp.objects.filter(ablation=first, superseded_by__isnull=False).count())
    expect(superseded).to_have_count(3)  # 3, 6 and 12 months: their windows open after the repeat
    expect(follow_ups.filter(has_text="2 weeks")).not_to_contain_text("Superseded")
    problems += _fits(page, "the superseded treatment's page")
    superseded.first.get_by_role("link", name=re.compile("cryoablation on")).click()
    expect(page.locator("#repeat-chain")).to_be_visible()

    # The patient's timeline shows the chain.
    page.get_by_role("link", name="Rosa Quintana (RF-0001)").click()
    timeline = page.locator("#timeline")
    repeated_by = timeline.locator(".treatment-repeated-by")
    expect(repeated_by).to_have_text(f"Repeated by cryoablation on {repeated_on:%Y-%m-%d}")
    expect(timeline.locator(".treatment-repeats")).to_have_text(
        f"Repeats conventional radiofrequency of {treated_on:%Y-%m-%d}"
    )
    problems += _fits(page, "the patient's page")
    assert problems == []
    assert [line for line in page.bad_responses if "/favicon.ico" not in line] == []


def test_without_the_script_every_detail_shows_and_another_kinds_is_named(browser, live_server, clinic):
    # given a browser with JavaScript off
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    sign_in(page, clinic["staff"].username, PASSWORD)
    page.goto(f"/treatments/new/{clinic['patient'].public_id}/?block={clinic['block'].public_id}")
    # then every detail shows, saying which kinds it is for
    expect(field(page, "Cycles")).to_be_visible()
    expect(field(page, "Temperature (°C)")).to_be_visible()
    expect(page.get_by_text("Recorded for: Conventional radiofrequency; Cooled radiofrequency.")).to_be_visible()
    # when RF is chosen and cryoablation's prefilled cycles are left in
    page.get_by_label("Conventional radiofrequency", exact=True).check()
    field(page, "Date").fill((timezone.localdate() - dt.timedelta(days=10)).isoformat())
    field(page, "Physician").select_option(label="Grace Hopper")
    field(page, "Pre-procedure pain (NRS)").fill("8")
    field(page, "Temperature (°C)").fill("80")
    page.get_by_role("button", name="Save treatment").click()
    # then nothing is saved and the fields are named
    errors = page.locator("#form-errors")
    expect(errors).to_contain_text("Cycles: Not recorded for conventional radiofrequency: leave it empty.")
    expect(errors).to_contain_text(
        "Freeze (seconds per cycle): Not recorded for conventional radiofrequency: leave it empty."
    )
    assert not Cryoablation.objects.exists()
    # when they are emptied, it saves
    field(page, "Cycles").fill("")
    field(page, "Freeze (seconds per cycle)").fill("")
    page.get_by_role("button", name="Save treatment").click()
    expect(page.get_by_role("status")).to_have_text("Conventional radiofrequency saved; 5 follow-ups scheduled.")
    assert Cryoablation.objects.get().temperature_c == 80
    context.close()
