"""The API's instrument answers: list and record through the same service as the survey link, the staff form and
the import; bad input is a 400 naming the field, nothing written."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts.models import Role
from apps.instruments.models import InstrumentAnswer
from apps.instruments.services import instrument_answer_record
from tests.factories import PatientFactory, UserFactory, make_ablation

pytestmark = pytest.mark.django_db

URL = "/api/v1/instrument-answers/"


@pytest.fixture
def api(db):
    client = APIClient()
    client.force_authenticate(UserFactory(role=Role.STAFF))
    return client


def _when(days_ago: int = 1) -> str:
    return (timezone.now() - dt.timedelta(days=days_ago)).isoformat()


def test_staff_record_answers_and_list_them_by_patient_and_instrument(api):
    # given
    treatment, other = make_ablation(patient=PatientFactory()), make_ablation(patient=PatientFactory())
    instrument_answer_record(
        treatment=other, instrument="phq2", completed_at=timezone.now(), answers={"1": 1, "2": 1}, collected_via="link"
    )

    # when
    created = api.post(
        URL,
        {"treatment": str(treatment.public_id), "instrument": "peg3", "completed_at": _when(),
         "answers": {"1": 6, "2": 7, "3": 4}},
        format="json",
    )  # fmt: skip
    listed = api.get(URL, {"patient": str(treatment.patient.public_id)})
    by_instrument = api.get(URL, {"instrument": "phq2"})

    # then
    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["instrument"], body["score"], body["version"], body["collected_via"]) == ("peg3", 5.67, 1, "staff")
    assert body["answers"] == {"1": 6, "2": 7, "3": 4}
    assert [row["instrument"] for row in listed.json()["results"]] == ["peg3"]
    assert [row["treatment"] for row in by_instrument.json()["results"]] == [str(other.public_id)]
    assert InstrumentAnswer.objects.get(treatment=treatment).recorded_by is not None
    assert reverse("api:instrument_answer_list") == URL


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"instrument": "odi"}, "instrument"),
        ({"answers": {"1": 6, "2": 11, "3": 4}}, "answers.2"),
        ({"answers": {"1": 6, "3": 4}}, "answers.2"),
        ({"answers": {}}, "answers"),
        ({"treatment": "7d3f1a2e-0000-4000-8000-000000000000"}, "treatment"),
        ({"completed_at": (timezone.now() + dt.timedelta(days=3)).isoformat()}, "completed_at"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_nothing_is_written(api, overrides, field):
    # given
    treatment = make_ablation(patient=PatientFactory())
    body = {"treatment": str(treatment.public_id), "instrument": "peg3", "completed_at": _when(),
            "answers": {"1": 6, "2": 7, "3": 4}} | overrides  # fmt: skip

    # when
    response = api.post(URL, body, format="json")

    # then
    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert not InstrumentAnswer.objects.exists()


def test_the_endpoint_is_in_the_openapi_schema(api):
    schema = api.get("/api/schema/", {"format": "json"}).json()
    assert {"get", "post"} <= set(schema["paths"][URL])
