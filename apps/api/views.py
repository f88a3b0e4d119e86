"""The REST API, version 1. Each view calls the selectors and services of the page that shows or edits the same
thing, checks the same permission, and writes the same access event (apps.audit.decorators.audit_access) for
every read of patient data."""

from __future__ import annotations

from django.db import transaction
from django.forms.models import model_to_dict
from django.utils import timezone
from django.utils.html import strip_tags
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.roles import CLINICAL
from apps.audit.decorators import audit_access
from apps.audit.models import Action, Category
from apps.blocks.selectors import block_get
from apps.clinic.selectors import protocol_get
from apps.cryoablations.forms import FollowUpAnswersForm
from apps.cryoablations.selectors import ablation_get, follow_up_get, follow_up_rows
from apps.patients.forms import PatientForm
from apps.patients.models import Patient
from apps.patients.selectors import patient_get_or_404, patient_search
from apps.patients.services import patient_create, patient_update
from apps.patients.views import PAGE_SIZE
from apps.surveys.services import response_record

from .etags import etag_of, if_match_check
from .serializers import (
    AblationSerializer,
    BlockSerializer,
    FollowUpAnswersWriteSerializer,
    FollowUpSerializer,
    PatientSerializer,
    PatientWriteSerializer,
    SurveyAnswerSerializer,
)

ETAG_HEADER = OpenApiParameter("ETag", OpenApiTypes.STR, OpenApiParameter.HEADER, response=True)
IF_MATCH = OpenApiParameter(
    "If-Match", OpenApiTypes.STR, OpenApiParameter.HEADER, required=True, description="The ETag of your last read."
)
VALIDATION_ERROR = OpenApiResponse(description="Invalid fields: {field: [messages]}")


class Pagination(PageNumberPagination):
    page_size = PAGE_SIZE
    page_size_query_param = "page_size"
    max_page_size = 200


def form_errors(form) -> dict[str, list[str]]:
    """A page form's errors as {field: [messages]} (plain text: the pages' messages may hold links)."""
    errors = {}
    for field, messages in form.errors.items():
        errors["non_field_errors" if field == "__all__" else field] = [strip_tags(m) for m in messages]
    return errors


def validated_form(form_class, data, **kwargs):
    if not isinstance(data, dict):
        raise exceptions.ValidationError({"non_field_errors": ["Send a JSON object."]})
    form = form_class(data, **kwargs)
    if not form.is_valid():
        raise exceptions.ValidationError(form_errors(form))
    return form


def with_etag(data, *, status_code: int = status.HTTP_200_OK, headers=None) -> Response:
    return Response(data, status=status_code, headers={"ETag": etag_of(data), **(headers or {})})


class PatientListView(APIView):
    required_perms = {"GET": CLINICAL, "POST": "patients.add_patient"}

    @extend_schema(
        parameters=[OpenApiParameter("q", str, description="MRN prefix, or words starting the names (any accents)")],
        responses=PatientSerializer(many=True),
    )
    def get(self, request):
        query = request.query_params.get("q", "")
        paginator = Pagination()
        page = paginator.paginate_queryset(patient_search(query=query), request, view=self)
        request.audit.subject(None, action=Action.SEARCH if query else Action.LIST, query=query)
        request.audit.detail["listed"] = [p.pk for p in page]
        return paginator.get_paginated_response(PatientSerializer(page, many=True).data)

    @extend_schema(
        request=PatientWriteSerializer,
        responses={201: PatientSerializer, 400: VALIDATION_ERROR},
        parameters=[ETAG_HEADER],
    )
    def post(self, request):
        form = validated_form(PatientForm, request.data)
        patient = patient_create(**form.cleaned_data)
        return with_etag(
            PatientSerializer(patient).data,
            status_code=status.HTTP_201_CREATED,
            headers={"Location": request.build_absolute_uri(f"{patient.public_id}/")},
        )


