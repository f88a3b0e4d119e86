"""Nothing shown to a signed-in user (pages, API, FHIR, downloads) is kept in a shared workstation's cache."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tests.api.test_api import bearer
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def _no_store(response) -> bool:
    return "no-store" in response.get("Cache-Control", "")


@pytest.mark.parametrize(
    "name", ["patients:list", "patients:detail", "patients:print", "cryoablations:worklist", "patients:new"]
)
def test_pages_of_a_signed_in_user_are_not_stored(staff_client, name):
    # given
    patient = PatientFactory()
    url = reverse(name, args=[patient.public_id]) if name in ("patients:detail", "patients:print") else reverse(name)
    # when
    response = staff_client.get(url)
    # then
    assert response.status_code == 200
    assert _no_store(response)


def test_api_answers_are_not_stored_whether_by_session_or_by_token(staff_client, staff_user):
    patient = PatientFactory()
    by_session = staff_client.get(reverse("api:patient_list"))
    by_token = bearer(staff_user).get(reverse("api:patient_detail", args=[patient.public_id]))
    refused = Client().get(reverse("api:patient_list"))
    assert (by_session.status_code, by_token.status_code, refused.status_code) == (200, 200, 401)
    assert _no_store(by_session) and _no_store(by_token) and _no_store(refused)


def test_fhir_answers_are_not_stored(staff_client, staff_user):
    patient = PatientFactory()
    url = reverse("fhir:patient_everything", args=[patient.public_id])
    by_session = staff_client.get(url)
    by_token = bearer(staff_user).get(url)
    assert (by_session.status_code, by_token.status_code) == (200, 200)
    assert _no_store(by_session) and _no_store(by_token)
