"""FHIR R4 endpoints: the same authentication, roles, throttling and access log as the REST API. Errors come back
as OperationOutcome resources (application/fhir+json), as a FHIR client expects, not as the API's JSON."""

from __future__ import annotations

import json

from django.http import HttpResponse
from django.views.defaults import page_not_found as django_page_not_found
from django.views.defaults import server_error as django_server_error
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.renderers import JSONRenderer
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from apps.accounts.roles import CLINICAL
from apps.audit.decorators import audit_access
from apps.audit.models import Action, Category
from apps.patients.selectors import patient_get_or_404

from .fhir import operation_outcome, patient_everything_json

FHIR_JSON = "application/fhir+json"
FHIR_PREFIX = "/fhir/"
API_PREFIX = "/api/"
NO_SUCH_ADDRESS = "Not found: no such address or record (an id is a record's public id, a UUID)."
NO_SUCH_OPERATION = "No FHIR operation at this address. This server offers GET /fhir/Patient/{id}/$everything."
SERVER_ERROR = "The server failed to answer this request; the error is logged for the clinic's IT team."


class FHIRJSONRenderer(JSONRenderer):
    media_type = FHIR_JSON


def _diagnostics(data) -> str:
    """The API's error body in one sentence: DRF's {"detail": "..."}, or its field errors spelled out."""
    if isinstance(data, dict) and set(data) == {"detail"}:
        return str(data["detail"])
    if isinstance(data, dict):
        return "; ".join(
            f"{name}: {' '.join(map(str, errors if isinstance(errors, list) else [errors]))}"
            for name, errors in data.items()
        )
    if isinstance(data, list):
        return " ".join(map(str, data))
    return str(data)


def fhir_exception_handler(exc, context):
    """The API's own handler (status, headers such as WWW-Authenticate and Retry-After), its body an
    OperationOutcome. The messages are the API's: they name what is wrong, never a patient's data."""
    response = api_settings.EXCEPTION_HANDLER(exc, context)
    if response is not None:
        response.data = operation_outcome(status=response.status_code, diagnostics=_diagnostics(response.data))
    return response


class FHIRView(APIView):
    renderer_classes = [FHIRJSONRenderer, JSONRenderer]

    def get_exception_handler(self):
        return fhir_exception_handler


class PatientEverythingView(FHIRView):
    required_perms = {"GET": CLINICAL}

    @extend_schema(
        responses={(200, FHIR_JSON): OpenApiTypes.OBJECT, (404, FHIR_JSON): OpenApiTypes.OBJECT},
        operation_id="fhir_patient_everything",
    )
    def get(self, request, public_id):
        """A FHIR R4 Bundle: the Patient, a Procedure per block and treatment (its code naming the kind), an
        Observation per pain score (LOINC 72514-3), a QuestionnaireResponse per survey and the Questionnaire they
        answer, and an AdverseEvent per adverse event (its suspect entity the Procedure it is recorded on)."""
        patient = patient_get_or_404(public_id=public_id, user=request.user)
        request.audit.subject(patient, resources="everything")
        # Already JSON (see patient_everything_json): sent as it is, not through a renderer.
        return HttpResponse(patient_everything_json(patient), content_type=FHIR_JSON)


patient_everything_view = audit_access(Action.EXPORT, Category.CLINICAL, methods=("GET",))(
    PatientEverythingView.as_view()
)


def page_not_found(request, exception):
    """The site's 404 (config.urls.handler404): Django's page, except under /fhir/, where an address that names no
    operation (or a malformed id) gets an OperationOutcome, as a FHIR client expects, and under /api/, where it gets
    the API's JSON error body, as the schema declares (a malformed id included)."""
    if request.path.startswith(FHIR_PREFIX):
        body = operation_outcome(status=404, diagnostics=NO_SUCH_OPERATION)
        return HttpResponse(json.dumps(body), status=404, content_type=FHIR_JSON)
    if request.path.startswith(API_PREFIX):
        return HttpResponse(json.dumps({"detail": NO_SUCH_ADDRESS}), status=404, content_type="application/json")
    return django_page_not_found(request, exception)


def server_error(request):
    """The site's 500 (config.urls.handler500): Django's page, except under /fhir/ (an OperationOutcome)."""
    if request.path.startswith(FHIR_PREFIX):
        body = operation_outcome(status=500, diagnostics=SERVER_ERROR)
        return HttpResponse(json.dumps(body), status=500, content_type=FHIR_JSON)
    return django_server_error(request)
