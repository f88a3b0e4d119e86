from __future__ import annotations

import pytest
from celery.contrib.testing.worker import start_worker

from apps.accounts.models import Role
from config.celery import app as celery_app
from tests.factories import UserFactory, seed_clinic_catalog


def clinic_catalog_ensure() -> None:
    """The nerves, protocol, site and shipped instruments of the data migrations. A transactional test (live server,
    real worker) ends by emptying every table, those rows included, so each test (and each fixture wider than a
    test that writes rows) makes sure they are there before it starts."""
    from apps.clinic.models import Protocol, Site
    from apps.instruments.models import Instrument

    if not Protocol.objects.exists() or not Instrument.objects.exists() or not Site.objects.exists():
        seed_clinic_catalog()


@pytest.fixture(autouse=True)
def _clinic_catalog(django_db_blocker):
    with django_db_blocker.unblock():
        clinic_catalog_ensure()


@pytest.fixture(autouse=True, scope="session")
def _flush_with_the_audit_triggers_off():
    """A transactional test ends with Django's flush, a TRUNCATE of every table, which the audit tables refuse
    (apps/audit/db.py): the test run empties them as only a superuser can, with triggers off for that flush."""
    from django.db.backends.postgresql.operations import DatabaseOperations

    original = DatabaseOperations.sql_flush

    def sql_flush(self, style, tables, **kwargs):
        statements = original(self, style, tables, **kwargs)
        return ["SET LOCAL session_replication_role = replica", *statements] if statements else statements

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(DatabaseOperations, "sql_flush", sql_flush)
        yield


@pytest.fixture
def live_worker(transactional_db):
    """A real Celery worker on the test Redis, in threads of this process, so it sees the test database."""
    celery_app.control.purge()  # ids left on the test Redis database by an interrupted run
    with start_worker(celery_app, pool="threads", concurrency=2, perform_ping_check=False, shutdown_timeout=10):
        yield


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


# ---------------------------------------------------------------------------------------------------------------
# Sign-in security (issue 5)


def verified_device(user):
    """A confirmed authenticator for `user` (created if none): what an enrolled user has."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    return device or TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)


@pytest.fixture(autouse=True)
def _force_login_passes_the_second_factor(monkeypatch):
    """client.force_login skips the password; let it skip the second factor (MFA) too, as if the user had just
    entered a code, so tests about other things need not sign in twice. Tests of MFA itself sign in through the
    pages, or call `force_login_unverified`."""
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY

    original = Client._login

    def _login(self, user, backend=None):
        original(self, user, backend)
        if getattr(self, "mfa_unverified", False):
            return
        session = self.session
        session[DEVICE_ID_SESSION_KEY] = verified_device(user).persistent_id
        session.save()

    monkeypatch.setattr(Client, "_login", _login)


def force_login_unverified(client, user) -> None:
    """Signed in with the password only: the second factor still to come."""
    client.mfa_unverified = True
    client.force_login(user)
    client.mfa_unverified = False


@pytest.fixture(autouse=True)
def _forget_counts_kept_in_redis():
    """Failed sign-ins are counted in Redis for 15 minutes, API requests per token for a minute: without this, one
    test's (or an interrupted run's) counts would lock out the next test's user, address or token, whose ids a fresh
    test database gives again."""
    from django.core.cache import cache

    client = cache._cache.get_client(write=True)
    for pattern in ("*signin:*", "*mfa:failures:*", "*api:throttle:*"):
        for key in client.scan_iter(match=pattern):
            client.delete(key)
