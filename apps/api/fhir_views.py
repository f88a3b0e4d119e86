"""FHIR R4 endpoints: the same authentication, roles, throttling and access log as the REST API."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.roles import CLINICAL
from apps.audit.decorators import audit_access
from apps.audit.models import Action, Category
from apps.patients.selectors import patient_get_or_404

from .fhir import patient_everything


class FHIRJSONRenderer(JSONRenderer):
    media_type = "application/fhir+json"


class PatientEverythingView(APIView):
    required_perms = {"GET": CLINICAL}
    renderer_classes = [FHIRJSONRenderer, JSONRenderer]

    @extend_schema(
        responses={(200, "application/fhir+json"): OpenApiTypes.OBJECT}, operation_id="fhir_patient_everything"
    )
    def get(self, request, public_id):
        """A FHIR R4 Bundle: the Patient, a Procedure per block and ablation, an Observation per pain score
        (LOINC 72514-3), a QuestionnaireResponse per survey and the Questionnaire they answer."""
        patient = patient_get_or_404(public_id=public_id)
        request.audit.subject(patient, resources="everything")
        return Response(patient_everything(patient))


patient_everything_view = audit_access(Action.EXPORT, Category.CLINICAL, methods=("GET",))(
    PatientEverythingView.as_view()
)
