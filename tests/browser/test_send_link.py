"""Staff send a follow-up's survey link from its page; the text message the transport got opens the survey on a
phone, through the live server (Playwright with Chromium, a real Celery worker on the test Redis)."""

from __future__ import annotations

import datetime as dt
import re
import time

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from apps.accounts.models import Role
from apps.reminders.models import Kind, Message
from apps.reminders.transports import FAKE_SMS
from tests.browser.conftest import TIMEOUT_MS, sign_in
from tests.factories import UserFactory, make_ablation, make_reachable_patient

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
SEND_WAIT_SECONDS = 20  # the worker picks the id up from Redis once the request's transaction is committed


def _sent_text() -> str:
    deadline = time.monotonic() + SEND_WAIT_SECONDS
    while time.monotonic() < deadline:
        if FAKE_SMS.sent:
            return FAKE_SMS.sent[0].body
        time.sleep(0.2)
    raise AssertionError("no text message was sent")


def test_staff_send_now_and_the_patient_opens_the_text_messages_link_on_a_phone(
    page, browser, live_server, live_worker, settings
):
    # given: a patient reached by SMS whose 2-week follow-up is open; links point at the live server
    settings.SITE_URL = live_server.url
    settings.SMS_TRANSPORT = "fake"
    FAKE_SMS.sent.clear()
    FAKE_SMS.fail_with = None
    staff = UserFactory(role=Role.STAFF)
    patient = make_reachable_patient(first_name="Rosa", preferred_channel="sms", mobile_phone="+12125550123")
    ablation = make_ablation(patient=patient, performed_on=timezone.localdate() - dt.timedelta(days=14))
    follow_up = ablation.follow_ups.get(time_point="2w")
    answers_page = reverse("cryoablations:follow_up_answers", args=[follow_up.public_id])

    # when: staff press "Send now" on the follow-up's page
    sign_in(page, staff.username)
    page.goto(answers_page)
    page.locator("#survey-link-actions").get_by_role("button", name="Send now").click()

    # then: back on the same page, told what happens; the worker sends the text at once, whatever the hour
    expect(page.get_by_role("status")).to_contain_text("survey link will go to the patient by text message")
    assert page.url == live_server.url + answers_page
    text = _sent_text()
    assert FAKE_SMS.sent[0].to == "+12125550123"
    link = re.search(r"(http://\S+/s/[A-Za-z0-9_-]+/)(?=\s)", text).group(1)
    assert link.startswith(live_server.url)
    message = Message.objects.get(follow_up=follow_up)
    assert (message.kind, message.requested_by, message.status) == (Kind.RESEND, staff, "sent")

    # and the patient opens it on a phone and sees the survey, without scrolling sideways
    phone_context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    phone_context.set_default_timeout(TIMEOUT_MS)
    phone = phone_context.new_page()
    phone.goto(link)
    expect(phone.get_by_role("heading", name="Hello Rosa,")).to_be_visible()
    expect(phone.get_by_role("button", name="Send my answers")).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    phone_context.close()

    # and the patient's page says who sent it
    page.goto(reverse("patients:detail", args=[patient.public_id]))
    history = page.locator("#messages tbody tr").filter(has_text="Sent by staff")
    expect(history).to_contain_text(f"by {staff.display_name}")
    expect(history).to_contain_text("Sent")
