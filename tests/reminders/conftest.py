from __future__ import annotations

import pytest

from apps.reminders.transports import FAKE_SMS


@pytest.fixture
def fake_sms(settings):
    settings.SMS_TRANSPORT = "fake"
    FAKE_SMS.sent.clear()
    FAKE_SMS.fail_with = None
    yield FAKE_SMS
    FAKE_SMS.sent.clear()
    FAKE_SMS.fail_with = None
