"""Two-way SMS in a real browser: staff record a block, the diary prompt goes out by SMS asking for a reply, the
patient's reply (manage.py sms_reply, the webhook's path) lands in the diary, and the block page shows it."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from apps.accounts.models import Role
from apps.blocks.models import DiagnosticBlock
from apps.clinic.models import SmsMode
from apps.clinic.selectors import protocol_get
from apps.reminders.models import Message
from apps.reminders.services import messages_plan, messages_send
from apps.reminders.transports import FAKE_SMS
from tests.browser.conftest import field, sign_in
from tests.factories import UserFactory, make_reachable_patient
from tests.sms.conftest import sent_diary_prompt

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


def test_a_block_its_sms_prompt_and_the_patients_reply_on_the_block_page(page, settings):
    # given: the protocol asks for diary replies by SMS; a patient reached by SMS, with consent
    settings.SMS_TRANSPORT = "fake"
    FAKE_SMS.sent.clear()
    protocol = protocol_get()
    protocol.diary_sms_mode = SmsMode.REPLY
    protocol.quiet_start_hour = protocol.quiet_end_hour = 0
    protocol.save()
    staff = UserFactory(role=Role.STAFF)
    UserFactory(role=Role.PHYSICIAN, first_name="Grace", last_name="Hopper")
    patient = make_reachable_patient(first_name="Rosa", preferred_channel="sms", mobile_phone="+12125550123")
    block_at = timezone.localtime() - dt.timedelta(minutes=31)

    # when: staff record the block (no diary yet) on a phone-sized screen
    sign_in(page, staff.username)
    page.set_viewport_size(PHONE)
    page.goto(reverse("blocks:new", args=[patient.public_id]))
    field(page, "Date and time").fill(block_at.strftime("%Y-%m-%dT%H:%M"))
    field(page, "Physician").select_option(label="Grace Hopper")
    field(page, "Pre-block pain (NRS)").fill("8")
    field(page, "Target nerve").select_option(label="Superior cluneal")
    field(page, "Side").select_option(label="Left")
    field(page, "Suspected diagnosis").select_option(label="Superior cluneal nerve entrapment")
    page.get_by_role("button", name="Save block").click()
    expect(page.get_by_role("status")).to_contain_text("Diagnostic block saved.")

    # then: the reminder engine sends the 30-minute prompt, asking for a reply
    block = DiagnosticBlock.objects.get()
    messages_plan(now=timezone.now())
    prompt = Message.objects.get(block=block, diary_minutes=30)
    assert messages_send(message_ids=[prompt.pk])[prompt.pk] == "sent"
    assert FAKE_SMS.sent[-1].to == "+12125550123"
    assert "Reply with your pain right now, 0 to 10" in FAKE_SMS.sent[-1].body

    # when: the patient replies "2"
    call_command("sms_reply", "+12125550123", "2")

    # then: the block page shows the entry, from the SMS reply, and the block's result
    page.goto(reverse("blocks:detail", args=[block.public_id]))
    diary = page.locator("#diary")
    expect(diary).to_contain_text("30")
    expect(diary).to_contain_text("Patient, by SMS reply")
    expect(page.locator("#block-result")).to_contain_text("Positive")
    expect(page.locator("#peak-relief")).to_have_text("75.0%")
    # no sideways scroll at 390 px
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_staff_attach_an_unclear_reply_from_the_text_replies_tab(page, settings):
    # given: a diary prompt went out asking for a reply, and the patient answered in words, then went quiet
    settings.SMS_TRANSPORT = "fake"
    FAKE_SMS.sent.clear()
    protocol = protocol_get()
    protocol.diary_sms_mode = SmsMode.REPLY
    protocol.quiet_start_hour = protocol.quiet_end_hour = 0
    protocol.save()
    staff = UserFactory(role=Role.STAFF)
    patient = make_reachable_patient(first_name="Rosa", preferred_channel="sms", mobile_phone="+12125550123")
    prompt = sent_diary_prompt(patient=patient, number="+12125550123")
    call_command("sms_reply", "+12125550123", "about four i guess")
    assert "please reply with one number" in FAKE_SMS.sent[-1].body  # the one clarification

    # when: staff open the worklist's "Text replies" tab on a phone and attach the message with its score
    sign_in(page, staff.username)
    page.set_viewport_size(PHONE)
    page.goto(reverse("cryoablations:worklist"))
    page.get_by_role("link", name="Text replies").click()
    row = page.locator("#sms-inbox tr.sms-inbox-row")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("about four i guess")
    expect(row).to_contain_text("Not a number from 0 to 10")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    row.get_by_role("link", name="Attach or dismiss…").click()
    field(page, "The question it answers").select_option(index=1)
    page.get_by_role("button", name="Attach").click()
    expect(page.locator("#id_value")).to_have_class(re.compile("is-invalid"))  # no score yet: named, nothing written
    expect(page.get_by_text("Enter the pain score, a whole number from 0 to 10.")).to_be_visible()
    field(page, "Pain score (0 to 10)").fill("4")
    page.get_by_role("button", name="Attach").click()

    # then: the tab is empty again and the block's diary has the entry, from the SMS reply
    expect(page.get_by_role("status")).to_contain_text("recorded as the patient's answer")
    expect(page.locator("#sms-inbox")).to_contain_text("No text messages waiting.")
    page.goto(reverse("blocks:detail", args=[prompt.block.public_id]))
    expect(page.locator("#diary")).to_contain_text("Patient, by SMS reply")
