"""The baseline questionnaires' link: planned by the sweep for a treatment booked for today, or sent by staff from the
treatment page, through the message engine; the patient answers the baseline instruments on it until the end of the
treatment day, and the answers count as the treatment's baseline."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from apps.instruments.models import InstrumentAnswer
from apps.instruments.selectors import treatment_baseline_answers
from apps.instruments.services import instrument_answer_record
from apps.reminders import services
from apps.reminders.models import Kind, Message, MessageStatus
from apps.surveys.models import SurveyLink, SurveyResponse
from apps.surveys.services import token_hash
from tests.factories import make_ablation, make_reachable_patient

pytestmark = pytest.mark.django_db

NY = ZoneInfo("America/New_York")
TREATED = dt.date(2026, 3, 6)
MORNING = dt.datetime(2026, 3, 6, 9, 0, tzinfo=NY)
ANSWERS = {
    "instrument-peg3-1": "8",
    "instrument-peg3-2": "7",
    "instrument-peg3-3": "6",
    "instrument-phq2-1": "2",
    "instrument-phq2-2": "2",
    "instrument-gad2-1": "1",
    "instrument-gad2-2": "1",
}


def _send_due(now: dt.datetime) -> list[str]:
    services.sweep(now=now)
    ids = Message.objects.filter(status=MessageStatus.QUEUED, due_at__lte=now).values_list("pk", flat=True)
    with time_machine.travel(now, tick=False):
        return [services.message_send(message_id=pk) for pk in ids]


def _booked(**patient_fields):
    with time_machine.travel(MORNING - dt.timedelta(hours=1), tick=False):
        return make_ablation(patient=make_reachable_patient(first_name="Rosa", **patient_fields), performed_on=TREATED)


def _token(email) -> str:
    return email.body.split("/s/")[1].split("/")[0]


def test_a_treatment_booked_for_today_gets_its_baseline_link_by_the_patients_channel():
    # given
    treatment = _booked()

    # when
    outcomes = _send_due(MORNING)

    # then
    assert outcomes == ["sent"]
    message = Message.objects.get()
    assert (message.kind, message.baseline_of, message.status) == (Kind.BASELINE, treatment, MessageStatus.SENT)
    email = mail.outbox[0]
    assert "a few questions before your procedure" in email.subject
    link = SurveyLink.objects.get(token_hash=token_hash(_token(email)))
    assert link.baseline_of == treatment and link.follow_up is None
    # open until the end of the treatment day in the clinic's time zone
    assert link.expires_at == dt.datetime(2026, 3, 7, 0, 0, tzinfo=NY)
    # a second sweep plans nothing more
    assert _send_due(MORNING + dt.timedelta(minutes=1)) == []


def test_a_treatment_recorded_after_its_day_gets_no_baseline_link():
    # given
    with time_machine.travel(MORNING, tick=False):
        make_ablation(patient=make_reachable_patient(), performed_on=TREATED - dt.timedelta(days=1))

    # when
    outcomes = _send_due(MORNING)

    # then
    assert outcomes == [] and not Message.objects.exists()


def test_a_baseline_entered_by_staff_first_stops_the_link():
    # given
    treatment = _booked()
    for code, answers in (("peg3", {"1": 1, "2": 1, "3": 1}), ("phq2", {"1": 0, "2": 0}), ("gad2", {"1": 0, "2": 0})):
        instrument_answer_record(
            treatment=treatment,
            instrument=code,
            completed_at=MORNING - dt.timedelta(minutes=30),
            answers=answers,
            collected_via="staff",
        )

    # when
    outcomes = _send_due(MORNING)

    # then
    assert outcomes == ["cancelled"]
    assert Message.objects.get().detail == "baseline already answered"
    assert mail.outbox == []


def test_a_spanish_speaker_answers_the_baseline_on_the_link_and_it_counts_as_the_baseline(client):
    # given
    treatment = _booked(language="es")
    _send_due(MORNING)
    token = _token(mail.outbox[0])

    # when
    with time_machine.travel(MORNING + dt.timedelta(hours=1), tick=False):
        client.get(reverse("surveys:open", args=[token]))
        page = client.get(reverse("surveys:answer")).text
        response = client.post(reverse("surveys:answer"), ANSWERS)

    # then: only the instruments were asked (no pain question), PHQ-2 in Spanish
    assert "Estos breves cuestionarios preguntan cómo ha estado antes de su procedimiento." in page
    assert "pain_average" not in page
    assert "Poco interés o placer en hacer cosas" in page
    assert response.status_code == 302
    assert not SurveyResponse.objects.exists()
    baseline = treatment_baseline_answers(treatment=treatment)
    assert sorted(a.instrument.code for a in baseline.values()) == ["gad2", "peg3", "phq2"]
    assert {a.collected_via for a in baseline.values()} == {"link"}
    assert services.baseline_stop_reason(treatment=treatment, now=MORNING) == "baseline already answered"


def test_a_missing_item_on_the_baseline_link_writes_nothing(client):
    # given
    _booked()
    _send_due(MORNING)
    token = _token(mail.outbox[0])
    data = dict(ANSWERS)
    del data["instrument-gad2-1"]

    # when
    with time_machine.travel(MORNING + dt.timedelta(hours=1), tick=False):
        client.get(reverse("surveys:open", args=[token]))
        response = client.post(reverse("surveys:answer"), data)

    # then
    assert response.status_code == 200 and "Please choose an answer." in response.text
    assert not InstrumentAnswer.objects.exists()
    assert SurveyLink.objects.get().used_at is None


def test_the_baseline_link_no_longer_opens_after_the_treatment_day(client):
    # given
    _booked()
    _send_due(MORNING)
    token = _token(mail.outbox[0])

    # when
    with time_machine.travel(dt.datetime(2026, 3, 7, 0, 5, tzinfo=NY), tick=False):
        response = client.get(reverse("surveys:open", args=[token]))

    # then
    assert response.status_code == 404


def test_staff_send_the_baseline_link_from_the_treatment_page(staff_client, django_capture_on_commit_callbacks):
    # given: a treatment today, its patient not yet sent a link
    treatment = make_ablation(patient=make_reachable_patient(), performed_on=timezone.localdate())
    page = staff_client.get(reverse("cryoablations:detail", args=[treatment.public_id])).text
    assert "Send baseline link" in page

    # when
    with django_capture_on_commit_callbacks(execute=False):
        response = staff_client.post(reverse("reminders:baseline_send_now", args=[treatment.public_id]))

    # then
    assert response.status_code == 302
    message = Message.objects.get(kind=Kind.RESEND)
    assert (message.baseline_of, message.status) == (treatment, MessageStatus.QUEUED)


def test_staff_cannot_send_a_baseline_link_after_the_treatment_day(staff_client):
    # given
    treatment = make_ablation(
        patient=make_reachable_patient(), performed_on=timezone.localdate() - dt.timedelta(days=2)
    )
    page = staff_client.get(reverse("cryoablations:detail", args=[treatment.public_id])).text

    # when
    response = staff_client.post(reverse("reminders:baseline_send_now", args=[treatment.public_id]), follow=True)

    # then
    assert "Send baseline link" not in page
    assert "Baseline link not sent: treatment day passed." in response.text
    assert not Message.objects.exists()
