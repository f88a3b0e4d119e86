"""Second factor, sign-in limits, session lifetime, security headers, and no patient data in the logs."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
import time_machine
from django.test import override_settings
from django.urls import reverse
from django_otp.oath import TOTP

from apps.accounts.models import Role
from apps.audit.logging import CleanRequestLines
from apps.audit.models import AccessEvent, Action
from tests.conftest import force_login_unverified, verified_device
from tests.factories import BlockFactory, PatientFactory, UserFactory

pytestmark = pytest.mark.django_db
PASSWORD = "correct-horse-battery"


def totp_now(device) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():06d}"


def test_a_physician_without_an_authenticator_must_enrol_before_anything_else(client):
    # given
    physician = UserFactory(role=Role.PHYSICIAN)
    force_login_unverified(client, physician)
    # when
    response = client.get(reverse("patients:list"))
    # then
    assert response["Location"].startswith(reverse("accounts:mfa_setup"))
    page = client.get(reverse("accounts:mfa_setup"))
    assert "<svg" in page.text
    device = physician.totpdevice_set.get(confirmed=False)
    done = client.post(reverse("accounts:mfa_setup"), {"code": totp_now(device)})
    assert "Recovery codes" in done.text
    assert client.get(reverse("patients:list")).status_code == 200
    assert AccessEvent.objects.filter(actor=physician, action=Action.MFA_ENROLLED).count() == 1


def test_staff_may_skip_the_second_factor(client, staff_user):
    force_login_unverified(client, staff_user)
    assert client.get(reverse("patients:list")).status_code == 200


def test_an_enrolled_user_signs_in_with_password_then_code_or_recovery_code(client):
    # given
    admin = UserFactory(username="boss", role=Role.ADMIN, is_staff=True)
    device = verified_device(admin)
    # when: password only
    client.post(reverse("accounts:login"), {"username": "boss", "password": PASSWORD})
    # then: everything, the Django admin included, waits for the code
    assert client.get(reverse("admin:index"))["Location"].startswith(reverse("accounts:mfa_verify"))
    client.post(reverse("accounts:mfa_verify"), {"code": totp_now(device)})
    assert client.get(reverse("admin:index")).status_code == 200


def test_sign_in_is_refused_after_too_many_failures_even_with_the_right_password(client):
    UserFactory(username="nurse", role=Role.STAFF)
    for _ in range(5):
        client.post(reverse("accounts:login"), {"username": "nurse", "password": "wrong"})
    response = client.post(reverse("accounts:login"), {"username": "nurse", "password": PASSWORD})
    assert "Too many failed sign-in attempts" in response.text
    assert AccessEvent.objects.filter(action=Action.SIGN_IN_FAILED).count() == 6


@override_settings(SIGN_IN_MAX_FAILURES_PER_ADDRESS=3)
def test_the_admin_sign_in_is_limited_per_address_too(client):
    for n in range(3):
        client.post(reverse("admin:login"), {"username": f"guess{n}", "password": "x"})
    response = client.post(reverse("admin:login"), {"username": "other", "password": "x"})
    assert "Too many failed sign-in attempts" in response.text


def test_a_session_ends_after_12_hours_however_active(client, staff_user):
    with time_machine.travel(dt.datetime(2026, 3, 2, 7, 0, tzinfo=dt.UTC), tick=False) as traveller:
        client.force_login(staff_user)
        for _ in range(50):  # a request every 14 minutes: never idle
            traveller.shift(dt.timedelta(minutes=14))
            assert client.get(reverse("patients:list")).status_code == 200
        for _ in range(2):
            traveller.shift(dt.timedelta(minutes=14))
            response = client.get(reverse("patients:list"))
        assert response.status_code == 302


def test_background_polling_does_not_keep_a_session_alive(client, staff_user):
    with time_machine.travel(dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC), tick=False) as traveller:
        client.force_login(staff_user)
        traveller.shift(dt.timedelta(minutes=10))
        client.get("/poll/report-progress/")
        traveller.shift(dt.timedelta(minutes=6))
        assert client.get(reverse("patients:list")).status_code == 302


def test_pages_carry_a_nonce_csp_without_unsafe_inline(staff_client):
    response = staff_client.get(reverse("patients:list"))
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert response["Referrer-Policy"] == "same-origin"
    assert "<script>" not in response.text and "style=" not in response.text


def test_request_lines_lose_their_query_string():
    record = logging.LogRecord(
        "django.server", logging.INFO, "", 0, '"%s" %s %s', ("GET /patients/?q=Garcia HTTP/1.1", 200, 5), None
    )
    CleanRequestLines().filter(record)
    assert record.getMessage() == '"GET /patients/ HTTP/1.1" 200 5'


def test_no_patient_data_in_the_logs_of_the_key_flows(client, staff_user, caplog):
    # given
    patient = PatientFactory(
        first_name="Zebulon", last_name="Quixwell", email="zq@example.org", mobile_phone="+12125550199"
    )
    block = BlockFactory(patient=patient)
    client.force_login(staff_user)
    caplog.set_level(logging.DEBUG)
    # when: search, open, edit with an error, failed sign-in with the patient's name as username
    client.get(reverse("patients:list"), {"q": "Quixwell"})
    client.get(reverse("patients:detail", args=[patient.public_id]))
    client.get(reverse("blocks:detail", args=[block.public_id]))
    client.post(reverse("patients:edit", args=[patient.public_id]), {"first_name": "Zebulon", "last_name": "Quixwell"})
    client.post(reverse("accounts:logout"))
    client.post(reverse("accounts:login"), {"username": "Quixwell", "password": "x"})
    # then
    text = "\n".join(r.getMessage() for r in caplog.records)
    for secret in ["Zebulon", "Quixwell", "zq@example.org", "5550199", "1970-05-17", "17/05/1970"]:
        assert secret not in text, secret
