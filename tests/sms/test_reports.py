"""Answers by channel on the dashboard: SMS reply, link or staff, and the median time from prompt to answer."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from apps.reports.channels import channel_figures
from apps.reports.outcomes import OutcomesFilters
from apps.sms.services import inbound_process, inbound_receive
from tests.sms.conftest import sent_diary_prompt, sent_follow_up_prompt, sms_patient

pytestmark = pytest.mark.django_db


def test_diary_and_survey_answers_are_counted_by_channel_with_the_median_time(reply_mode, fake_sms, client, physician):
    # given: two diary prompts (one answered by SMS 20 minutes later, one not) and a follow-up answered by SMS
    now = timezone.now()
    with time_machine.travel(now - dt.timedelta(minutes=20)):
        sent_diary_prompt()
        sent_diary_prompt(patient=sms_patient("+12125550111"))
    sent_follow_up_prompt(now=now)
    for sid, number, body in [("SMa", "+12125550101", "3"), ("SMb", "+12125550102", "6")]:
        received = inbound_receive(provider="twilio", provider_message_id=sid, from_number=number, body=body)
        inbound_process(inbound_id=received.inbound.pk)
    # when
    rows = {(r.what, r.channel): r for r in channel_figures(filters=OutcomesFilters(as_of=now.date(), threshold=50))}
    # then
    diary_sms = rows["Diary", "SMS reply"]
    assert (diary_sms.answered, diary_sms.prompted, diary_sms.rate_percent) == (1, 2, 50.0)
    assert diary_sms.median_minutes == pytest.approx(20, abs=1)
    assert (rows["Diary", "Link"].answered, rows["Follow-up survey", "SMS reply"].answered) == (0, 1)
    # and on the dashboard
    client.force_login(physician)
    page = client.get(reverse("reports:dashboard")).content.decode()
    assert "Answers by channel" in page and "SMS reply" in page