class PatientDetailView(APIView):
    required_perms = {"GET": CLINICAL, "PATCH": "patients.change_patient"}

    @extend_schema(responses=PatientSerializer, parameters=[ETAG_HEADER])
    def get(self, request, public_id):
        patient = patient_get_or_404(public_id=public_id)
        request.audit.subject(patient)
        return with_etag(PatientSerializer(patient).data)

    @extend_schema(
        request=PatientWriteSerializer,
        responses={
            200: PatientSerializer,
            400: VALIDATION_ERROR,
            412: OpenApiResponse(description="Changed since your read"),
            428: OpenApiResponse(description="If-Match missing"),
        },
        parameters=[IF_MATCH, ETAG_HEADER],
    )
    def patch(self, request, public_id):
        """Change some fields; the others keep their values. Needs the ETag of your last read in If-Match."""
        found = patient_get_or_404(public_id=public_id)
        with transaction.atomic():
            # Locked from the check to the write, so two requests with the same ETag cannot both pass.
            patient = Patient.objects.select_for_update().get(pk=found.pk)
            if_match_check(request, etag_of(PatientSerializer(patient).data))
            if not isinstance(request.data, dict):
                raise exceptions.ValidationError({"non_field_errors": ["Send a JSON object."]})
            unknown = sorted(set(request.data) - set(PatientForm.Meta.fields))
            if unknown:
                raise exceptions.ValidationError({name: ["This field cannot be changed."] for name in unknown})
            data = {**model_to_dict(patient, fields=PatientForm.Meta.fields), **request.data}
            form = validated_form(PatientForm, data, instance=patient)
            patient_update(patient=patient, **form.cleaned_data)
        request.audit.subject(patient)
        return with_etag(PatientSerializer(patient).data)


class BlockDetailView(APIView):
    required_perms = {"GET": "blocks.view_diagnosticblock"}

    @extend_schema(responses=BlockSerializer)
    def get(self, request, public_id):
        block = block_get(public_id=public_id)
        request.audit.subject(block)
        protocol = protocol_get()
        data = {"block": block, "assessment": block.assess(protocol), "diary": block.diary_rows(protocol)}
        return Response(BlockSerializer(data).data)


class AblationDetailView(APIView):
    required_perms = {"GET": "cryoablations.view_cryoablation"}

    @extend_schema(responses=AblationSerializer)
    def get(self, request, public_id):
        ablation = ablation_get(public_id=public_id)
        request.audit.subject(ablation)
        rows = follow_up_rows(
            follow_ups=list(ablation.follow_ups.select_related("ablation", "counted_response")),
            today=timezone.localdate(),
        )
        return Response(AblationSerializer({"ablation": ablation, "follow_ups": rows}).data)


class FollowUpDetailView(APIView):
    required_perms = {"GET": "cryoablations.view_followup"}

    @extend_schema(responses=FollowUpSerializer)
    def get(self, request, public_id):
        follow_up = follow_up_get(public_id=public_id)
        request.audit.subject(follow_up, patient=follow_up.ablation.patient)
        [row] = follow_up_rows(follow_ups=[follow_up], today=timezone.localdate())
        return Response(FollowUpSerializer(row).data)


class FollowUpAnswersView(APIView):
    """Answers taken down by staff (phone call or clinic visit), as on the follow-up's answers page."""

    required_perms = {"POST": "surveys.add_surveyresponse"}

    @extend_schema(
        request=FollowUpAnswersWriteSerializer, responses={201: SurveyAnswerSerializer, 400: VALIDATION_ERROR}
    )
    def post(self, request, public_id):
        follow_up = follow_up_get(public_id=public_id)
        form = validated_form(FollowUpAnswersForm, request.data, follow_up=follow_up)
        response = response_record(ablation=follow_up.ablation, recorded_by=request.user, **form.cleaned_data)
        return Response(SurveyAnswerSerializer(response).data, status=status.HTTP_201_CREATED)


def audited(view_class, action: Action, category: Category, *, object_type: str = "", methods=("GET",)):
    """The view, writing one access event per successful read (GET) through the pages' decorator."""
    return audit_access(action, category, object_type=object_type, methods=methods)(view_class.as_view())


patient_list = audited(PatientListView, Action.LIST, Category.DEMOGRAPHICS, object_type="patient_list")
# An update answers with the whole record (fields not sent included): logged as a read too.
patient_detail = audited(PatientDetailView, Action.VIEW, Category.DEMOGRAPHICS, methods=("GET", "PATCH"))
block_detail = audited(BlockDetailView, Action.VIEW, Category.CLINICAL)
ablation_detail = audited(AblationDetailView, Action.VIEW, Category.CLINICAL)
follow_up_detail = audited(FollowUpDetailView, Action.VIEW, Category.SURVEY)
follow_up_answers = FollowUpAnswersView.as_view()  # writes only: the change history records the answers
