"""The API and its OpenAPI schema say the same thing: what a request may hold (booleans, nulls, time zones, the
threshold, If-Match, text without NUL), and what comes back (every error status with its body, ETag and Location)."""

from __future__ import annotations

import re
import zoneinfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from apps.adverse_events.models import AdverseEvent, Category
from apps.cryoablations.models import DETAILS, Kind
from apps.patients.models import Patient
from apps.registry.models import ImportRun
from tests.api.test_api import NEW_PATIENT, bearer
from tests.factories import PatientFactory, make_ablation

pytestmark = pytest.mark.django_db

PATIENT_PATH = "/api/v1/patients/{public_id}/"


@pytest.fixture
def schema(admin_user) -> dict:
    return bearer(admin_user).get(reverse("api:schema"), {"format": "json"}).json()


def _operations(schema: dict):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def _query_parameter(schema: dict, path: str, name: str) -> dict:
    [parameter] = [p for p in schema["paths"][path]["get"]["parameters"] if p["name"] == name]
    return parameter["schema"].get("oneOf", [parameter["schema"]])[0]  # a text that may be empty: "or empty" second


# 1. The registry upload


def test_an_empty_file_in_an_upload_is_a_400_naming_the_files_not_a_500(admin_user):
    # given an upload whose form is invalid (Django's file field refuses an empty file)
    empty = SimpleUploadedFile("patients.csv", b"", content_type="text/csv")
    # when
    response = bearer(admin_user).post(reverse("api:registry_import"), {"files": [empty], "dry_run": "true"})
    # then
    assert response.status_code == 400
    assert list(response.json()) == ["files"]
    assert not ImportRun.objects.exists()


@pytest.mark.parametrize("dry_run", ["yes", "1", "on", "maybe"])
def test_a_dry_run_other_than_true_or_false_is_refused_naming_it(admin_user, dry_run):
    # when
    response = bearer(admin_user).post(reverse("api:registry_import"), {"dry_run": dry_run})
    # then: named beside the missing files, as every bad part of an upload is named at once
    assert response.status_code == 400
    assert list(response.json()) == ["files", "dry_run"]
    assert not ImportRun.objects.exists()


# 2, 3. Booleans are JSON booleans; null only where the schema allows it


@pytest.mark.parametrize(
    ("field", "value"),
    [("reminder_consent", "true"), ("is_active", "no"), ("is_active", "false"), ("reminder_consent", 1)],
)
def test_text_or_a_number_for_a_boolean_is_refused_naming_it(staff_user, field, value):
    # when
    response = bearer(staff_user).post(
        reverse("api:patient_list"), NEW_PATIENT | {field: value}, content_type="application/json"
    )
    # then
    assert response.status_code == 400, response.content
    assert list(response.json()) == [field]
    assert not Patient.objects.exists()


@pytest.mark.parametrize("field", ["mrn", "date_of_birth", "timezone", "email", "reminder_consent", "is_active"])
def test_null_is_refused_naming_the_field(staff_user, field):
    # when
    response = bearer(staff_user).post(
        reverse("api:patient_list"), NEW_PATIENT | {field: None}, content_type="application/json"
    )
    # then
    assert response.status_code == 400, response.content
    assert response.json() == {field: ["This field may not be null."]}
    assert not Patient.objects.exists()


def test_null_in_an_update_is_refused_and_nothing_changes(staff_user):
    # given
    patient = PatientFactory(first_name="Ana")
    client = bearer(staff_user)
    url = reverse("api:patient_detail", args=[patient.public_id])
    etag = client.get(url)["ETag"]
    # when
    response = client.patch(url, {"first_name": None}, content_type="application/json", headers={"If-Match": etag})
    # then
    assert response.status_code == 400
    assert list(response.json()) == ["first_name"]
    patient.refresh_from_db()
    assert patient.first_name == "Ana"


def test_the_write_schemas_allow_null_only_where_the_server_takes_it(schema):
    components = schema["components"]["schemas"]
    patient = components["PatientWriteRequest"]["properties"]
    assert not [name for name, field in patient.items() if field.get("nullable")]
    assert patient["reminder_consent"]["type"] == patient["is_active"]["type"] == "boolean"
    event = components["AdverseEventWriteRequest"]["properties"]
    assert {name for name, field in event.items() if field.get("nullable")} == {"treatment", "block", "resolved_on"}
    assert event["serious"]["type"] == "boolean"
    assert components["AdverseEventWriteRequest"]["additionalProperties"] is False
    answers = components["FollowUpAnswersWriteRequest"]["properties"]
    assert {name for name, field in answers.items() if field.get("nullable")} == {
        "pain_current",
        "pain_worst",
        "percent_relief",
        "pgic",
        "new_problem",  # not asked
    }


