"""The survey pages' 429 says when to try again."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_too_many_requests_says_when_the_window_ends(settings):
    # given a 10-minute window, 30 seconds into one
    settings.SURVEY_RATE_LIMIT = 1
    settings.SURVEY_RATE_WINDOW_SECONDS = 600
    client = Client(REMOTE_ADDR=f"192.0.2.{uuid.uuid4()}")
    url = reverse("surveys:open", args=["guess" + "0" * 27])
    with time_machine.travel(dt.datetime(2026, 3, 2, 10, 0, 30, tzinfo=dt.UTC), tick=False):
        # when
        client.get(url)
        response = client.get(url)
    # then
    assert response.status_code == 429
    assert response["Retry-After"] == "570"
