"""A physician of one site of a network opens Sites compared from the navigation in a real browser: their site is
named, the other is "Site 1", the funnel plot has a dot for each; on a phone nothing scrolls sideways."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import expect

from apps.accounts.models import Role
from apps.clinic.models import Site
from tests.browser.conftest import sign_in_with_code
from tests.browser.test_navigation import TOP_LEVEL_ITEMS
from tests.browser.test_walk import SCROLLS_SIDEWAYS
from tests.factories import UserFactory
from tests.reports.test_benchmark import patients_at

pytestmark = pytest.mark.browser


def test_a_physician_compares_their_site_with_the_network_from_the_navigation(page, tmp_path):
    # given a registry of two sites with treatments answered at 3 months, and a physician of the first
    north = Site.objects.get()
    north.name = "North Clinic"
    north.save()
    south = Site.objects.create(name="South Clinic")
    patients_at(north, responders=3, non_responders=1)
    patients_at(south, responders=1, non_responders=2)
    doctor = UserFactory(role=Role.PHYSICIAN, username="nia.north", first_name="Nia", last_name="North")
    north.members.add(doctor)
    as_of = (dt.date(2025, 1, 10) + dt.timedelta(days=500)).isoformat()

    # when they sign in and follow the navigation's link
    sign_in_with_code(page, doctor)
    page.set_viewport_size({"width": 1366, "height": 900})
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Sites compared").click()
    expect(page.get_by_role("heading", name="Sites compared", level=1)).to_be_visible()
    tops = page.locator(TOP_LEVEL_ITEMS).evaluate_all(
        "items => items.map(i => Math.round(i.getBoundingClientRect().top))"
    )
    assert len(set(tops)) == 1, tops

    # then their site is named and the other is Site 1, in the table and on the plot
    expect(page.locator("#benchmark-table tbody th")).to_have_text(["North Clinic", "Site 1"])
    expect(page.get_by_text("South Clinic")).to_have_count(0)
    plot = page.locator("#benchmark-funnel svg")
    expect(plot).to_be_visible()
    expect(plot.locator("circle.site-dot")).to_have_count(2)
    for label in ("North Clinic", "Site 1"):
        expect(plot.locator("text", has_text=label)).to_have_count(1)
    # and the durability chart names their site and the network
    durability = page.locator("#benchmark-durability svg")
    expect(durability.get_by_text("North Clinic", exact=True)).to_have_count(1)
    expect(durability.get_by_text("Network (every site)", exact=True)).to_have_count(1)
    assert not page.evaluate(SCROLLS_SIDEWAYS)
    page.screenshot(path=tmp_path / "benchmark-1366.png", full_page=True)

    # when the page is read on a phone, at a fixed date
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(page.url.split("?")[0] + f"?as_of={as_of}")

    # then the table's rows are stacked, inside the screen, and nothing scrolls sideways
    cell = page.locator("#benchmark-table tbody tr").first.locator("td.rate")
    expect(cell).to_have_text("75.0%")
    box = cell.bounding_box()
    assert box is not None and box["x"] + box["width"] <= 390
    assert not page.evaluate(SCROLLS_SIDEWAYS)
    page.screenshot(path=tmp_path / "benchmark-390.png", full_page=True)
    assert not page.bad_responses, page.bad_responses
