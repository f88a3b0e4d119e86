"""A real Celery worker on Redis reads the stored messages: the webhook's message lands as the diary entry."""

from __future__ import annotations

import pytest

from apps.blocks.models import DiaryEntry
from apps.sms.models import InboundSms, State
from apps.sms.services import inbound_receive
from tests.helpers import wait_until
from tests.sms.conftest import sent_diary_prompt

WAIT_SECONDS = 20


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_reads_each_stored_message_once(reply_mode, fake_sms, live_worker, queue_drained):
    # given
    prompt = sent_diary_prompt()
    # when: a reply, and the same provider id again (a retried webhook)
    inbound_receive(provider="twilio", provider_message_id="SMw1", from_number="+12125550101", body="seven")
    inbound_receive(provider="twilio", provider_message_id="SMw1", from_number="+12125550101", body="seven")
    read = wait_until(lambda: InboundSms.objects.filter(state=State.APPLIED).count() == 1, seconds=WAIT_SECONDS)
    drained = wait_until(queue_drained, seconds=WAIT_SECONDS)
    # then
    assert read and drained, list(InboundSms.objects.values_list("state", "inbox_reason"))
    assert InboundSms.objects.count() == 1
    entry = DiaryEntry.objects.get(block=prompt.block)
    assert (entry.nrs, entry.source) == (7, DiaryEntry.Source.SMS)
