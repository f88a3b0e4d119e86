"""SMS consent is captured on the patient form: its date, who took it and the wording's version."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.patients.models import SMS_CONSENT_VERSION, Patient
from tests.patients.test_views import VALID

pytestmark = pytest.mark.django_db


def test_staff_record_sms_consent_on_the_patient_form(staff_client, staff_user):
    # when
    today = timezone.localdate().isoformat()
    response = staff_client.post(reverse("patients:new"), {**VALID, "sms_consent_on": today})
    # then
    assert response.status_code == 302
    patient = Patient.objects.get()
    assert (patient.sms_consent_on.isoformat(), patient.sms_consent_by, patient.sms_consent_wording) == (
        today,
        staff_user,
        SMS_CONSENT_VERSION,
    )
    page = staff_client.get(reverse("patients:detail", args=[patient.public_id])).content.decode()
    assert f"SMS consent given {today}" in page and SMS_CONSENT_VERSION in page


def test_consent_withdrawn_clears_who_and_wording(staff_client):
    staff_client.post(reverse("patients:new"), {**VALID, "sms_consent_on": timezone.localdate().isoformat()})
    patient = Patient.objects.get()
    staff_client.post(reverse("patients:edit", args=[patient.public_id]), {**VALID, "sms_consent_on": ""})
    patient.refresh_from_db()
    assert (patient.sms_consent_on, patient.sms_consent_by, patient.sms_consent_wording) == (None, None, "")


def test_a_consent_date_in_the_future_is_refused_at_its_field(staff_client):
    tomorrow = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    response = staff_client.post(reverse("patients:new"), {**VALID, "sms_consent_on": tomorrow})
    assert response.status_code == 200
    assert "The SMS consent date cannot be in the future." in response.content.decode()
    assert not Patient.objects.exists()
