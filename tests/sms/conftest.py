from __future__ import annotations

import datetime as dt

import pytest
from django.core.cache import cache
from django.utils import timezone

from apps.clinic.models import SmsMode
from apps.clinic.selectors import protocol_get
from apps.reminders.models import Message, MessageStatus
from apps.reminders.services import messages_plan, messages_send
from tests.factories import BlockFactory, make_ablation, make_reachable_patient

# The reminders' fixtures: the fake SMS transport and a real worker whose queue is left empty.
from tests.reminders.conftest import _queue_left_empty, fake_sms, live_worker, queue_drained  # noqa: E402, F401


@pytest.fixture(autouse=True)
def _sms_counts_forgotten():
    """Inbound messages are counted per number in Redis: one test's flood must not limit the next test's number."""
    client = cache._cache.get_client(write=True)
    for key in client.scan_iter(match="*sms-inbound-rate:*"):
        client.delete(key)


@pytest.fixture
def reply_mode(db):
    """The protocol asks for replies, and has no quiet hours (a prompt may go whatever the time the test runs)."""
    protocol = protocol_get()
    protocol.diary_sms_mode = protocol.survey_sms_mode = SmsMode.REPLY
    protocol.quiet_start_hour = protocol.quiet_end_hour = 0
    protocol.save()
    return protocol


def sms_patient(number: str = "+12125550101", **fields):
    return make_reachable_patient(preferred_channel="sms", mobile_phone=number, **fields)


def sent_diary_prompt(*, patient=None, number: str = "+12125550101", now=None, block=None) -> Message:
    """A block done 31 minutes ago and its 30-minute diary prompt sent by SMS, as the reminder engine sends it."""
    now = now or timezone.now()
    patient = patient or sms_patient(number)
    block = block or BlockFactory(patient=patient, performed_at=now - dt.timedelta(minutes=31))
    messages_plan(now=now)
    message = Message.objects.get(block=block, diary_minutes=30)
    messages_send(message_ids=[message.pk], now=now)
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT, message.detail
    return message


def sent_follow_up_prompt(*, patient=None, number: str = "+12125550102", now=None) -> Message:
    """A treatment done two weeks ago and its 2-week invitation sent by SMS."""
    now = now or timezone.now()
    patient = patient or sms_patient(number)
    ablation = make_ablation(patient=patient, performed_on=timezone.localdate(now) - dt.timedelta(days=14))
    follow_up = ablation.follow_ups.get(time_point="2w")
    message = Message.objects.create(patient=patient, follow_up=follow_up, kind="invitation", due_at=now)
    messages_send(message_ids=[message.pk], now=now)
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT, message.detail
    return message
