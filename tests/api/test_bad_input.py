"""Bad JSON values and query parameters: a 400 naming the field, never a 500, and never a value stored as the Python
text of a list or an object."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.patients.models import Patient
from apps.surveys.models import SurveyResponse
from tests.api.test_api import NEW_PATIENT, bearer
from tests.factories import PatientFactory, make_ablation

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("date_of_birth", [None, None]),
        ("date_of_birth", {"year": 1961}),
        ("date_of_birth", 19610304),
        ("mrn", ["x"]),
        ("mrn", {"value": "x"}),
        ("mrn", 12345),
        ("mrn", True),
        ("first_name", ["José"]),
        ("timezone", ["UTC"]),
        ("reminder_consent", [True]),
        ("sex", 1),
    ],
)
def test_a_list_an_object_or_a_number_for_a_text_field_is_refused_naming_it(staff_user, field, value):
    # when
    response = bearer(staff_user).post(
        reverse("api:patient_list"), NEW_PATIENT | {field: value}, content_type="application/json"
    )
    # then
    assert response.status_code == 400, response.content
    assert list(response.json()) == [field]
    assert not Patient.objects.exists()


def test_a_list_in_an_update_is_refused_and_nothing_changes(staff_user):
    # given
    patient = PatientFactory(mrn="A1")
    client = bearer(staff_user)
    url = reverse("api:patient_detail", args=[patient.public_id])
    etag = client.get(url)["ETag"]
    # when
    response = client.patch(url, {"mrn": ["x"]}, content_type="application/json", headers={"If-Match": etag})
    # then
    assert response.status_code == 400
    assert list(response.json()) == ["mrn"]
    patient.refresh_from_db()
    assert patient.mrn == "A1"


def test_a_list_in_staff_answers_is_refused_naming_it(staff_user):
    # given a follow-up whose window is open
    ablation = make_ablation(patient=PatientFactory(), performed_on=timezone.localdate() - dt.timedelta(days=14))
    follow_up = ablation.follow_ups.get(time_point="2w")
    body = {"completed_at": timezone.now().isoformat(), "collected_via": "phone", "pain_average": [3]}
    # when
    response = bearer(staff_user).post(
        reverse("api:follow_up_answers", args=[follow_up.public_id]), body, content_type="application/json"
    )
    # then
    assert response.status_code == 400
    assert list(response.json()) == ["pain_average"]
    assert not SurveyResponse.objects.exists()


def test_numbers_for_number_fields_and_booleans_for_yes_no_fields_are_taken(staff_user):
    response = bearer(staff_user).post(
        reverse("api:patient_list"), NEW_PATIENT | {"reminder_consent": False}, content_type="application/json"
    )
    assert response.status_code == 201, response.content
    assert Patient.objects.get().reminder_consent is False


@pytest.mark.parametrize(
    ("name", "params", "field"),
    [
        ("api:patient_list", {"q": "a\x00b"}, "q"),
        ("api:follow_up_list", {"time_point": "3m\x00"}, "time_point"),
        ("api:block_list", {"physician": "a\x00"}, "physician"),
    ],
)
def test_a_nul_in_a_query_parameter_is_a_400_naming_it(staff_user, name, params, field):
    response = bearer(staff_user).get(reverse(name), params)
    assert response.status_code == 400
    assert field in response.json()


@pytest.mark.parametrize("name", ["api:patient_list", "api:block_list", "api:ablation_list", "api:follow_up_list"])
def test_a_page_past_the_end_is_a_404_not_a_500(staff_user, name):
    response = bearer(staff_user).get(reverse(name), {"page": "99999999999999999999"})
    assert response.status_code == 404


def test_the_schema_declares_what_a_create_must_send_and_the_if_match_an_update_needs(staff_user):
    # given
    from apps.patients.forms import PatientForm

    schema = bearer(staff_user).get(reverse("api:schema"), HTTP_ACCEPT="application/json").json()
    # then the create's required fields are the form's, but the site: required in a network of sites only, as its
    # description says
    body = schema["components"]["schemas"]["PatientWriteRequest"]
    required = {name for name, field in PatientForm.base_fields.items() if field.required} - {"site"}
    assert set(body["required"]) == required
    assert "Required in a network of sites" in body["properties"]["site"]["description"]
    assert {"sex", "preferred_channel", "language", "timezone"} <= required
    # and the update declares its If-Match header as required
    patch = schema["paths"]["/api/v1/patients/{public_id}/"]["patch"]
    assert {(p["name"], p["in"], p.get("required")) for p in patch["parameters"]} >= {("If-Match", "header", True)}
