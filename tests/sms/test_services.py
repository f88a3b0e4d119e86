"""Reading patients' replies: matched by number to the latest open prompt, stored through the link's service."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection
from django.test import TestCase
from django.utils import timezone

from apps.blocks.models import DiaryEntry
from apps.clinic.models import Site
from apps.patients.models import Patient
from apps.reminders.models import Message, MessageStatus
from apps.sms.models import AutoReply, InboundSms, InboxReason, State
from apps.sms.services import RateLimited, inbound_process, inbound_receive, inbound_sweep, inbox_attach, inbox_dismiss
from apps.surveys.models import CollectedVia
from tests.sms.conftest import sent_diary_prompt, sent_follow_up_prompt, sms_patient

pytestmark = pytest.mark.django_db

_ids = iter(range(10**6))


def reply(number: str, body: str, **kwargs) -> InboundSms:
    """A message through the webhook's service, then read (as the worker does)."""
    received = inbound_receive(provider="twilio", provider_message_id=f"SM{next(_ids)}", from_number=number, body=body)
    # The automatic answers go once the reading commits.
    with TestCase.captureOnCommitCallbacks(execute=True):
        inbound_process(inbound_id=received.inbound.pk, **kwargs)
    received.inbound.refresh_from_db()
    return received.inbound


def test_a_diary_prompt_in_reply_mode_asks_for_a_number(reply_mode, fake_sms):
    prompt = sent_diary_prompt()
    assert prompt.reply_expected
    assert "Reply with your pain right now, 0 to 10" in fake_sms.sent[-1].body
    assert "http" not in fake_sms.sent[-1].body


def test_a_spanish_patient_is_asked_in_spanish(reply_mode, fake_sms):
    sent_diary_prompt(patient=sms_patient("+12125550199", language="es"))
    assert "Responda con su dolor ahora mismo, de 0 a 10" in fake_sms.sent[-1].body


def test_in_link_mode_the_sms_carries_the_link_as_before(fake_sms, db):
    from apps.clinic.selectors import protocol_get

    protocol = protocol_get()
    protocol.quiet_start_hour = protocol.quiet_end_hour = 0
    protocol.save()
    prompt = sent_diary_prompt()
    assert not prompt.reply_expected
    assert "http" in fake_sms.sent[-1].body


def test_a_number_lands_as_the_diary_entry_by_sms_and_stops_the_slot(reply_mode, fake_sms):
    # given
    prompt = sent_diary_prompt()
    # when
    inbound = reply("+12125550101", " 3 ")
    # then
    assert inbound.state == State.APPLIED and inbound.prompt == prompt and inbound.value == 3
    entry = DiaryEntry.objects.get(block=prompt.block)
    assert (entry.minutes_after, entry.nrs, entry.source) == (30, 3, DiaryEntry.Source.SMS)
    prompt.link.refresh_from_db()
    assert prompt.link.used_at is not None
    # the block's result is computed from it (the derived table)
    prompt.block.refresh_from_db()
    assert prompt.block.peak_relief.peak_relief_percent is not None


def test_a_number_lands_as_the_follow_ups_average_pain(reply_mode, fake_sms):
    prompt = sent_follow_up_prompt()
    assert "average pain in the past 24 hours" in fake_sms.sent[-1].body
    inbound = reply("+12125550102", "siete")
    assert inbound.state == State.APPLIED
    prompt.follow_up.refresh_from_db()
    answer = prompt.follow_up.counted_response
    assert (answer.pain_average, answer.collected_via) == (7, CollectedVia.SMS_REPLY)
    # the reminders of an answered follow-up stop
    later = Message.objects.create(
        patient=prompt.patient, follow_up=prompt.follow_up, kind="reminder", sequence=1, due_at=timezone.now()
    )
    from apps.reminders.services import messages_send

    assert messages_send(message_ids=[later.pk])[later.pk] == "cancelled"
    later.refresh_from_db()
    assert (later.status, later.detail) == (MessageStatus.CANCELLED, "survey completed")


def test_an_unclear_reply_gets_one_clarification_then_waits_for_staff(reply_mode, fake_sms):
    sent_diary_prompt()
    before = len(fake_sms.sent)
    first = reply("+12125550101", "a bit better")
    second = reply("+12125550101", "eleven?")
    assert (first.state, first.inbox_reason, first.auto_reply) == (State.INBOX, InboxReason.UNCLEAR, "clarification")
    assert (second.state, second.auto_reply) == (State.INBOX, "")
    assert len(fake_sms.sent) == before + 1
    assert "one number from 0" in fake_sms.sent[-1].body
    # then the patient answers: the unclear ones need no one
    reply("+12125550101", "4")
    first.refresh_from_db()
    assert first.state == State.SUPERSEDED


def test_out_of_range_goes_to_the_inbox(reply_mode, fake_sms):
    sent_diary_prompt()
    inbound = reply("+12125550101", "12")
    assert (inbound.state, inbound.inbox_reason) == (State.INBOX, InboxReason.OUT_OF_RANGE)
    assert not DiaryEntry.objects.exists()