# 4, 5. Every error status an operation answers is declared, with the body it carries


def test_every_operation_declares_401_403_and_429_with_their_headers(schema):
    for path, method, operation in _operations(schema):
        responses = operation["responses"]
        assert {"401", "403", "429"} <= set(responses), f"{method} {path}"
        assert responses["401"]["headers"]["WWW-Authenticate"]["required"] is True
        assert responses["429"]["headers"]["Retry-After"]["schema"]["type"] == "integer"


def test_every_error_declares_the_body_the_api_sends(schema, staff_user):
    # given what the API really answers: a 401 and a 404 ({"detail"}), a 400 ({field: [messages]}), a FHIR 401
    client = bearer(staff_user)
    unauthorised = client.get(reverse("api:patient_list"), HTTP_AUTHORIZATION="Bearer nope")
    not_found = client.get("/api/v1/patients/not-a-uuid/")
    invalid = client.get(reverse("api:block_list"), {"from": "2026-13-01"})
    fhir = client.get("/fhir/Patient/00000000-0000-0000-0000-000000000000/$everything", HTTP_AUTHORIZATION="Bearer x")
    assert list(unauthorised.json()) == list(not_found.json()) == ["detail"]
    assert not_found["Content-Type"] == "application/json"
    assert list(invalid.json()) == ["from"] and isinstance(invalid.json()["from"][0], str)
    assert fhir.json()["resourceType"] == "OperationOutcome"
    # then the schema says so, for every 4xx of every operation
    components = schema["components"]["schemas"]
    assert components["Error"]["required"] == ["detail"]
    assert components["FieldErrors"]["additionalProperties"]["items"] == {"type": "string"}
    for path, method, operation in _operations(schema):
        for code, response in operation["responses"].items():
            if not code.startswith("4"):
                continue
            [(media, content)] = response["content"].items()
            refs = re.findall(r"#/components/schemas/(\w+)", str(content["schema"]))
            if path.startswith("/fhir/"):
                assert media == "application/fhir+json", f"{method} {path} {code}"
                assert code == "404" or refs == ["OperationOutcome"]
            elif code == "400":
                assert "FieldErrors" in refs, f"{method} {path} {code}"
            else:
                assert refs == ["Error"], f"{method} {path} {code}"


def test_a_body_that_is_not_json_is_a_400_naming_no_field_in_the_declared_shape(staff_user):
    response = bearer(staff_user).post(reverse("api:patient_list"), "{not json", content_type="application/json")
    assert response.status_code == 400
    assert list(response.json()) == ["non_field_errors"]
    assert isinstance(response.json()["non_field_errors"][0], str)


# 6, 7, 8. ETag, Location and If-Match as they are


def test_the_etag_and_location_of_a_create_are_declared_as_sent(schema, staff_user):
    # when
    response = bearer(staff_user).post(reverse("api:patient_list"), NEW_PATIENT, content_type="application/json")
    # then
    headers = schema["paths"]["/api/v1/patients/"]["post"]["responses"]["201"]["headers"]
    assert re.fullmatch(headers["ETag"]["schema"]["pattern"], response["ETag"])
    assert headers["Location"]["required"] is True
    assert headers["Location"]["schema"]["format"] == "uri"
    public_id = Patient.objects.get().public_id
    assert response["Location"] == f"http://testserver/api/v1/patients/{public_id}/"
    # and a read's ETag is declared with the same format
    read = schema["paths"][PATIENT_PATH]["get"]["responses"]["200"]["headers"]["ETag"]
    assert read["schema"]["pattern"] == headers["ETag"]["schema"]["pattern"] == '^"[0-9a-f]{32}"$'


@pytest.mark.parametrize("if_match", ["abc", '"unterminated', "W/abc", '"a" "b"'])
def test_an_if_match_that_is_no_entity_tag_is_a_400_naming_it(staff_user, schema, if_match):
    # given
    patient = PatientFactory(first_name="Ana")
    url = reverse("api:patient_detail", args=[patient.public_id])
    # when
    response = bearer(staff_user).patch(
        url, {"first_name": "Eve"}, content_type="application/json", headers={"If-Match": if_match}
    )
    # then
    assert response.status_code == 400
    assert list(response.json()) == ["If-Match"]
    patient.refresh_from_db()
    assert patient.first_name == "Ana"
    # and the schema's pattern refuses it too, and takes what the server takes
    [declared] = [p for p in schema["paths"][PATIENT_PATH]["patch"]["parameters"] if p["name"] == "If-Match"]
    pattern = declared["schema"]["pattern"]
    assert not re.search(pattern, if_match)
    assert re.search(pattern, '"0123456789abcdef0123456789abcdef"')
    assert re.search(pattern, 'W/"x", "0123456789abcdef0123456789abcdef"')


