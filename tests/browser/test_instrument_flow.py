"""A Spanish-speaking patient answers PEG-3 and PHQ-2 on the survey link on a phone, and staff see the scores on the
treatment page (Playwright with Chromium). Screenshots go to /tmp/shots-h16b/ for a person to look at."""

from __future__ import annotations

import datetime as dt
import re
import tempfile
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from apps.accounts.models import Role
from apps.instruments.models import Instrument, InstrumentAnswer
from apps.instruments.services import instrument_answer_record
from apps.surveys.services import link_create
from tests.browser.conftest import TIMEOUT_MS, sign_in, sign_in_with_code
from tests.factories import UserFactory, make_ablation, make_reachable_patient, make_survey_link

pytestmark = pytest.mark.browser

SHOTS = Path(tempfile.gettempdir()) / "shots-h16b"
SIDEWAYS = "document.documentElement.scrollWidth > document.documentElement.clientWidth"


@pytest.fixture
def phone(browser, live_server):
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    yield page
    context.close()


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def choose(page, question: str, answer: str) -> None:
    page.get_by_role("group", name=re.compile(re.escape(question))).get_by_text(answer, exact=True).click()


def test_a_spanish_speaker_answers_peg3_and_phq2_on_a_phone_and_staff_see_the_scores(phone, page):
    # given: the clinic asks GAD-2 at baseline only; a treatment 90 days ago (its 3-month window is open) with its
    # baseline PEG-3 and PHQ-2 taken at the visit; a Spanish-speaking patient's 3-month link
    Instrument.objects.filter(code="gad2").update(time_points=["baseline"])
    patient = make_reachable_patient(first_name="Rosa", last_name="Quintana", language="es")
    treatment = make_ablation(patient=patient, performed_on=timezone.localdate() - dt.timedelta(days=90))
    visit = timezone.make_aware(dt.datetime.combine(treatment.performed_on, dt.time(8)))
    instrument_answer_record(
        treatment=treatment,
        instrument="peg3",
        completed_at=visit,
        answers={"1": 8, "2": 8, "3": 7},
        collected_via="staff",
    )
    instrument_answer_record(
        treatment=treatment, instrument="phq2", completed_at=visit, answers={"1": 2, "2": 2}, collected_via="staff"
    )
    _, token = make_survey_link(follow_up=treatment.follow_ups.get(time_point="3m"))
    staff = UserFactory(role=Role.STAFF)

    # when: the patient opens the link on a phone
    phone.goto(f"/s/{token}/")
    phone.get_by_role("heading", name=re.compile("Rosa")).wait_for()
    assert not phone.evaluate(SIDEWAYS)
    peg3 = phone.locator("#instrument-peg3")
    expect(peg3).to_contain_text("Este cuestionario no está disponible en español; se pregunta en inglés.")
    expect(phone.locator("#instrument-phq2")).to_contain_text("Poco interés o placer en hacer cosas")
    expect(phone.locator("#instrument-gad2")).to_have_count(0)
    shot(phone, "01-survey-es-phone")

    # and answers the pain question, PEG-3 and one PHQ-2 item, forgetting the other
    choose(phone, "Su dolor promedio en las últimas 24 horas", "4")
    choose(phone, "What number best describes your pain on average in the past week?", "4")
    choose(phone, "pain has interfered with your enjoyment of life?", "3")
    choose(phone, "pain has interfered with your general activity?", "2")
    choose(phone, "Poco interés o placer en hacer cosas", "Varios días")
    phone.get_by_role("button", name="Enviar mis respuestas").click()

    # then: the page says which item is missing, keeps the rest, and nothing is written
    missing = phone.get_by_role("group", name=re.compile("Se ha sentido decaído"))
    expect(missing).to_contain_text("Elija una respuesta.")
    expect(
        phone.get_by_role("group", name=re.compile("enjoyment of life")).get_by_role("radio", name="3")
    ).to_be_checked()
    assert not phone.evaluate(SIDEWAYS)
    shot(phone, "02-survey-es-missing-item")
    assert InstrumentAnswer.objects.filter(collected_via="link").count() == 0

    # when: the patient answers it and sends
    choose(phone, "Se ha sentido decaído", "Ningún día")
    phone.get_by_role("button", name="Enviar mis respuestas").click()
    phone.get_by_role("heading", name="¡Gracias, Rosa!").wait_for()
    shot(phone, "03-survey-es-thanks")

    # then: staff see both scores on the treatment page, against the baseline
    sign_in(page, staff.username)
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(f"/treatments/{treatment.public_id}/")
    table = page.locator("#instrument-answers")
    expect(table.locator("tr", has_text="3 months follow-up")).to_have_count(2)
    now = table.locator("tr", has_text="3 months follow-up")
    expect(now.filter(has_text="PEG-3").locator("td").nth(2)).to_have_text("3")
    expect(now.filter(has_text="PHQ-2").locator("td").nth(2)).to_have_text("1")
    expect(table.locator("tr", has_text="Baseline").filter(has_text="PEG-3").locator("td").nth(2)).to_have_text("7.67")
    expect(table.locator("tr", has_text="Baseline").filter(has_text="PHQ-2")).to_contain_text("positive screen")
    expect(table).to_contain_text("Patient survey link (in Spanish)")
    expect(page.locator("#baseline-missing")).to_contain_text("No baseline GAD-2:")
    assert not page.evaluate(SIDEWAYS)
    page.locator("#instruments").scroll_into_view_if_needed()
    shot(page, "04-treatment-page-1366")
    page.set_viewport_size({"width": 390, "height": 844})
    assert not page.evaluate(SIDEWAYS)
    shot(page, "05-treatment-page-390")

    # and the forms staff enter them with read as they should
    page.set_viewport_size({"width": 1366, "height": 900})
    page.get_by_role("link", name="Enter baseline questionnaires").click()
    expect(page.get_by_role("heading", name="Baseline questionnaires")).to_be_visible()
    assert not page.evaluate(SIDEWAYS)
    shot(page, "06-baseline-form-1366")
    page.goto(f"/treatments/follow-ups/{treatment.follow_ups.get(time_point='3m').public_id}/answers/")
    expect(page.locator("#instrument-peg3")).to_contain_text("Leave every question of PEG-3 empty if it was not asked")
    assert not page.evaluate(SIDEWAYS)
    shot(page, "07-answers-form-1366")

    # and a physician sees the change on the dashboard once the 3-month window has closed: PEG-3 from 23/3 to 3
    # (change -4.7, a responder), PHQ-2 positive at baseline (4) and negative now (1)
    page.context.clear_cookies()
    sign_in_with_code(page, UserFactory(role=Role.PHYSICIAN))
    closed = treatment.follow_ups.get(time_point="3m").window_end + dt.timedelta(days=1)
    page.goto(f"/reports/?physician=&as_of={closed:%Y-%m-%d}")
    peg3_row = page.locator('#instrument-table tr[data-instrument="peg3"][data-time-point="3m"]')
    expect(peg3_row.locator("td.median-change")).to_have_text("-4.7")
    expect(peg3_row.locator("td.responders")).to_have_text("1")
    phq2_row = page.locator('#instrument-table tr[data-instrument="phq2"][data-time-point="3m"]')
    expect(phq2_row.locator("td.positive-baseline .count")).to_have_text("1")
    expect(phq2_row.locator("td.positive-now .count")).to_have_text("0")
    # and the patient's trend chart draws PEG-3 and PHQ-2, the baselines open, the answers from the link
    page.goto(f"/patients/{patient.public_id}/")
    chart = page.locator("#trend svg")
    expect(chart.locator("text", has_text="PEG-3 (0–10, lower is better)")).to_have_count(1)
    expect(chart.locator("text", has_text="PHQ-2 (0–6, lower is better)")).to_have_count(1)
    page.locator("#trend .trend-figures summary").click()
    expect(page.locator("#trend .trend-figures")).to_contain_text("Baseline of treatment 1")
    assert not page.evaluate(SIDEWAYS)
    shot(page, "09-patient-trend-1366")


