"""The registry as each role finds it, in a real browser: every main page at a clinic desktop's width and on a
phone, with no sideways scrolling of the page, no console error, no failed request, and no internal code on screen
(a snake_case key, a nerve's import code, an IANA time zone, raw JSON). One signed-in page per role."""

from __future__ import annotations

import datetime as dt
import os
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone

from apps.accounts.models import Role
from apps.adverse_events.services import adverse_event_create
from apps.clinic.models import Nerve
from apps.medications.services import medication_statement_create
from apps.registry.services import registry_import
from apps.sms.models import InboundSms
from apps.surveys.services import response_record
from tests.browser.conftest import sign_in, sign_in_with_code
from tests.factories import (
    BlockFactory,
    UserFactory,
    make_ablation,
    make_reachable_patient,
    make_report_run,
    make_survey_link,
)

pytestmark = pytest.mark.browser

WIDTHS = [(1366, 900), (390, 844)]
SCROLLS_SIDEWAYS = "document.scrollingElement.scrollWidth > document.scrollingElement.clientWidth"
# A key with an underscore (a column, a choice or an object type: patient_list, nerve_id), except the registry
# import's file names, which people do type; an IANA time zone (America/New_York); raw JSON.
RAW_CODE = re.compile(r"\b[A-Za-z]+(?:_[A-Za-z0-9]+)+\b(?!\.csv)|[A-Z][a-z]+/[A-Za-z]+_[A-Za-z_]+|\{\"")
SAMPLE_IMPORT = Path(__file__).parents[1] / "fixtures" / "registry-sample"


@pytest.fixture
def clinic(live_server):
    """A patient with a block and its diary, a treatment with its follow-ups repeating an earlier one, answers to
    one of them, an open survey link to another, a report and a registry import checked: every main page has
    something to show."""
    physician = UserFactory(role=Role.PHYSICIAN, username="phil.physician")
    patient = make_reachable_patient(mrn="WALK-0001", first_name="Rosa", timezone="America/New_York")
    block = BlockFactory(
        patient=patient,
        physician=physician,
        diary=[(30, 2), (60, 1)],
        performed_at=timezone.now() - dt.timedelta(days=40),
    )
    # 30 days ago: the 2-week follow-up answered, the 1-month one's window open today
    performed_on = timezone.localdate() - dt.timedelta(days=30)
    ablation = make_ablation(
        patient=patient, physician=physician, nerve=block.nerve, side=block.side, performed_on=performed_on
    )
    # An RF treatment of the same nerve and side 300 days ago, which that one repeats (its 12-month follow-up
    # superseded): the chain shows on both treatments' pages and in the timeline.
    earlier = make_ablation(
        patient=patient,
        physician=physician,
        nerve=block.nerve,
        side=block.side,
        performed_on=performed_on - dt.timedelta(days=270),
        kind="rf_conventional",
        cannula_gauge=18,
        active_tip_mm=10,
        temperature_c=80,
        lesion_seconds=90,
        lesions=3,
    )
    first, second = ablation.follow_ups.order_by("target_date")[:2]
    answered = timezone.now() - dt.timedelta(days=16)
    response_record(ablation=ablation, completed_at=answered, pain_average=3, collected_via="phone")
    # a new problem waiting on the worklist's New problems tab, and an adverse event on the block
    new_problem = response_record(
        ablation=ablation,
        completed_at=answered,
        pain_average=4,
        collected_via="phone",
        new_problem=True,
        new_problem_text="Burning skin",
    )
    event = adverse_event_create(
        block=block,
        occurred_on=timezone.localdate(block.performed_at),
        category="vasovagal",
        severity="mild",
        relatedness="definite",
    )
    statement = medication_statement_create(
        patient=patient, opioid="oxycodone", daily_dose=Decimal("20"), started_on=performed_on - dt.timedelta(days=90)
    )
    call_command("sms_reply", "+12125550999", "hello? who is this")  # from no patient's number: Text replies tab
    _link, token = make_survey_link(follow_up=second)
    run = make_report_run()
    registry_import(folder=SAMPLE_IMPORT, dry_run=True, user=None, source="registry-sample")
    return {
        "physician": physician,
        "patient": patient,
        "block": block,
        "ablation": ablation,
        "earlier": earlier,
        "follow_up": first,
        "report": run,
        "token": token,
        "new_problem": new_problem,
        "adverse_event": event,
        "statement": statement,
        "inbound": InboundSms.objects.get(),
    }


