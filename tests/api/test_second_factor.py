"""A session that has not passed the second factor gets the API's 401 (JSON), never the pages' redirect."""

from __future__ import annotations

import pytest

from apps.accounts.models import Role
from tests.conftest import force_login_unverified
from tests.factories import PatientFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/api/", "/api/v1/patients/", "/api/schema/", "/api/v1/nothing-here/"])
def test_a_session_without_its_second_factor_gets_401_json_on_the_whole_api(client, path):
    # given a physician signed in with the password only
    PatientFactory()
    force_login_unverified(client, UserFactory(role=Role.PHYSICIAN))
    # when
    response = client.get(path)
    # then
    assert response.status_code == 401
    assert response["Content-Type"].startswith("application/json")
    assert "second factor" in response.json()["detail"]
    assert "Location" not in response


def test_the_pages_still_send_that_session_to_the_second_factor(client):
    force_login_unverified(client, UserFactory(role=Role.PHYSICIAN))
    response = client.get("/patients/")
    assert response.status_code == 302


def test_fhir_answers_that_session_as_one_without_credentials(client):
    # given
    patient = PatientFactory()
    force_login_unverified(client, UserFactory(role=Role.PHYSICIAN))
    # when
    response = client.get(f"/fhir/Patient/{patient.public_id}/$everything")
    # then
    assert response.status_code == 401
    assert response["Content-Type"] == "application/fhir+json"
    assert response.json()["resourceType"] == "OperationOutcome"


def test_staff_without_an_authenticator_may_use_the_api_by_session(client):
    # staff may skip the second factor: their session reads the API as it reads the pages
    force_login_unverified(client, UserFactory(role=Role.STAFF))
    assert client.get("/api/v1/patients/").status_code == 200
