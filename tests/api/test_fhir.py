import datetime as dt
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.operationoutcome import OperationOutcome

from apps.audit.models import AccessEvent, Action
from apps.surveys.models import SurveyResponse
from apps.surveys.services import response_record
from tests.factories import BlockFactory, PatientFactory, UserFactory, make_ablation

pytestmark = pytest.mark.django_db


def answer(ablation, **scores) -> SurveyResponse:
    """An answer recorded through the service, as staff or a patient's link record them."""
    completed = timezone.now() - dt.timedelta(hours=1)
    return response_record(ablation=ablation, completed_at=completed, collected_via="phone", pain_average=3, **scores)


def history(patient, *, blocks: int = 1, surveys: int = 1):
    for _ in range(blocks):
        block = BlockFactory(patient=patient, diary=[(15, 2), (30, 3)])
    ablation = make_ablation(patient=patient, qualifying_block=block)
    for _ in range(surveys):
        answer(ablation, pain_current=2, pain_worst=5, percent_relief=60, pgic=2)
    return ablation


def everything(client, patient):
    return client.get(reverse("fhir:patient_everything", args=[patient.public_id]))


def test_everything_is_a_valid_r4_bundle_of_the_patients_history(staff_client):
    # given
    patient = PatientFactory(mobile_phone="+12125550123")
    history(patient)
    # when
    response = everything(staff_client, patient)
    # then
    assert response.status_code == 200
    assert response["Content-Type"] == "application/fhir+json"
    body = response.json()
    bundle = Bundle.model_validate(body)  # R4B: every entry is validated against its own resource type
    assert bundle.type == "searchset"
    kinds = [e["resource"]["resourceType"] for e in body["entry"]]
    # the patient; block + baseline + 2 diary scores; ablation + baseline; questionnaire, response, 3 pain scores
    assert kinds.count("Patient") == 1
    assert kinds.count("Procedure") == 2
    assert kinds.count("Observation") == 3 + 1 + 3
    assert (kinds.count("Questionnaire"), kinds.count("QuestionnaireResponse")) == (1, 1)
    for entry in body["entry"]:
        resource = entry["resource"]
        model = get_fhir_model_class(resource["resourceType"])
        model.model_validate(resource)
        if resource["resourceType"] == "Observation":
            assert resource["code"]["coding"][0]["code"] == "72514-3"
            assert 0 <= resource["valueInteger"] <= 10


def test_the_patient_resource(staff_client):
    # given
    patient = PatientFactory(mrn="A77", first_name="José", last_name="García", sex="M", mobile_phone="+12125550123")
    # when
    body = everything(staff_client, patient).json()
    # then
    [resource] = [e["resource"] for e in body["entry"]]
    assert resource["id"] == str(patient.public_id)
    assert resource["identifier"][0]["value"] == "A77"
    assert resource["name"] == [{"family": "García", "given": ["José"]}]
    assert (resource["gender"], resource["birthDate"]) == ("male", "1970-05-17")


def test_the_query_count_does_not_grow_with_the_history(staff_client):
    # given
    small, large = PatientFactory(), PatientFactory()
    history(small, blocks=1, surveys=1)
    history(large, blocks=4, surveys=5)
    everything(staff_client, small)  # warm up (the session, the protocol...)
    # when
    with CaptureQueriesContext(connection) as few:
        everything(staff_client, small)
    with CaptureQueriesContext(connection) as many:
        everything(staff_client, large)
    # then
    assert len(many) == len(few)


def test_everything_is_logged_once_as_an_export(staff_client, staff_user):
    # given
    patient = PatientFactory()
    history(patient)
    last = AccessEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    # when
    everything(staff_client, patient)
    # then
    [event] = AccessEvent.objects.filter(id__gt=last)
    assert (event.action, event.actor_id, event.patient_id) == (Action.EXPORT, staff_user.pk, patient.pk)