def test_a_patient_answers_the_baseline_questionnaires_on_a_phone(phone):
    # given: a treatment today and its baseline link (as the sweep sends it when the treatment is booked)
    patient = make_reachable_patient(first_name="Rosa")
    treatment = make_ablation(patient=patient, performed_on=timezone.localdate())
    token = link_create(patient=patient, baseline_of=treatment).token

    # when
    phone.goto(f"/s/{token}/")
    phone.get_by_role("heading", name="Hello Rosa,").wait_for()
    assert not phone.evaluate(SIDEWAYS)
    expect(phone.get_by_text("Your average pain in the past 24 hours")).to_have_count(0)
    shot(phone, "08-baseline-link-en-phone")
    for question, answer in [
        ("your pain on average in the past week?", "6"),
        ("enjoyment of life?", "5"),
        ("your general activity?", "4"),
        ("Little interest or pleasure in doing things", "Not at all"),
        ("Feeling down, depressed, or hopeless", "Several days"),
        ("Feeling nervous, anxious, or on edge", "Nearly every day"),
        ("Not being able to stop or control worrying", "More than half the days"),
    ]:
        choose(phone, question, answer)
    phone.get_by_role("button", name="Send my answers").click()

    # then
    phone.get_by_role("heading", name="Thank you, Rosa!").wait_for()
    scores = {a.instrument.code: a.score_text for a in InstrumentAnswer.objects.select_related("instrument")}
    assert scores == {"peg3": "5", "phq2": "1", "gad2": "5"}
