"""A physician in a real browser: signs in with a one-time code, opens the dashboard, filters by nerve, reads the
3-month rate, drills down to its patients, asks for a report (built by a real Celery worker) and downloads the PDF."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import call_command
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from apps.accounts.models import Role
from apps.audit.models import AccessEvent, Action
from apps.clinic.models import Nerve
from apps.reports.outcomes import ablation_ids_for, outcomes_compute, outcomes_filters
from apps.reports.presentation import percent
from tests.browser.conftest import PASSWORD, field, one_time_code, sign_in_with_code
from tests.factories import BlockFactory, PatientFactory, UserFactory, make_ablation

pytestmark = pytest.mark.browser

SAMPLE = Path(__file__).resolve().parent.parent / "fixtures" / "registry-sample"


def test_physician_reads_a_rate_drills_down_and_downloads_a_report(page, live_worker):
    # given the sample registry and a physician with an authenticator
    call_command("import_registry", str(SAMPLE), stdout=io.StringIO())
    doctor = UserFactory(role=Role.PHYSICIAN, username="paz.physician", first_name="Paz", last_name="Physician")
    device = TOTPDevice.objects.create(user=doctor, name="authenticator", confirmed=True)
    nerve = Nerve.objects.get(code="superior_cluneal")
    report = outcomes_compute(nerve_id=nerve.pk)
    expected = report.response_row("overall", "3m")
    responders = set(
        ablation_ids_for(filters=outcomes_filters(nerve_id=nerve.pk), time_point="3m", measure="responders")
    )

    # when they sign in with password and code, and open the dashboard for all physicians, superior cluneal
    page.goto("/")
    field(page, "Username").fill(doctor.username)
    field(page, "Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    field(page, "Code").fill(one_time_code(device))
    page.get_by_role("button", name="Verify").click()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Dashboard").click()
    expect(page.get_by_role("heading", name="Outcomes dashboard")).to_be_visible()
    page.locator("#dashboard-filters").get_by_label("Physician").select_option(label="All physicians")
    page.locator("#dashboard-filters").get_by_label("Nerve").select_option(label=nerve.name)
    page.locator("#dashboard-filters").get_by_role("button", name="Filter").click()

    # then the 3-month completers' rate is the engine's
    row = page.locator('#response-table tr[data-time-point="3m"]')
    expect(row.locator("td.rate")).to_have_text(percent(expected.rate))
    expect(row.locator("td.responders")).to_have_text(str(expected.responders))

    # when they drill down to the responders
    row.locator("td.responders a").click()

    # then the page lists exactly those ablations' patients
    expect(page.get_by_role("heading", name=f"Responders at 3 months · {nerve.name}")).to_be_visible()
    links = page.locator("#drill-procedures tbody tr")
    expect(links).to_have_count(len(responders))

    # when they go back and ask for a report of that nerve, and the worker builds it
    page.get_by_role("link", name="Back to the dashboard").click()
    page.get_by_label("Report nerve").select_option(label=nerve.name)
    page.get_by_role("button", name="Ask for a report").click()
    expect(page.get_by_role("link", name="PDF")).to_be_visible(timeout=60_000)
    expect(page.locator("#report-progress p")).to_have_text("Ready")  # the status once, not "Ready · Ready"
    with page.expect_download() as download_info:
        page.get_by_role("link", name="PDF").click()

    # then the PDF arrives and its download is in the access log
    download = download_info.value
    assert Path(download.path()).read_bytes().startswith(b"%PDF")
    assert AccessEvent.objects.filter(actor=doctor, action=Action.EXPORT, detail__format="pdf").count() == 1
    # A download ends its navigation with ERR_ABORTED in Chromium: that is the browser, not a failure.
    assert not [r for r in page.bad_responses if "net::ERR_ABORTED" not in r], page.bad_responses


DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
SIDEWAYS = "document.documentElement.scrollWidth - document.documentElement.clientWidth"
# How far the response table would scroll sideways inside its own box.
TABLE_SIDEWAYS = "(box => box.scrollWidth - box.clientWidth)(document.querySelector('#response-table').parentElement)"


def _physician_signed_in(page) -> object:
    """The sample registry and a physician signed in with password and one-time code, as in the flow above."""
    call_command("import_registry", str(SAMPLE), stdout=io.StringIO())
    doctor = UserFactory(role=Role.PHYSICIAN, username="paz.physician", first_name="Paz", last_name="Physician")
    sign_in_with_code(page, doctor)
    return doctor


def test_the_dashboard_fits_a_desktop_and_a_phone_without_sideways_scrolling(page):
    # given a physician looking at the whole clinic's figures
    _physician_signed_in(page)

    # when they open the dashboard on a clinic desktop
    page.set_viewport_size(DESKTOP)
    page.goto("/reports/?physician=&as_of=2026-06-30")

    # then the page does not scroll sideways and every column of the response table is on screen
    assert page.evaluate(SIDEWAYS) == 0
    headers = page.locator("#response-table thead th")
    expect(headers).to_have_count(11)
    assert page.evaluate(TABLE_SIDEWAYS) == 0
    for i in range(headers.count()):
        box = headers.nth(i).bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= DESKTOP["width"], headers.nth(i).inner_text()

    # when they open it on a phone: the page itself does not scroll sideways (a wide table scrolls in its box)
    page.set_viewport_size(PHONE)
    page.reload()
    assert page.evaluate(SIDEWAYS) == 0

    # nor does the list of procedures behind a count
    page.locator('#response-table tr[data-time-point="3m"] td.responders a').click()
    expect(page.locator("#drill-procedures")).to_be_visible()
    assert page.evaluate(SIDEWAYS) == 0


# The rendered size of each chart text (its font size times the chart's scale on screen), in CSS pixels.
CHART_TEXT_SIZES = """[...document.querySelectorAll('svg.chart text')].map(t =>
    parseFloat(getComputedStyle(t).fontSize) * t.ownerSVGElement.getScreenCTM().a)"""
# Width and height of each count link in the dashboard's tables.
COUNT_LINKS = """[...document.querySelectorAll('.report-section td a')].map(a => {
    const r = a.getBoundingClientRect(); return [r.width, r.height]; })"""


def test_chart_text_is_readable_and_count_links_are_big_enough_to_tap(page):
    # given a physician looking at the whole clinic's figures
    _physician_signed_in(page)

    for size in (DESKTOP, PHONE):
        # when they open the dashboard
        page.set_viewport_size(size)
        page.goto("/reports/?physician=&as_of=2026-06-30")

        # then no chart text is drawn smaller than 11 px, and every count is a tap target of at least 24 px
        text_sizes = page.evaluate(CHART_TEXT_SIZES)
        assert text_sizes and min(text_sizes) >= 11, (size, min(text_sizes))
        links = page.evaluate(COUNT_LINKS)
        assert links and min(min(w, h) for w, h in links) >= 24, (size, min(min(w, h) for w, h in links))


def test_a_patients_print_summary_fits_a_phone(page):
    # given a patient with a long name and MRN, a block and an ablation, and a physician signed in
    doctor = _physician_signed_in(page)
    patient = PatientFactory(mrn="M" * 32, first_name="Maria-Antonietta", last_name="Schwarzenberg-Wolkenstein" * 3)
    block = BlockFactory(patient=patient, physician=doctor, diary=[(30, 2), (60, 1)])
    make_ablation(patient=patient, physician=doctor, qualifying_block=block)

    for size in (DESKTOP, PHONE):
        # when they open the patient's print summary
        page.set_viewport_size(size)
        page.goto(f"/patients/{patient.public_id}/print/")

        # then it does not scroll sideways
        expect(page.get_by_role("button", name="Print")).to_be_visible()
        assert page.evaluate(SIDEWAYS) == 0, size
