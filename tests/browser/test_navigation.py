"""What an admin sees of the navigation, in a real browser: one line at a clinic desktop's width, no sideways
scrolling on a phone either, every configuration page one click into the Administration menu, and no 404 (the
favicon included)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from apps.accounts.models import Role
from apps.clinic.models import Site
from tests.browser.conftest import sign_in_with_code
from tests.factories import UserFactory

pytestmark = pytest.mark.browser

TOP_LEVEL_ITEMS = "nav[aria-label=Main] .navbar-nav > .nav-item"
SCROLLS_SIDEWAYS = "document.documentElement.scrollWidth > document.documentElement.clientWidth"


def _sign_in_as_admin(page) -> None:
    admin = UserFactory(role=Role.ADMIN, is_staff=True, username="ada.admin", first_name="Ada", last_name="Adminova")
    sign_in_with_code(page, admin)


@pytest.mark.parametrize("network", [False, True], ids=["one site", "network"])
def test_the_admin_navigation_is_one_line_at_1366_px(page, network):
    # given an admin, of a single clinic or of a network (whose bar has Sites compared too)
    if network:
        Site.objects.create(name="South Clinic")
    page.set_viewport_size({"width": 1366, "height": 900})
    _sign_in_as_admin(page)

    # when
    page.goto("/patients/")
    tops = page.locator(TOP_LEVEL_ITEMS).evaluate_all(
        "items => items.map(i => Math.round(i.getBoundingClientRect().top))"
    )

    # then
    assert len(tops) >= 6
    assert len(set(tops)) == 1, tops
    assert not page.evaluate(SCROLLS_SIDEWAYS)
    nav = page.get_by_role("navigation", name="Main")
    nav.get_by_role("button", name="Administration").click()
    for name in ("Protocol", "Audit", "Import", "Django admin"):
        expect(nav.get_by_role("link", name=name, exact=True)).to_be_visible()
    nav.get_by_role("link", name="Protocol").click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    assert page.bad_responses == []


def test_the_admin_navigation_fits_a_phone(page):
    # given
    _sign_in_as_admin(page)
    page.set_viewport_size({"width": 390, "height": 844})

    # when
    page.goto("/clinic/protocol/")
    page.get_by_role("button", name="Menu").click()
    page.get_by_role("navigation", name="Main").get_by_role("button", name="Administration").click()

    # then
    expect(page.get_by_role("link", name="Django admin")).to_be_visible()
    assert not page.evaluate(SCROLLS_SIDEWAYS)
    assert page.bad_responses == []


def test_no_404_for_the_favicon_on_django_admin_pages(page):
    # given
    _sign_in_as_admin(page)

    # when
    page.goto("/admin/")

    # then: the admin's pages name the registry's icon too, so the browser does not ask for /favicon.ico
    expect(page.locator("link[rel=icon]")).to_have_attribute("href", "/static/favicon.svg")
    assert page.bad_responses == []