def test_unknown_number_and_shared_number_go_to_the_inbox_never_attached(reply_mode, fake_sms):
    prompt = sent_diary_prompt()
    sms_patient("+12125550177")
    sms_patient("+12125550177")
    unknown = reply("+12125550000", "3")
    shared = reply("+12125550177", "3")
    assert (unknown.state, unknown.inbox_reason, unknown.patient) == (State.INBOX, InboxReason.UNKNOWN_NUMBER, None)
    assert (shared.state, shared.inbox_reason, shared.patient) == (State.INBOX, InboxReason.SHARED_NUMBER, None)
    assert not DiaryEntry.objects.filter(block=prompt.block).exists()


def test_a_reply_to_a_closed_prompt_goes_to_the_inbox(reply_mode, fake_sms):
    prompt = sent_diary_prompt()
    inbound = reply("+12125550101", "3", now=timezone.now() + dt.timedelta(hours=2))
    assert (inbound.state, inbound.inbox_reason, inbound.prompt) == (State.INBOX, InboxReason.NO_OPEN_PROMPT, prompt)


def test_a_retried_webhook_stores_the_message_once(reply_mode):
    first = inbound_receive(provider="twilio", provider_message_id="SMsame", from_number="+12125550101", body="3")
    again = inbound_receive(provider="twilio", provider_message_id="SMsame", from_number="+12125550101", body="3")
    assert first.created and not again.created
    assert InboundSms.objects.count() == 1


def test_a_flood_from_one_number_is_limited(settings):
    settings.SMS_INBOUND_RATE_LIMIT = 5
    for n in range(5):
        inbound_receive(provider="twilio", provider_message_id=f"SMflood{n}", from_number="+12125550155", body="x")
    with pytest.raises(RateLimited):
        inbound_receive(provider="twilio", provider_message_id="SMflood5", from_number="+12125550155", body="x")
    # another number is not affected
    inbound_receive(provider="twilio", provider_message_id="SMother", from_number="+12125550156", body="x")
    assert InboundSms.objects.count() == 6


def test_a_10000_character_body_or_binary_junk_is_stored_cut_and_read_as_unclear(reply_mode, fake_sms):
    sent_diary_prompt()
    long = reply("+12125550101", "7" + " " * 9_999)
    junk = reply("+12125550101", "\x00\xff\x01\ufffe")
    assert long.body_truncated and len(long.body) == 1600 and long.inbox_reason == InboxReason.UNCLEAR
    assert junk.state == State.INBOX and "\x00" not in junk.body


def test_stop_stops_every_sms_to_the_number_and_start_resubscribes(reply_mode, fake_sms):
    # given: a prompt sent, and the diary's later prompts queued
    patient = sms_patient()
    prompt = sent_diary_prompt(patient=patient)
    later = Message.objects.get(block=prompt.block, diary_minutes=60)
    # when
    stop = reply("+12125550101", "STOP")
    # then
    patient.refresh_from_db()
    later.refresh_from_db()
    assert stop.state == State.KEYWORD and stop.keyword == "opt_out" and stop.auto_reply == AutoReply.OPT_OUT
    assert patient.sms_opted_out_at is not None
    assert later.status == MessageStatus.CANCELLED
    assert "Reply START" in fake_sms.sent[-1].body
    # START
    start = reply("+12125550101", "start")
    patient.refresh_from_db()
    assert start.keyword == "opt_in" and patient.sms_opted_out_at is None


def test_spanish_stop_word_opts_out(reply_mode, fake_sms):
    patient = sms_patient()
    reply("+12125550101", "Baja")
    patient.refresh_from_db()
    assert patient.sms_opted_out_at is not None


def test_help_answers_with_the_clinics_name_and_phone(settings, fake_sms, db):
    # the one site's name (from settings.CLINIC_NAME at migrate), as a patient's messages give their site's
    Site.objects.update(name="Cluneal Clinic")
    settings.CLINIC_PHONE = "+1 212 555 0100"
    inbound = reply("+12125550999", "HELP")
    assert inbound.auto_reply == AutoReply.HELP
    assert fake_sms.sent[-1].to == "+12125550999"
    assert "Cluneal Clinic" in fake_sms.sent[-1].body and "+1 212 555 0100" in fake_sms.sent[-1].body


def test_no_sms_goes_without_recorded_consent(reply_mode, fake_sms):
    patient = sms_patient(sms_consent_on=None)
    from apps.reminders.services import messages_plan, messages_send
    from tests.factories import BlockFactory

    block = BlockFactory(patient=patient, performed_at=timezone.now() - dt.timedelta(minutes=31))
    messages_plan(now=timezone.now())
    assert not Message.objects.filter(block=block).exists()
    # consent recorded, then withdrawn between the plan and the send: the send re-checks
    Patient.objects.filter(pk=patient.pk).update(sms_consent_on=timezone.localdate(), sms_consent_wording="sms-2026-12")
    messages_plan(now=timezone.now())
    message = Message.objects.get(block=block, diary_minutes=30)
    Patient.objects.filter(pk=patient.pk).update(sms_consent_on=None, sms_consent_wording="")
    assert messages_send(message_ids=[message.pk])[message.pk] == "cancelled"
    message.refresh_from_db()
    assert message.detail == "no SMS consent" and not fake_sms.sent


