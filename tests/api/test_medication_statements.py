"""The API's opioid statements: list and record through the same service as the patient page; bad input is a 400
naming the field, nothing written."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from apps.accounts.models import Role
from apps.medications.models import MedicationStatement
from apps.medications.services import medication_statement_create
from tests.factories import PatientFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/medication-statements/"


@pytest.fixture
def api(db):
    client = APIClient()
    client.force_authenticate(UserFactory(role=Role.STAFF))
    return client


def test_staff_record_a_statement_and_list_it_by_patient(api):
    # given
    patient, other = PatientFactory(), PatientFactory()
    medication_statement_create(
        patient=other, opioid="morphine", daily_dose=Decimal("10"), started_on=dt.date(2026, 1, 1)
    )

    # when
    created = api.post(
        URL,
        {"patient": str(patient.public_id), "opioid": "fentanyl_transdermal", "daily_dose": 12.5,
         "started_on": "2026-02-01"},
        format="json",
    )  # fmt: skip
    listed = api.get(URL, {"patient": str(patient.public_id)})

    # then
    assert created.status_code == 201, created.json()
    assert created.json()["unit"] == "mcg/h" and created.json()["daily_dose"] == 12.5
    assert [row["opioid"] for row in listed.json()["results"]] == ["fentanyl_transdermal"]
    assert MedicationStatement.objects.get(patient=patient).recorded_by is not None
    assert reverse("api:medication_statement_list") == URL


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"daily_dose": 0}, "daily_dose"),
        ({"daily_dose": -2}, "daily_dose"),
        ({"stopped_on": "2026-01-31"}, "stopped_on"),
        ({"opioid": "heroin"}, "opioid"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_nothing_is_written(api, overrides, field):
    # given
    body = {"patient": str(PatientFactory().public_id), "opioid": "morphine", "daily_dose": 10,
            "started_on": "2026-02-01"} | overrides  # fmt: skip

    # when
    response = api.post(URL, body, format="json")

    # then
    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert not MedicationStatement.objects.exists()
