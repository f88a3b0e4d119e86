from __future__ import annotations

import pytest

from apps.accounts.models import Role
from tests.factories import UserFactory


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
