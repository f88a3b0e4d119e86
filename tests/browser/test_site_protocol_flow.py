"""An admin of a network gives one site a protocol of its own in a real browser, from the navigation: a stricter
threshold and its own 3-month window; the site's block page then assesses at that threshold, the other site's at the
registry's. Both protocol pages read in words at a desktop's width and on a phone."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from apps.accounts.models import Role
from apps.clinic.models import Site
from tests.browser.conftest import field, sign_in_with_code
from tests.browser.test_walk import _walk
from tests.factories import BlockFactory, PatientFactory, UserFactory, make_ablation

pytestmark = pytest.mark.browser


def test_an_admin_gives_a_site_its_own_threshold_and_window(page, live_server, tmp_path):
    # given two sites, each with a patient whose block relieved 62.5% of the pain
    north = Site.objects.get()
    north.name = "North Clinic"
    north.save()
    south = Site.objects.create(name="South Clinic")
    blocks = {site: BlockFactory(patient=PatientFactory(site=site), diary=[(30, 3)]) for site in (north, south)}
    admin = UserFactory(role=Role.ADMIN, is_staff=True, username="ada.admin")
    for site in (north, south):
        site.members.add(admin)

    # when the admin opens the protocol from the navigation and chooses South Clinic's tab
    sign_in_with_code(page, admin)
    page.set_viewport_size({"width": 1366, "height": 900})
    navigation = page.get_by_role("navigation", name="Main")
    navigation.get_by_role("button", name="Administration").click()
    navigation.get_by_role("link", name="Protocol").click()
    expect(page.get_by_role("heading", name="Registry protocol", level=1)).to_be_visible()
    page.get_by_role("navigation", name="Protocols").get_by_role("link", name="South Clinic").click()
    expect(page.get_by_role("heading", name="Protocol of South Clinic", level=1)).to_be_visible()
    # and sets a threshold of 80% and a 3-month window of days 70 to 100, target 84
    field(page, "Positive block threshold (%)").fill("80")
    page.get_by_label("3 months: target day").fill("84")
    page.get_by_label("3 months: window from day").fill("70")
    page.get_by_label("3 months: window to day").fill("100")
    page.get_by_role("button", name="Save the protocol of South Clinic").click()

    # then it is saved, and the fields left blank still show the registry's values
    expect(page.get_by_text("Protocol of South Clinic saved.")).to_be_visible()
    expect(field(page, "Positive block threshold (%)")).to_have_value("80.00")
    expect(page.get_by_text("Blank: the registry's (10:00).")).to_be_visible()
    # and South Clinic's block is negative at 80%, North Clinic's positive at the registry's 50%
    page.goto(f"/blocks/{blocks[south].public_id}/")
    expect(page.locator("#block-result")).to_contain_text("Negative")
    expect(page.get_by_text("Threshold 80%")).to_be_visible()
    page.goto(f"/blocks/{blocks[north].public_id}/")
    expect(page.locator("#block-result")).to_contain_text("Positive")
    expect(page.get_by_text("Threshold 50%")).to_be_visible()
    # and a treatment of a South Clinic patient gets the site's 3-month window
    performed_on = timezone.localdate() - dt.timedelta(days=7)
    follow_up = make_ablation(patient=blocks[south].patient, performed_on=performed_on).follow_ups.get(time_point="3m")
    assert (follow_up.window_start - performed_on, follow_up.window_end - performed_on) == (
        dt.timedelta(days=70),
        dt.timedelta(days=100),
    )

    # and both protocol pages read in words, with nothing scrolling sideways, at both widths
    os.environ.setdefault("PYTEST_CURRENT_TEST", "protocol::protocol")
    assert _walk(page, ["/clinic/protocol/", f"/clinic/protocol/?site={south.pk}"]) == []
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"/clinic/protocol/?site={south.pk}")
    page.screenshot(path=Path(tmp_path) / "site-protocol-390.png", full_page=True)
