import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
import time_machine
from django.urls import reverse

from apps.accounts.models import Role
from config.settings import base
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_sign_in_and_out(client):
    UserFactory(username="nurse", role=Role.STAFF)
    response = client.post(reverse("accounts:login"), {"username": "nurse", "password": "correct-horse-battery"})
    assert response["Location"] == reverse("home")
    assert client.get(reverse("home"))["Location"] == reverse("cryoablations:worklist")
    client.post(reverse("accounts:logout"))
    assert client.get(reverse("patients:list"))["Location"].startswith(reverse("accounts:login"))


def test_a_wrong_password_is_refused_without_saying_which_part_was_wrong(client):
    UserFactory(username="nurse", role=Role.STAFF)
    response = client.post(reverse("accounts:login"), {"username": "nurse", "password": "wrong"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.text


def test_admins_land_on_the_protocol(client, admin_user):
    client.force_login(admin_user)
    assert client.get(reverse("home"))["Location"] == reverse("clinic:protocol")


def test_a_session_ends_after_15_minutes_idle(client, staff_user):
    with time_machine.travel(dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC), tick=False) as traveller:
        client.force_login(staff_user)
        traveller.shift(dt.timedelta(minutes=14))
        assert client.get(reverse("patients:list")).status_code == 200  # activity renews the session
        traveller.shift(dt.timedelta(minutes=14))
        assert client.get(reverse("patients:list")).status_code == 200
        traveller.shift(dt.timedelta(minutes=16))
        assert client.get(reverse("patients:list")).status_code == 302


def test_passwords_are_hashed_with_argon2_outside_tests():
    assert base.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    assert base.SESSION_COOKIE_AGE == 15 * 60


def test_production_settings_pass_the_deploy_check():
    root = Path(__file__).resolve().parents[2]
    # The browser tests allow Django's ORM inside Playwright's event loop; a deployment must not.
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"} | {
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DJANGO_SECRET_KEY": "x" * 20 + "a-long-random-production-secret-value-0123456789",
        "DJANGO_ALLOWED_HOSTS": "registry.example.org",
        "EMAIL_URL": "smtp+tls://registry:secret@mail.example.org:587",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("typed", [" dr_moreno", "dr_moreno ", "\tdr_moreno"])
def test_the_account_lockout_holds_for_the_name_typed_with_spaces(client, typed):
    # given: five wrong passwords for the account
    UserFactory(username="dr_moreno", role=Role.STAFF)
    for _ in range(5):
        client.post(reverse("accounts:login"), {"username": "dr_moreno", "password": "wrong"})

    # when: the right password, the name typed with a space the form strips
    response = client.post(reverse("accounts:login"), {"username": typed, "password": "correct-horse-battery"})

    # then
    assert "Too many failed sign-in attempts" in response.text
    assert "_auth_user_id" not in client.session


def test_wrong_passwords_typed_with_spaces_count_toward_the_account_lockout(client):
    # given
    UserFactory(username="dr_moreno", role=Role.STAFF)
    for n in range(5):
        client.post(reverse("accounts:login"), {"username": " " * n + "dr_moreno ", "password": "wrong"})

    # when
    response = client.post(reverse("accounts:login"), {"username": "dr_moreno", "password": "correct-horse-battery"})

    # then
    assert "Too many failed sign-in attempts" in response.text
