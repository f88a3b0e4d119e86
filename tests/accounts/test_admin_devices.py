from __future__ import annotations

from base64 import b32encode

import pytest
from django.urls import reverse

from apps.accounts import mfa
from apps.accounts.models import Role
from apps.audit.models import AccessEvent, Action
from tests.conftest import verified_device
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_the_django_admin_never_shows_an_authenticators_key_or_qr_code(client, admin_user):
    # given: a physician's authenticator and recovery codes
    physician = UserFactory(role=Role.PHYSICIAN)
    device = verified_device(physician)
    codes = mfa.recovery_codes_issue(physician)
    static = physician.staticdevice_set.get()
    client.force_login(admin_user)

    # when
    pages = [
        client.get(reverse("admin:otp_totp_totpdevice_changelist")),
        client.get(reverse("admin:otp_totp_totpdevice_change", args=[device.pk])),
        client.get(reverse("admin:otp_static_staticdevice_change", args=[static.pk])),
    ]
    config = client.get(reverse("admin:otp_totp_totpdevice_config", args=[device.pk]))
    qr = client.get(reverse("admin:otp_totp_totpdevice_qrcode", args=[device.pk]))
    add = client.get(reverse("admin:otp_totp_totpdevice_add"))

    # then
    for page in pages:
        assert page.status_code == 200
        assert device.key not in page.text
        assert b32encode(device.bin_key).decode() not in page.text
        assert not any(code in page.text for code in codes)
        assert "qrcode" not in page.text.lower()
    assert config.status_code == 403
    assert qr.status_code == 403
    assert add.status_code == 403


def test_an_admin_deleting_an_authenticator_is_recorded(client, admin_user):
    # given
    physician = UserFactory(role=Role.PHYSICIAN)
    device = verified_device(physician)
    client.force_login(admin_user)

    # when
    client.post(reverse("admin:otp_totp_totpdevice_delete", args=[device.pk]), {"post": "yes"})

    # then
    assert not physician.totpdevice_set.exists()
    event = AccessEvent.objects.get(action=Action.MFA_REMOVED)
    assert event.actor == admin_user
    assert event.object_id == str(physician.pk)
