"""The worklist's "Text replies" tab: unmatched and unclear replies, attached in one step or dismissed."""

from __future__ import annotations

import pytest
from django.test import TestCase
from django.urls import reverse

from apps.blocks.models import DiaryEntry
from apps.sms.models import InboundSms, State
from apps.sms.services import inbound_process, inbound_receive
from tests.sms.conftest import sent_diary_prompt

pytestmark = pytest.mark.django_db


def reply(number, body, sid):
    received = inbound_receive(provider="twilio", provider_message_id=sid, from_number=number, body=body)
    with TestCase.captureOnCommitCallbacks(execute=True):
        inbound_process(inbound_id=received.inbound.pk)
    received.inbound.refresh_from_db()
    return received.inbound


def test_the_tab_lists_waiting_messages_with_their_reason(staff_client, reply_mode, fake_sms):
    sent_diary_prompt()
    reply("+12125550101", "about four", "SM1")
    page = staff_client.get(reverse("sms:inbox")).content.decode()
    assert "about four" in page and "Not a number from 0 to 10" in page and "asked again for a number" in page
    reply("+12125550101", "3", "SM2")  # recorded, and the unclear one before it needs no one now
    page = staff_client.get(reverse("sms:inbox")).content.decode()
    assert page.count('class="sms-inbox-row"') == 0
    reply("+12125550000", "hello?", "SM3")
    page = staff_client.get(reverse("sms:inbox")).content.decode()
    assert page.count('class="sms-inbox-row"') == 1 and "From a number no patient has" in page


def test_staff_attach_a_reply_to_its_question_in_one_step(staff_client, staff_user, reply_mode, fake_sms):
    # given
    prompt = sent_diary_prompt()
    inbound = reply("+12125550101", "four i think", "SM1")
    url = reverse("sms:inbox_item", args=[inbound.public_id])
    # when: no score given -> the field says so, nothing written
    response = staff_client.post(url, {"action": "attach", "prompt": str(prompt.public_id), "value": ""})
    assert "Enter the pain score, a whole number from 0 to 10." in response.content.decode()
    assert not DiaryEntry.objects.exists()
    response = staff_client.post(url, {"action": "attach", "prompt": str(prompt.public_id), "value": "4"})
    # then
    assert response.status_code == 302
    inbound.refresh_from_db()
    assert (inbound.state, inbound.value, inbound.reviewed_by) == (State.ATTACHED, 4, staff_user)
    entry = DiaryEntry.objects.get(block=prompt.block)
    assert (entry.nrs, entry.source) == (4, DiaryEntry.Source.SMS)


def test_staff_dismiss_with_a_reason(staff_client, reply_mode, fake_sms):
    inbound = reply("+12125550000", "wrong number sorry", "SM1")
    url = reverse("sms:inbox_item", args=[inbound.public_id])
    response = staff_client.post(url, {"action": "dismiss", "reason": ""})
    assert "Say why this message needs no answer recorded." in response.content.decode()
    assert staff_client.post(url, {"action": "dismiss", "reason": "Not a patient"}).status_code == 302
    inbound.refresh_from_db()
    assert (inbound.state, inbound.dismiss_reason) == (State.DISMISSED, "Not a patient")
    assert "Dismissed by staff" in staff_client.get(url).content.decode()
    assert InboundSms.objects.filter(state=State.INBOX).count() == 0