def test_everything_needs_the_clinical_role(client):
    # given
    patient = PatientFactory()
    client.force_login(UserFactory())
    # when / then
    assert everything(client, patient).status_code == 403


# ---------------------------------------------------------------------------------------------------------------
# Errors: an OperationOutcome, as a FHIR client expects, never Django's HTML or the API's JSON


def outcome(response, status: int) -> dict:
    """The one issue of the OperationOutcome `response` answers with, checked against the R4B model."""
    assert response.status_code == status
    assert response["Content-Type"] == "application/fhir+json"
    body = response.json()
    OperationOutcome.model_validate(body)
    [issue] = body["issue"]
    assert issue["severity"] == "error"
    return issue


def test_without_credentials_the_answer_is_401_asking_to_sign_in(client):
    # given
    patient = PatientFactory(last_name="Quintanilla")
    # when
    response = everything(client, patient)
    # then
    issue = outcome(response, 401)
    assert issue["code"] == "login"
    assert "credentials" in issue["diagnostics"]
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert "Quintanilla" not in response.content.decode()


def test_an_unknown_token_is_401_saying_so(client):
    # given
    patient = PatientFactory()
    # when
    response = client.get(
        reverse("fhir:patient_everything", args=[patient.public_id]), headers={"Authorization": "Bearer nonsense"}
    )
    # then
    issue = outcome(response, 401)
    assert (issue["code"], issue["diagnostics"]) == ("login", "Invalid, expired or revoked token.")


def test_a_user_without_the_clinical_role_gets_403_forbidden(client):
    # given
    patient = PatientFactory(last_name="Quintanilla")
    client.force_login(UserFactory())
    # when
    response = everything(client, patient)
    # then
    issue = outcome(response, 403)
    assert (issue["code"], issue["diagnostics"]) == ("forbidden", "Your role does not allow this.")
    assert "Quintanilla" not in response.content.decode()


def test_an_unknown_patient_is_404_not_found(staff_client):
    # given
    unknown = uuid.uuid4()
    # when
    response = staff_client.get(reverse("fhir:patient_everything", args=[unknown]))
    # then
    issue = outcome(response, 404)
    assert issue["code"] == "not-found"
    assert "Patient" in issue["diagnostics"]


@pytest.mark.parametrize("path", ["/fhir/Observation/123", "/fhir/Patient/not-a-uuid/$everything", "/fhir/"])
def test_an_address_that_names_no_operation_is_404_not_found(staff_client, path):
    # when
    response = staff_client.get(path)
    # then
    issue = outcome(response, 404)
    assert issue["code"] == "not-found"
    assert "Patient/{id}/$everything" in issue["diagnostics"]


def test_a_server_error_is_an_operation_outcome_without_the_error(staff_client, monkeypatch):
    # given an export that fails inside
    def failing(patient):
        raise RuntimeError(f"cannot export {patient.last_name}")

    monkeypatch.setattr("apps.api.fhir_views.patient_everything_json", failing)
    staff_client.raise_request_exception = False
    patient = PatientFactory(last_name="Quintanilla")
    # when
    response = everything(staff_client, patient)
    # then
    issue = outcome(response, 500)
    assert issue["code"] == "exception"
    assert "Quintanilla" not in response.content.decode()


def test_other_pages_keep_their_html_404(staff_client):
    # when
    response = staff_client.get("/patients/no-such-page/")
    # then
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_a_method_the_operation_does_not_offer_is_405_not_supported(staff_client):
    # given
    patient = PatientFactory()
    last = AccessEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    # when
    response = staff_client.post(reverse("fhir:patient_everything", args=[patient.public_id]))
    # then
    issue = outcome(response, 405)
    assert issue["code"] == "not-supported"
    assert "POST" in issue["diagnostics"]
    assert "GET" in response["Allow"]
    assert not AccessEvent.objects.filter(id__gt=last).exists()  # no data left: nothing to log
