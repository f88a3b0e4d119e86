"""A patient answers a survey link on a phone, in English and in Spanish (Playwright with Chromium)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone

from apps.surveys.models import SurveyResponse
from tests.browser.conftest import TIMEOUT_MS
from tests.factories import make_ablation, make_reachable_patient, make_survey_link

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def phone(browser, live_server):
    context = browser.new_context(base_url=live_server.url, viewport=PHONE, is_mobile=True, has_touch=True)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    bad = []
    page.on(
        "response", lambda r: bad.append(f"{r.url}: {r.status}") if r.status >= 400 and "/s/" not in r.url else None
    )
    page.bad_responses = bad
    yield page
    context.close()


def survey_link(language: str, *, expired: bool = False) -> str:
    patient = make_reachable_patient(first_name="Rosa", language=language)
    ablation = make_ablation(patient=patient, performed_on=timezone.localdate() - dt.timedelta(days=14))
    fields = {"expires_at": timezone.now() - dt.timedelta(minutes=1)} if expired else {}
    _, token = make_survey_link(follow_up=ablation.follow_ups.get(time_point="2w"), **fields)
    return f"/s/{token}/"


def choose(page, question: str, answer: str) -> None:
    page.get_by_role("group", name=re.compile(re.escape(question))).get_by_text(answer, exact=True).click()


def test_a_patient_answers_in_english_on_a_phone_then_the_link_is_spent(phone):
    # given
    url = survey_link("en")

    # when
    phone.goto(url)
    assert "/s/" in phone.url and url not in phone.url  # the token left the address bar
    phone.get_by_role("heading", name="Hello Rosa,").wait_for()
    choose(phone, "Your average pain in the past 24 hours", "3")
    choose(phone, "Your worst pain in the past 24 hours", "6")
    phone.get_by_label("How much relief have you had since the procedure? (0 to 100%)").fill("60")
    choose(phone, "Since the procedure, how would you describe the change in your pain?", "Much improved")
    phone.get_by_role("button", name="Send my answers").click()

    # then
    phone.get_by_role("heading", name="Thank you, Rosa!").wait_for()
    answer = SurveyResponse.objects.get()
    assert (answer.pain_average, answer.pain_worst, answer.percent_relief, answer.pgic) == (3, 6, 60, 2)
    phone.goto(url)
    phone.get_by_role("heading", name="This survey has already been answered").wait_for()
    assert phone.bad_responses == []


def test_the_nrs_buttons_work_by_keyboard(phone):
    # given
    phone.goto(survey_link("en"))

    # when: focus the first 0..10 group, move with the arrow keys, submit with Enter
    phone.get_by_role("radio", name="0").first.focus()
    phone.keyboard.press("ArrowRight")
    phone.keyboard.press("ArrowRight")
    phone.get_by_role("button", name="Send my answers").focus()
    phone.keyboard.press("Enter")

    # then
    phone.get_by_role("heading", name="Thank you, Rosa!").wait_for()
    assert SurveyResponse.objects.get().pain_average == 2


def test_a_spanish_patient_answers_in_spanish(phone):
    # given
    phone.goto(survey_link("es"))

    # when
    phone.get_by_role("heading", name="Hola, Rosa:").wait_for()
    assert phone.locator("html").get_attribute("lang") == "es"
    phone.get_by_role("button", name="Enviar mis respuestas").click()
    phone.get_by_text("Elija un número del 0 al 10.").wait_for()
    choose(phone, "Su dolor promedio en las últimas 24 horas", "4")
    phone.get_by_role("button", name="Enviar mis respuestas").click()

    # then
    phone.get_by_role("heading", name="¡Gracias, Rosa!").wait_for()
    assert SurveyResponse.objects.get().pain_average == 4


def test_an_expired_link_shows_the_neutral_page(phone):
    # when
    phone.goto(survey_link("en", expired=True))

    # then
    phone.get_by_role("heading", name="This link cannot be opened").wait_for()
    phone.get_by_role("heading", name="Este enlace no se puede abrir").wait_for()
    assert "Rosa" not in phone.content()