# 9, 10, 11. The time zone, the threshold, text query parameters


def test_the_time_zone_is_an_enum_of_the_zones_the_server_takes(schema, staff_user):
    enum = schema["components"]["schemas"]["TimezoneEnum"]["enum"]
    assert set(enum) == zoneinfo.available_timezones()
    response = bearer(staff_user).post(
        reverse("api:patient_list"), NEW_PATIENT | {"timezone": "Mars/Olympus_Mons"}, content_type="application/json"
    )
    assert response.status_code == 400
    assert list(response.json()) == ["timezone"]


def test_the_threshold_is_a_number_above_0_and_at_most_100(schema, physician):
    declared = _query_parameter(schema, "/api/v1/reports/outcomes/", "threshold")
    assert declared == {"type": "number", "minimum": 0, "exclusiveMinimum": True, "maximum": 100}
    client = bearer(physician)
    assert client.get(reverse("api:outcomes_report"), {"threshold": "50.5"}).status_code == 200
    for refused in ["0", "100.01", "fifty", "NaN"]:
        response = client.get(reverse("api:outcomes_report"), {"threshold": refused})
        assert (response.status_code, list(response.json())) == (400, ["threshold"]), refused


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/api/v1/patients/", "q"),
        ("/api/v1/blocks/", "physician"),
        ("/api/v1/blocks/", "nerve"),
        ("/api/v1/ablations/", "nerve"),
        ("/api/v1/treatments/", "nerve"),
        ("/api/v1/follow-ups/", "time_point"),
        ("/api/v1/reports/outcomes/", "physician"),
        ("/api/v1/reports/outcomes/", "nerve"),
    ],
)
def test_a_nul_in_a_text_query_parameter_is_a_400_naming_it_as_the_schema_says(schema, admin_user, path, name):
    # when
    response = bearer(admin_user).get(path, {name: "dr_a\x00"})
    # then
    assert response.status_code == 400
    assert list(response.json()) == [name]
    # and the schema refuses a NUL in it too
    pattern = _query_parameter(schema, path, name)["pattern"]
    assert not re.search(pattern, "dr_a\x00")
    assert re.search(pattern, "dr_okafor")


# 12. Treatments and adverse events: what the schema declares is what the API sends


def test_the_adverse_event_create_declares_its_location_and_enums_as_sent(schema, staff_user):
    # given
    treatment = make_ablation(patient=PatientFactory())
    # when
    response = bearer(staff_user).post(
        "/api/v1/adverse-events/",
        {
            "treatment": str(treatment.public_id),
            "occurred_on": treatment.performed_on.isoformat(),
            "category": "numbness",
            "severity": "mild",
            "relatedness": "possible",
        },
        content_type="application/json",
    )
    # then
    assert response.status_code == 201, response.content
    created = schema["paths"]["/api/v1/adverse-events/"]["post"]["responses"]["201"]
    assert created["headers"]["Location"]["required"] is True
    event = AdverseEvent.objects.get()
    assert response["Location"] == f"http://testserver/api/v1/adverse-events/{event.public_id}/"
    components = schema["components"]["schemas"]
    assert set(components["CategoryEnum"]["enum"]) == set(Category.values)
    assert set(components["KindEnum"]["enum"]) == set(Kind.values)
    # and the links a client follows: create -> read, treatment read -> create on it
    links = created["links"]
    assert links["ReadAdverseEvent"]["operationId"] == "api_v1_adverse_events_retrieve"
    read = schema["paths"]["/api/v1/treatments/{public_id}/"]["get"]["responses"]["200"]["links"]
    assert read["RecordAdverseEvent"]["requestBody"]["treatment"] == "$response.body#/id"


def test_every_treatment_detail_is_declared_nullable(schema):
    for name in ("TreatmentSummary", "Treatment"):
        properties = schema["components"]["schemas"][name]["properties"]
        assert all(properties[detail]["nullable"] for detail in DETAILS), name
