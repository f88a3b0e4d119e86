"""The worklist's "To call" tab on a phone: its tables scroll in their own box, the page never sideways."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from apps.accounts.models import Role
from tests.browser.conftest import sign_in
from tests.factories import UserFactory, make_ablation, make_reachable_patient

pytestmark = pytest.mark.browser

SCROLLS_SIDEWAYS = "document.documentElement.scrollWidth > document.documentElement.clientWidth"


def test_the_call_tab_fits_a_phone(page):
    # given: a patient no message reaches, with a follow-up open today
    staff = UserFactory(role=Role.STAFF)
    patient = make_reachable_patient(reminder_consent=False, first_name="Joaquín", last_name="Nophone-Smith")
    make_ablation(patient=patient, performed_on=timezone.localdate() - dt.timedelta(days=14))
    sign_in(page, staff.username)

    # when
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/treatments/worklist/?view=reach")

    # then
    expect(page.locator("#unreachable")).to_contain_text("Nophone-Smith")
    assert not page.evaluate(SCROLLS_SIDEWAYS)
    assert page.bad_responses == []
