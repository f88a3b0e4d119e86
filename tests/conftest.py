from __future__ import annotations

import pytest

from apps.accounts.models import Role
from tests.factories import UserFactory


@pytest.fixture(autouse=True)
def _survey_rate_limit_out_of_the_way(settings):
    """The survey pages' rate limit counts per address in Redis, across tests: only its own tests lower it."""
    settings.SURVEY_RATE_LIMIT = 100_000


@pytest.fixture
def staff_user(db):
    return UserFactory(role=Role.STAFF)


@pytest.fixture
def physician(db):
    return UserFactory(role=Role.PHYSICIAN)


@pytest.fixture
def admin_user(db):
    return UserFactory(role=Role.ADMIN, is_staff=True)


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client
