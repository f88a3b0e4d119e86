"""The registry import in a real browser: an admin imports the sample registry, then finds the run among the past
import runs and opens its page, on a clinic desktop and on a phone's width."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from apps.accounts.models import Role
from apps.patients.models import Patient
from apps.registry.models import ImportRun
from apps.registry.parsing import FILES_V1 as FILES
from tests.browser.conftest import sign_in_with_code
from tests.factories import UserFactory

pytestmark = pytest.mark.browser
# A check or an import of a whole sample registry takes seconds, not a page's under a second (conftest's TIMEOUT_MS).
IMPORT_MS = 30_000

SAMPLE = Path(__file__).resolve().parent.parent / "fixtures" / "registry-sample"


def _no_sideways_scrolling(page) -> bool:
    """The page's own content fits the width (the navigation's fit is the navigation's tests' business)."""
    return page.evaluate(
        "Array.from(document.querySelectorAll('main *')).every("
        "e => e.getBoundingClientRect().right <= document.documentElement.clientWidth)"
    )


def test_admin_imports_the_sample_then_opens_the_run_from_the_list(page):
    # given an admin with an authenticator
    admin = UserFactory(role=Role.ADMIN, is_staff=True, username="ada.admin", first_name="Ada", last_name="Admin")
    sign_in_with_code(page, admin)

    # when: they upload the sample on the import page, check it and confirm
    nav = page.get_by_role("navigation", name="Main")
    nav.get_by_role("button", name="Administration").click()
    nav.get_by_role("link", name="Import", exact=True).click()
    page.locator("input[type=file][name=files]").set_input_files([str(SAMPLE / name) for name in FILES])
    page.get_by_role("button", name="Check (dry run)").click(timeout=IMPORT_MS)
    expect(page.locator("#counts")).to_contain_text("60 new patients")
    page.get_by_role("button", name="Confirm the import").click(timeout=IMPORT_MS)

    # then the run's page says what was imported, in words
    run = ImportRun.objects.get(status=ImportRun.Status.IMPORTED)
    expect(page.get_by_role("heading", name="What was imported")).to_be_visible()
    assert page.url.endswith(f"/registry/imports/{run.public_id}/")
    assert Patient.objects.count() == 60

    # when: they open the list of import runs from the navigation, and the run from the list
    nav.get_by_role("button", name="Administration").click()
    nav.get_by_role("link", name="Import runs").click()
    expect(page.get_by_role("heading", name="Import runs")).to_be_visible()
    runs = page.locator("#runs > li")
    expect(runs).to_have_count(2)  # the dry run and the import
    expect(runs.first).to_contain_text("Imported")
    expect(runs.first).to_contain_text("by Ada Admin")
    expect(runs.first).to_contain_text("Files: patients.csv, blocks.csv, ablations.csv, survey_responses.csv")
    for width, height in [(1366, 900), (390, 844)]:
        page.set_viewport_size({"width": width, "height": height})
        assert _no_sideways_scrolling(page), f"the list scrolls sideways at {width} px"
    runs.first.get_by_role("link").click()

    # then its page: status, who, files and the counts, in words, without internal codes
    main = page.locator("main")
    expect(main).to_contain_text("Imported")
    expect(main).to_contain_text("Ada Admin")
    expect(main).to_contain_text("of them whose window had closed before the import")
    expect(main).not_to_contain_text("window_closed_at_import")
    for width, height in [(390, 844), (1366, 900)]:
        page.set_viewport_size({"width": width, "height": height})
        assert _no_sideways_scrolling(page), f"the run's page scrolls sideways at {width} px"
    assert page.bad_responses == []


SAMPLE_V2 = Path(__file__).resolve().parent.parent / "fixtures" / "registry-sample-v2"


def test_admin_imports_the_version_2_sample_and_reads_its_counts_in_words(page):
    # given an admin with an authenticator
    admin = UserFactory(role=Role.ADMIN, is_staff=True, username="ada.admin", first_name="Ada", last_name="Admin")
    sign_in_with_code(page, admin)
    nav = page.get_by_role("navigation", name="Main")
    nav.get_by_role("button", name="Administration").click()
    nav.get_by_role("link", name="Import", exact=True).click()
    every_file = sorted(SAMPLE_V2.glob("*.csv"))

    # when they upload all eight files of the version 2 sample, check them and confirm
    page.locator("input[type=file][name=files]").set_input_files([str(path) for path in every_file])
    page.get_by_role("button", name="Check (dry run)").click(timeout=IMPORT_MS)
    expect(page.locator("#counts")).to_contain_text("84 new treatments from treatments.csv")
    expect(page.locator("#counts")).to_contain_text("727 new instrument answers")
    page.get_by_role("button", name="Confirm the import").click(timeout=IMPORT_MS)

    # then the run's page gives the treatments by kind, the repeats and the adverse events in plain words
    expect(page.get_by_role("heading", name="What was imported")).to_be_visible()
    counts = page.locator("#counts")
    expect(counts).to_contain_text(
        "New treatments by kind: cryoablation 41; conventional radiofrequency 27; cooled radiofrequency 6; "
        "pulsed radiofrequency 3; nerve stimulation, temporary leads 4; nerve stimulation, implanted 3."
    )
    expect(counts).to_contain_text("left out because the treatment was repeated")
    expect(counts).to_contain_text("28 new adverse events (21 after a treatment, 7 after a block, 2 serious)")
    for code in ("rf_conventional", "pns_temporary", "treatments_by_kind", "superseded"):
        expect(page.locator("main")).not_to_contain_text(code)
    for width, height in [(390, 844), (1366, 900)]:
        page.set_viewport_size({"width": width, "height": height})
        assert _no_sideways_scrolling(page), f"the run's page scrolls sideways at {width} px"
    assert page.bad_responses == []