def _clinical_pages(c) -> list[str]:
    patient, block, ablation = c["patient"].public_id, c["block"].public_id, c["ablation"].public_id
    return [
        "/treatments/worklist/",
        "/treatments/worklist/?view=reach",
        "/patients/",
        "/patients/?q=walk",
        "/patients/new/",
        f"/patients/{patient}/",
        f"/patients/{patient}/edit/",
        f"/blocks/{block}/",
        f"/blocks/new/{patient}/",
        f"/treatments/{ablation}/",
        f"/treatments/{c['earlier'].public_id}/",
        f"/treatments/new/{patient}/",
        f"/treatments/new/{patient}/?block={block}",
        f"/treatments/{ablation}/edit/",
        f"/treatments/{ablation}/baseline/",
        f"/treatments/follow-ups/{c['follow_up'].public_id}/answers/",
        "/adverse-events/new-problems/",
        f"/adverse-events/new/treatment/{ablation}/?response={c['new_problem'].public_id}",
        f"/adverse-events/new/block/{block}/",
        f"/adverse-events/{c['adverse_event'].public_id}/edit/",
        f"/adverse-events/new-problems/{c['new_problem'].public_id}/dismiss/",
        "/sms/inbox/",
        f"/sms/inbox/{c['inbound'].public_id}/",
        f"/medications/patient/{patient}/new/",
        f"/medications/{c['statement'].public_id}/edit/",
        "/accounts/password/",
        "/accounts/mfa/",
    ]


# WALK_SCREENSHOTS=DIR keeps a full-page screenshot of every page at each width there, to look at before resolving.
SCREENSHOTS = os.environ.get("WALK_SCREENSHOTS")


def _walk(page, urls: list[str]) -> list[str]:
    """Every url at both widths; what reads or lays out wrong, as one line each."""
    console_errors: list[str] = []
    page.on("console", lambda message: console_errors.append(message.text) if message.type == "error" else None)
    slugs = [code for code in Nerve.objects.values_list("code", flat=True) if "_" in code]
    problems = []
    for width, height in WIDTHS:
        page.set_viewport_size({"width": width, "height": height})
        for url in urls:
            page.goto(url)
            where = f"{url} at {width} px"
            if SCREENSHOTS:
                test = os.environ["PYTEST_CURRENT_TEST"].split("::")[-1].split()[0].removeprefix("test_")[:12]
                name = re.sub(r"[^a-z0-9]+", "-", url.lower()).strip("-") or "home"
                page.screenshot(path=Path(SCREENSHOTS) / f"{test}-{name}-{width}.png", full_page=True)
            if page.evaluate(SCROLLS_SIDEWAYS):
                problems.append(f"{where}: the page scrolls sideways")
            text = page.inner_text("body")
            codes = sorted({m.group(0) for m in RAW_CODE.finditer(text)} | {s for s in slugs if s in text})
            if codes:
                problems.append(f"{where}: {codes}")
    problems += [f"console: {error}" for error in console_errors]
    problems += [f"failed: {response}" for response in page.bad_responses]
    return problems


def test_staff_find_every_page_in_words_at_both_widths(page, clinic):
    # given
    UserFactory(role=Role.STAFF, username="sam.staff")
    sign_in(page, "sam.staff")
    # when
    problems = _walk(page, ["/", *_clinical_pages(clinic)])
    # then
    assert problems == []


def test_physicians_find_every_page_in_words_at_both_widths(page, clinic):
    # given
    sign_in_with_code(page, clinic["physician"])
    # when
    problems = _walk(
        page,
        [
            "/",
            f"/patients/{clinic['patient'].public_id}/",
            "/reports/",
            "/reports/compare/",
            "/reports/procedures/",
            "/reports/runs/",
            f"/reports/runs/{clinic['report'].public_id}/",
        ],
    )
    # then
    assert problems == []


def test_admins_find_every_page_in_words_at_both_widths(page, clinic):
    # given
    admin = UserFactory(role=Role.ADMIN, is_staff=True, username="ada.admin")
    sign_in_with_code(page, admin)
    patient = clinic["patient"]
    # when
    problems = _walk(
        page,
        [
            "/clinic/protocol/",
            f"/patients/{patient.public_id}/",
            f"/treatments/{clinic['ablation'].public_id}/",
            "/audit/access/",
            f"/audit/access/?patient={patient.mrn}",
            f"/audit/changes/?patient={patient.mrn}",
            "/registry/import/",
            "/registry/imports/",
            "/admin/",
            "/admin/clinic/nerve/",
            "/admin/patients/patient/",
            f"/admin/patients/patient/{patient.pk}/change/",
            "/admin/blocks/diagnosticblock/",
            "/admin/adverse_events/adverseevent/",
            "/admin/adverse_events/problemreview/",
        ],
    )
    # then
    assert problems == []


def test_a_patient_answers_on_a_phone_in_words(page, clinic):
    # given a survey link, opened as the patient would, in a fresh browser with no account
    # when
    problems = _walk(page, [f"/s/{clinic['token']}/", "/s/"])
    # then
    assert problems == []


def test_a_change_reads_as_a_line_of_words_on_a_phone(page, clinic):
    # given
    admin = UserFactory(role=Role.ADMIN, is_staff=True, username="ada.admin")
    sign_in_with_code(page, admin)
    page.set_viewport_size({"width": 390, "height": 844})
    # when
    page.goto(f"/audit/changes/?patient={clinic['patient'].mrn}")
    widths = (
        page.locator("tbody tr")
        .first.locator("td")
        .evaluate_all("cells => cells.map(c => c.getBoundingClientRect().width)")
    )
    # then the table scrolls inside its box rather than squeezing the values into a column of single words
    assert widths[-1] >= 250, widths
    assert not page.evaluate(SCROLLS_SIDEWAYS)