def test_a_message_left_unread_is_read_by_the_sweep(reply_mode, fake_sms):
    prompt = sent_diary_prompt()
    received = inbound_receive(provider="twilio", provider_message_id="SMlost", from_number="+12125550101", body="5")
    # its task was lost (no worker here): a minute later the sweep reads it
    assert inbound_sweep(now=timezone.now() + dt.timedelta(minutes=1)) == 1
    received.inbound.refresh_from_db()
    assert received.inbound.state == State.APPLIED
    assert DiaryEntry.objects.get(block=prompt.block).nrs == 5


def test_sms_reply_command_goes_through_the_same_path(reply_mode, fake_sms, capsys):
    prompt = sent_diary_prompt()
    call_command("sms_reply", "+12125550101", "6")
    assert "Recorded as the answer" in capsys.readouterr().out
    assert InboundSms.objects.get().provider == "console"
    assert DiaryEntry.objects.get(block=prompt.block).nrs == 6


def test_staff_attach_an_unclear_reply_in_one_step_and_dismiss_another(reply_mode, fake_sms, staff_user):
    prompt = sent_diary_prompt()
    unclear = reply("+12125550101", "about a four")
    other = reply("+12125550000", "who is this")
    inbox_attach(inbound=unclear, prompt=prompt, value=4, user=staff_user)
    with pytest.raises(ValidationError):
        inbox_dismiss(inbound=unclear, reason="twice", user=staff_user)
    with pytest.raises(ValidationError):
        inbox_dismiss(inbound=other, reason="  ", user=staff_user)
    inbox_dismiss(inbound=other, reason="wrong number", user=staff_user)
    unclear.refresh_from_db()
    other.refresh_from_db()
    assert (unclear.state, unclear.value, unclear.reviewed_by) == (State.ATTACHED, 4, staff_user)
    assert DiaryEntry.objects.get(block=prompt.block).source == DiaryEntry.Source.SMS
    assert (other.state, other.dismiss_reason) == (State.DISMISSED, "wrong number")
    # the change history keeps both decisions
    from apps.audit.models import InboundSmsEvent  # type: ignore[attr-defined]

    assert set(InboundSmsEvent.objects.filter(pgh_label="update").values_list("state", flat=True)) >= {
        State.ATTACHED,
        State.DISMISSED,
    }


@pytest.mark.django_db(transaction=True)
def test_two_replies_at_once_for_one_prompt_exactly_one_counts(reply_mode, fake_sms, _queue_left_empty):
    prompt = sent_diary_prompt()
    ids = [
        inbound_receive(
            provider="twilio", provider_message_id=f"SMrace{n}", from_number="+12125550101", body=b
        ).inbound.pk
        for n, b in enumerate(["3", "8"])
    ]
    barrier = threading.Barrier(2)

    def read(pk):
        barrier.wait()
        try:
            inbound_process(inbound_id=pk)
        finally:
            connection.close()

    threads = [threading.Thread(target=read, args=(pk,)) for pk in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    states = sorted(InboundSms.objects.values_list("state", "inbox_reason"))
    assert states == [(State.APPLIED, ""), (State.INBOX, InboxReason.ALREADY_ANSWERED)]
    assert DiaryEntry.objects.filter(block=prompt.block).count() == 1


def test_a_reading_that_dies_half_way_leaves_the_message_for_the_sweep(reply_mode, fake_sms, monkeypatch):
    # given: the reading fails after the diary entry was written (a worker killed mid-way rolls back the same way)
    prompt = sent_diary_prompt()
    received = inbound_receive(provider="twilio", provider_message_id="SMdies", from_number="+12125550101", body="4")
    from apps.sms import services

    def dies(**kwargs):
        services.patient_diary_entry_record(block_id=prompt.block_id, minutes=30, nrs=4)
        raise RuntimeError("worker killed")

    original = services._answer_through_link
    monkeypatch.setattr(services, "_answer_through_link", dies)
    with pytest.raises(RuntimeError):
        inbound_process(inbound_id=received.inbound.pk)
    # then: nothing of the reading stays, the message is still stored and unread
    received.inbound.refresh_from_db()
    assert received.inbound.state == State.RECEIVED and not DiaryEntry.objects.exists()
    # when: the next sweep
    monkeypatch.setattr(services, "_answer_through_link", original)
    assert inbound_sweep(now=timezone.now() + dt.timedelta(minutes=1)) == 1
    # then
    received.inbound.refresh_from_db()
    assert received.inbound.state == State.APPLIED and DiaryEntry.objects.get().nrs == 4
