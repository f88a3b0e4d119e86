"""The API's per-token limit under concurrent requests, counted in the real Redis."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import Role
from apps.api.services import token_issue
from tests.factories import UserFactory

LIMIT = 40
THREADS = 16
REQUESTS_PER_THREAD = 6  # 96 requests, more than twice the limit, all inside one minute


@pytest.mark.django_db(transaction=True)  # the threads' own connections must see the token
def test_concurrent_requests_get_exactly_the_limit_through(settings):
    # given
    settings.API_RATE_LIMIT = f"{LIMIT}/min"
    user = UserFactory(role=Role.STAFF)
    _, raw = token_issue(user=user, name="load", expires_at=timezone.now() + dt.timedelta(days=1), read_only=True)
    url = reverse("api:patient_list")  # an empty registry: a cheap answer, the count is what is tested
    statuses: list[int] = []
    retry_after: set[str] = set()
    lock = threading.Lock()
    start = threading.Barrier(THREADS)

    def caller():
        client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
        start.wait()
        try:
            for _ in range(REQUESTS_PER_THREAD):
                response = client.get(url)
                with lock:
                    statuses.append(response.status_code)
                    if response.status_code == 429:
                        retry_after.add(response["Retry-After"])
        finally:
            connection.close()

    # when
    threads = [threading.Thread(target=caller) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # then
    assert statuses.count(200) == LIMIT
    assert statuses.count(429) == THREADS * REQUESTS_PER_THREAD - LIMIT
    assert all(1 <= int(seconds) <= 60 for seconds in retry_after)
