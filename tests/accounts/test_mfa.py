from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.accounts import mfa
from apps.accounts.models import Role
from apps.audit.models import AccessEvent, Action
from tests.conftest import force_login_unverified, verified_device
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
PASSWORD = "correct-horse-battery"
NOON = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)


def totp_now(device) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():06d}"


def enrolled_physician(client):
    """A physician signed in with password and code, with an authenticator and recovery codes."""
    physician = UserFactory(role=Role.PHYSICIAN)
    old = verified_device(physician)
    recovery = mfa.recovery_codes_issue(physician)
    client.force_login(physician)
    client.get(reverse("accounts:mfa_setup"))  # the new authenticator to confirm
    new = TOTPDevice.objects.get(user=physician, confirmed=False)
    return physician, old, new, recovery


def test_replacing_the_authenticator_needs_more_than_a_signed_in_session(client):
    # given
    physician, old, new, recovery = enrolled_physician(client)

    # when: one code from the new authenticator, as before
    with time_machine.travel(NOON, tick=False):
        response = client.post(reverse("accounts:mfa_setup"), {"code": totp_now(new)})

    # then: nothing replaced, the form asks for the password and the current code
    assert response.status_code == 200
    assert "Your password" in response.text
    assert "Code from your current authenticator" in response.text
    assert TOTPDevice.objects.get(user=physician, confirmed=True) == old
    assert StaticToken.objects.filter(device__user=physician).count() == len(recovery)


def test_a_wrong_password_or_current_code_keeps_the_old_authenticator_and_is_logged(client):
    # given
    physician, old, new, recovery = enrolled_physician(client)

    # when
    with time_machine.travel(NOON, tick=False) as traveller:
        wrong_password = client.post(
            reverse("accounts:mfa_setup"),
            {"password": "guess", "current_code": totp_now(old), "code": totp_now(new)},
        )
        traveller.shift(dt.timedelta(seconds=60))
        wrong_current = client.post(
            reverse("accounts:mfa_setup"), {"password": PASSWORD, "current_code": "000000", "code": totp_now(new)}
        )

    # then
    assert "That password is not right" in wrong_password.text
    assert "That code is not right" in wrong_current.text
    assert TOTPDevice.objects.get(user=physician, confirmed=True) == old
    assert StaticToken.objects.filter(device__user=physician).count() == len(recovery)
    assert AccessEvent.objects.filter(actor=physician, action=Action.MFA_FAILED).count() == 2
    assert not AccessEvent.objects.filter(actor=physician, action=Action.MFA_REMOVED).exists()


@pytest.mark.parametrize("current", ["authenticator", "recovery code"])
def test_the_authenticator_is_replaced_with_the_password_and_a_current_code(client, current):
    # given
    physician, old, new, recovery = enrolled_physician(client)

    # when
    with time_machine.travel(NOON, tick=False):
        current_code = totp_now(old) if current == "authenticator" else recovery[0]
        response = client.post(
            reverse("accounts:mfa_setup"), {"password": PASSWORD, "current_code": current_code, "code": totp_now(new)}
        )

    # then: the new authenticator only, new recovery codes, both recorded
    assert "Recovery codes" in response.text
    assert TOTPDevice.objects.get(user=physician, confirmed=True) == new
    assert not StaticToken.objects.filter(device__user=physician, token__in=recovery).exists()
    actions = list(AccessEvent.objects.filter(actor=physician).order_by("id").values_list("action", flat=True))
    assert actions[-2:] == [Action.MFA_REMOVED, Action.MFA_ENROLLED]


def test_wrong_codes_at_first_enrolment_are_logged_and_count_toward_the_lockout(client):
    # given
    physician = UserFactory(role=Role.PHYSICIAN)
    force_login_unverified(client, physician)
    client.get(reverse("accounts:mfa_setup"))
    device = TOTPDevice.objects.get(user=physician, confirmed=False)

    # when: five wrong codes, then the right one
    with time_machine.travel(NOON, tick=False) as traveller:
        for _ in range(5):
            client.post(reverse("accounts:mfa_setup"), {"code": "000000"})
            traveller.shift(dt.timedelta(seconds=60))  # past django-otp's own wait
        response = client.post(reverse("accounts:mfa_setup"), {"code": totp_now(device)})

    # then
    assert AccessEvent.objects.filter(actor=physician, action=Action.MFA_FAILED).count() == 5
    assert "Too many wrong codes" in response.text
    device.refresh_from_db()
    assert not device.confirmed


def test_enrolment_failures_and_verify_failures_share_one_count(client):
    # given: three wrong codes at enrolment
    physician = UserFactory(role=Role.PHYSICIAN)
    force_login_unverified(client, physician)
    client.get(reverse("accounts:mfa_setup"))
    with time_machine.travel(NOON, tick=False) as traveller:
        for _ in range(3):
            client.post(reverse("accounts:mfa_setup"), {"code": "000000"})
            traveller.shift(dt.timedelta(seconds=60))
        device = TOTPDevice.objects.get(user=physician, confirmed=False)
        device.confirmed = True
        device.save()

        # when: two more on the verify page
        for _ in range(2):
            client.post(reverse("accounts:mfa_verify"), {"code": "000000"})
            traveller.shift(dt.timedelta(seconds=60))
        response = client.post(reverse("accounts:mfa_verify"), {"code": totp_now(device)})

    # then
    assert "Too many wrong codes" in response.text


@pytest.mark.parametrize("page", ["accounts:mfa_verify", "accounts:mfa_setup"])
def test_a_right_code_just_after_a_wrong_one_is_refused_with_wait_and_try_the_next(client, page):
    # given
    physician = UserFactory(role=Role.PHYSICIAN)
    if page == "accounts:mfa_verify":
        device = verified_device(physician)
    force_login_unverified(client, physician)
    client.get(reverse("accounts:mfa_setup"))
    if page == "accounts:mfa_setup":
        device = TOTPDevice.objects.get(user=physician, confirmed=False)

    with time_machine.travel(NOON, tick=False) as traveller:
        # when: a wrong code, then at once the right one
        wrong = client.post(reverse(page), {"code": "000000"})
        too_soon = client.post(reverse(page), {"code": totp_now(device)})
        traveller.shift(dt.timedelta(seconds=31))
        later = client.post(reverse(page), {"code": totp_now(device)})

    # then
    assert "check the time on your phone" in wrong.text or "That code is not right" in wrong.text
    assert "wait a few seconds and try the next code" in too_soon.text
    assert "check the time on your phone" not in too_soon.text
    assert later.status_code in (200, 302)
    assert "code is not right" not in later.text
    assert "wait a few seconds" not in later.text
    device.refresh_from_db()
    assert device.confirmed
