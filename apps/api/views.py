"""The REST API, version 1. Each view calls the selectors and services of the page that shows or edits the same
thing, checks the same permission, and writes the same access event (apps.audit.decorators.audit_access) for
every read of patient data."""

from __future__ import annotations

from django import forms
from django.db import transaction
from django.forms.models import model_to_dict
from django.utils import timezone
from django.utils.html import strip_tags
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.roles import CLINICAL, CONFIGURE, OUTCOMES
from apps.adverse_events.selectors import adverse_event_get
from apps.adverse_events.services import adverse_event_create
from apps.audit.decorators import audit_access
from apps.audit.models import Action, Category
from apps.blocks.selectors import block_get
from apps.clinic.selectors import protocol_for, protocols_for
from apps.cryoablations.models import Kind
from apps.cryoablations.selectors import ablation_get, follow_up_get, follow_up_rows, with_repeated_by
from apps.instruments.services import instrument_answer_record
from apps.medications.services import medication_statement_create
from apps.patients.forms import PatientForm
from apps.patients.models import Patient
from apps.patients.selectors import patient_get_or_404, patient_search, visible_to
from apps.patients.services import patient_create, patient_update
from apps.patients.views import PAGE_SIZE
from apps.registry.forms import RegistryUploadForm
from apps.registry.services import registry_upload_import
from apps.reports.outcomes import outcomes_compute
from apps.reports.selectors import outcome_site_ids
from apps.surveys.forms import FollowUpAnswersForm
from apps.surveys.services import response_record

from .etags import ETAG_PATTERN, IF_MATCH_PATTERN, etag_of, if_match_check
from .filters import (
    AblationQuery,
    AdverseEventQuery,
    BlockQuery,
    FollowUpListQuery,
    InstrumentAnswerQuery,
    MedicationStatementQuery,
    OutcomesQuery,
    PatientQuery,
    TreatmentQuery,
    query_of,
)
from .selectors import (
    ablation_list,
    adverse_event_list,
    block_list,
    follow_up_list,
    instrument_answer_list,
    medication_statement_list,
    treatment_get,
    treatment_list,
)
from .serializers import (
    AblationSerializer,
    AblationSummarySerializer,
    AdverseEventSerializer,
    AdverseEventWriteSerializer,
    BlockSerializer,
    BlockSummarySerializer,
    FollowUpAnswersWriteSerializer,
    FollowUpSerializer,
    ImportRequestSerializer,
    ImportResultSerializer,
    InstrumentAnswerSerializer,
    InstrumentAnswerWriteSerializer,
    MedicationStatementSerializer,
    MedicationStatementWriteSerializer,
    OutcomesReportSerializer,
    PatientSerializer,
    PatientWriteSerializer,
    SurveyAnswerSerializer,
    TreatmentSerializer,
    TreatmentSummarySerializer,
)

ETAG_HEADER = OpenApiParameter(
    "ETag",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=True,
    pattern=ETAG_PATTERN,
    response=[200, 201],
    description="Send it back in If-Match to update the record.",
)
IF_MATCH = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=True,
    pattern=IF_MATCH_PATTERN,
    description="The ETag of your last read.",
)
LOCATION_HEADER = OpenApiParameter(
    "Location",
    OpenApiTypes.URI,
    OpenApiParameter.HEADER,
    required=True,
    response=[201],
    description="The new record's address.",
)
VALIDATION_ERROR = OpenApiResponse(description="Invalid fields: {field: [messages]}")
NOT_FOUND = OpenApiResponse(description="No such record")
# A list's bad query parameter (named in the answer), or a page past the last.
LIST_ERRORS = {400: VALIDATION_ERROR, 404: OpenApiResponse(description="No such page")}


class Pagination(PageNumberPagination):
    page_size = PAGE_SIZE
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_page_size(self, request) -> int:
        """A page_size that is not a whole number from 1 to max_page_size is refused (400), not silently replaced."""
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        try:
            size = int(raw)
        except ValueError:
            size = 0
        if not 1 <= size <= self.max_page_size:
            raise exceptions.ValidationError({"page_size": [f"A whole number from 1 to {self.max_page_size}."]})
        return size

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_query_param:
                parameter["schema"]["minimum"] = 1
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update(minimum=1, maximum=self.max_page_size, default=self.page_size)
        return parameters


def form_errors(form) -> dict[str, list[str]]:
    """A page form's errors as {field: [messages]} (plain text: the pages' messages may hold links)."""
    errors = {}
    for field, messages in form.errors.items():
        errors["non_field_errors" if field == "__all__" else field] = [strip_tags(m) for m in messages]
    return errors


def _json_type_problem(field: forms.Field, value, *, nullable: bool) -> str | None:
    """Why a JSON value cannot be a field's, or None. A page's form reads every value as text, so without this a
    list would be stored as its Python text (`["x"]` as "['X']"), a number as a date would fail with a 500, and any
    text but "false" would be a yes. What each field takes is what the request body's schema says (`nullable`)."""
    if value is None:
        return None if nullable else "This field may not be null."
    if isinstance(value, list | dict):
        return f"Send a single value, not {'a list' if isinstance(value, list) else 'an object'}."
    if isinstance(field, forms.BooleanField):
        ok = isinstance(value, bool)
        expected = "true or false (a JSON boolean)"
    elif isinstance(field, forms.IntegerField | forms.DecimalField | forms.FloatField | forms.TypedChoiceField) or (
        # A record chosen by its id (a patient's site).
        isinstance(field, forms.ModelChoiceField) and field.to_field_name is None
    ):
        # A typed choice (a 0-10 score) takes its number; a choice of text refuses a number as no choice.
        ok = isinstance(value, int | float | str) and not isinstance(value, bool)
        expected = "a number"
    else:
        ok = isinstance(value, str)
        expected = "text (a JSON string)"
    return None if ok else f"Send {expected}."


def validated_form(form_class, data, *, body, current: dict | None = None, **kwargs):
    """The page's form, bound to the JSON object sent (laid over `current`, the record's values, for an update);
    400 naming each field whose value is of the wrong JSON type (as `body`, the request body's schema serializer,
    declares it: null only where it allows null) or that the form refuses."""
    if not isinstance(data, dict):
        raise exceptions.ValidationError({"non_field_errors": ["Send a JSON object."]})
    fields = form_class.base_fields
    declared = body().fields
    # A field the body does not declare is named, not ignored: a misspelt or read-only field would otherwise look
    # saved (the schema says `additionalProperties: false`).
    unknown = {
        name: ["Not a field of this request (or one that cannot be changed)."] for name in data if name not in declared
    }
    if unknown:
        raise exceptions.ValidationError(unknown)
    problems = {
        name: [problem]
        for name, value in data.items()
        if name in fields
        and (
            problem := _json_type_problem(fields[name], value, nullable=name in declared and declared[name].allow_null)
        )
    }
    if problems:
        raise exceptions.ValidationError(problems)
    form = form_class({**(current or {}), **data}, **kwargs)
    if not form.is_valid():
        raise exceptions.ValidationError(form_errors(form))
    return form


def _serializer_json_type_problem(field: serializers.Field, value) -> str | None:
    """As _json_type_problem, for a body that a serializer checks (no page form takes it): DRF would read 1 as a
    boolean, a number as text and an integer as a UUID."""
    if value is None:
        return None if field.allow_null else "This field may not be null."
    if isinstance(field, serializers.DictField):
        # An instrument's answers: an object of whole numbers by item (the numbers' ranges are its definition's).
        if not isinstance(value, dict):
            return "Send an object of item and answer value."
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in value.values()):
            return "Send each answer as a whole number (a JSON number)."
        return None
    if isinstance(value, list | dict):
        return f"Send a single value, not {'a list' if isinstance(value, list) else 'an object'}."
    if isinstance(field, serializers.BooleanField):
        ok, expected = isinstance(value, bool), "true or false (a JSON boolean)"
    elif isinstance(field, serializers.IntegerField | serializers.DecimalField | serializers.FloatField):
        ok, expected = isinstance(value, int | float) and not isinstance(value, bool), "a number"
    else:
        ok, expected = isinstance(value, str), "text (a JSON string)"
    return None if ok else f"Send {expected}."


def validated_body(body, data, *, user) -> dict:
    """The JSON object sent, checked by the serializer `body` (its fields' JSON types first, each bad one named, and
    a field it does not declare named too, as validated_form does); 400 naming each bad field."""
    if not isinstance(data, dict):
        raise exceptions.ValidationError({"non_field_errors": ["Send a JSON object."]})
    fields = body().fields
    unknown = {
        name: ["Not a field of this request (or one that cannot be changed)."] for name in data if name not in fields
    }
    if unknown:
        raise exceptions.ValidationError(unknown)
    problems = {
        name: [problem]
        for name, value in data.items()
        if (problem := _serializer_json_type_problem(fields[name], value))
    }
    if problems:
        raise exceptions.ValidationError(problems)
    serializer = body(data=data, context={"user": user})  # its ids name records `user` may see
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def with_etag(data, *, status_code: int = status.HTTP_200_OK, headers=None) -> Response:
    return Response(data, status=status_code, headers={"ETag": etag_of(data), **(headers or {})})


class PatientListView(APIView):
    pagination_class = Pagination  # also tells the schema that the answer is a page
    required_perms = {"GET": CLINICAL, "POST": "patients.add_patient"}

    @extend_schema(parameters=[PatientQuery], responses={200: PatientSerializer(many=True), **LIST_ERRORS})
    def get(self, request):
        params = query_of(PatientQuery, request)
        query = params.get("q", "")
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(
            patient_search(user=request.user, query=query, ordering=params["ordering"]), request, view=self
        )
        request.audit.subject(None, action=Action.SEARCH if query else Action.LIST, query=query)
        request.audit.detail["listed"] = [p.pk for p in page]
        return paginator.get_paginated_response(PatientSerializer(page, many=True).data)

    @extend_schema(
        request=PatientWriteSerializer,
        responses={201: PatientSerializer, 400: VALIDATION_ERROR},
        parameters=[ETAG_HEADER, LOCATION_HEADER],
    )
    def post(self, request):
        form = validated_form(PatientForm, request.data, body=PatientWriteSerializer, user=request.user)
        patient = patient_create(consent_taken_by=request.user, **form.cleaned_data)
        return with_etag(
            PatientSerializer(patient).data,
            status_code=status.HTTP_201_CREATED,
            headers={"Location": request.build_absolute_uri(f"{patient.public_id}/")},
        )


class PatientDetailView(APIView):
    required_perms = {"GET": CLINICAL, "PATCH": "patients.change_patient"}

    @extend_schema(responses={200: PatientSerializer, 404: NOT_FOUND}, parameters=[ETAG_HEADER])
    def get(self, request, public_id):
        patient = patient_get_or_404(public_id=public_id, user=request.user)
        request.audit.subject(patient)
        return with_etag(PatientSerializer(patient).data)

    @extend_schema(
        request=PatientWriteSerializer,
        responses={
            200: PatientSerializer,
            400: VALIDATION_ERROR,
            404: NOT_FOUND,
            412: OpenApiResponse(description="Changed since your read"),
            428: OpenApiResponse(description="If-Match missing"),
        },
        parameters=[IF_MATCH, ETAG_HEADER],
    )
    def patch(self, request, public_id):
        """Change some fields; the others keep their values. Needs the ETag of your last read in If-Match."""
        found = patient_get_or_404(public_id=public_id, user=request.user)
        with transaction.atomic():
            # Locked from the check to the write, so two requests with the same ETag cannot both pass.
            patient = Patient.objects.select_for_update().get(pk=found.pk)
            if_match_check(request, etag_of(PatientSerializer(patient).data))
            current = model_to_dict(patient, fields=PatientForm.Meta.fields)
            form = validated_form(
                PatientForm,
                request.data,
                body=PatientWriteSerializer,
                current=current,
                instance=patient,
                user=request.user,
            )
            patient_update(patient=patient, consent_taken_by=request.user, **form.cleaned_data)
        request.audit.subject(patient)
        return with_etag(PatientSerializer(patient).data)


class BlockDetailView(APIView):
    required_perms = {"GET": "blocks.view_diagnosticblock"}

    @extend_schema(responses={200: BlockSerializer, 404: NOT_FOUND})
    def get(self, request, public_id):
        block = block_get(public_id=public_id, user=request.user)
        request.audit.subject(block)
        protocol = protocol_for(block.patient.site_id)
        data = {"block": block, "assessment": block.assess(protocol), "diary": block.diary_rows(protocol)}
        return Response(BlockSerializer(data).data)


class AblationDetailView(APIView):
    required_perms = {"GET": "cryoablations.view_cryoablation"}

    @extend_schema(responses={200: AblationSerializer, 404: NOT_FOUND})
    def get(self, request, public_id):
        ablation = ablation_get(public_id=public_id, user=request.user)
        if ablation.kind != Kind.CRYOABLATION:
            # Version 1's ablations are cryoablations: a treatment of another kind is at /api/v1/treatments/{id}/.
            raise exceptions.NotFound("No such ablation: a treatment of another kind is under /api/v1/treatments/.")
        request.audit.subject(ablation)
        rows = follow_up_rows(
            follow_ups=list(ablation.follow_ups.select_related("ablation", "counted_response", "superseded_by")),
            today=timezone.localdate(),
        )
        return Response(AblationSerializer({"ablation": ablation, "follow_ups": rows}).data)


class FollowUpDetailView(APIView):
    required_perms = {"GET": "cryoablations.view_followup"}

    @extend_schema(responses={200: FollowUpSerializer, 404: NOT_FOUND})
    def get(self, request, public_id):
        follow_up = follow_up_get(public_id=public_id, user=request.user)
        request.audit.subject(follow_up, patient=follow_up.ablation.patient)
        [row] = follow_up_rows(follow_ups=[follow_up], today=timezone.localdate())
        return Response(FollowUpSerializer(row).data)


class FollowUpAnswersView(APIView):
    """Answers taken down by staff (phone call or clinic visit), as on the follow-up's answers page."""

    required_perms = {"POST": "surveys.add_surveyresponse"}

    @extend_schema(
        request=FollowUpAnswersWriteSerializer,
        responses={201: SurveyAnswerSerializer, 400: VALIDATION_ERROR, 404: NOT_FOUND},
    )
    def post(self, request, public_id):
        follow_up = follow_up_get(public_id=public_id, user=request.user)
        form = validated_form(
            FollowUpAnswersForm, request.data, body=FollowUpAnswersWriteSerializer, follow_up=follow_up
        )
        response = response_record(ablation=follow_up.ablation, recorded_by=request.user, **form.cleaned_data)
        return Response(SurveyAnswerSerializer(response).data, status=status.HTTP_201_CREATED)


class BlockListView(APIView):
    pagination_class = Pagination  # also tells the schema that the answer is a page
    required_perms = {"GET": "blocks.view_diagnosticblock"}

    @extend_schema(parameters=[BlockQuery], responses={200: BlockSummarySerializer(many=True), **LIST_ERRORS})
    def get(self, request):
        paginator = self.pagination_class()
        blocks = visible_to(block_list(**query_of(BlockQuery, request)), user=request.user)
        page = paginator.paginate_queryset(blocks, request, view=self)
        request.audit.subject(None, listed=sorted({b.patient_id for b in page}))
        protocols = protocols_for({block.patient.site_id for block in page})
        rows = [{"block": block, "assessment": block.assess(protocols[block.patient.site_id])} for block in page]
        return paginator.get_paginated_response(BlockSummarySerializer(rows, many=True).data)


class AblationListView(APIView):
    pagination_class = Pagination  # also tells the schema that the answer is a page
    required_perms = {"GET": "cryoablations.view_cryoablation"}

    @extend_schema(parameters=[AblationQuery], responses={200: AblationSummarySerializer(many=True), **LIST_ERRORS})
    def get(self, request):
        paginator = self.pagination_class()
        ablations = visible_to(ablation_list(**query_of(AblationQuery, request)), user=request.user)
        page = paginator.paginate_queryset(ablations, request, view=self)
        request.audit.subject(None, listed=sorted({a.patient_id for a in page}))
        rows = [{"ablation": ablation} for ablation in page]
        return paginator.get_paginated_response(AblationSummarySerializer(rows, many=True).data)


class FollowUpListView(APIView):
    pagination_class = Pagination  # also tells the schema that the answer is a page
    required_perms = {"GET": "cryoablations.view_followup"}

    @extend_schema(parameters=[FollowUpListQuery], responses={200: FollowUpSerializer(many=True), **LIST_ERRORS})
    def get(self, request):
        today = timezone.localdate()
        paginator = self.pagination_class()
        follow_ups = visible_to(
            follow_up_list(today=today, **query_of(FollowUpListQuery, request)),
            user=request.user,
        )
        page = paginator.paginate_queryset(follow_ups, request, view=self)
        request.audit.subject(None, listed=sorted({f.ablation.patient_id for f in page}))
        rows = follow_up_rows(follow_ups=page, today=today)
        return paginator.get_paginated_response(FollowUpSerializer(rows, many=True).data)


class TreatmentListView(APIView):
    pagination_class = Pagination  # also tells the schema that the answer is a page
    required_perms = {"GET": "cryoablations.view_cryoablation"}

    @extend_schema(parameters=[TreatmentQuery], responses={200: TreatmentSummarySerializer(many=True), **LIST_ERRORS})
    def get(self, request):
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(
            with_repeated_by(visible_to(treatment_list(**query_of(TreatmentQuery, request)), user=request.user)),
            request,
            view=self,
        )
        request.audit.subject(None, listed=sorted({t.patient_id for t in page}))
        rows = [{"treatment": treatment} for treatment in page]
        return paginator.get_paginated_response(TreatmentSummarySerializer(rows, many=True).data)


class TreatmentDetailView(APIView):
    required_perms = {"GET": "cryoablations.view_cryoablation"}

    @extend_schema(responses={200: TreatmentSerializer, 404: NOT_FOUND})
    def get(self, request, public_id):
        treatment = treatment_get(public_id=public_id, user=request.user)
        request.audit.subject(treatment)
        rows = follow_up_rows(
            follow_ups=list(treatment.follow_ups.select_related("ablation", "counted_response", "superseded_by")),
            today=timezone.localdate(),
        )
        return Response(TreatmentSerializer({"treatment": treatment, "follow_ups": rows}).data)


class AdverseEventListView(APIView):
    pagination_class = Pagination  # also tells the schema that the answer is a page
    required_perms = {"GET": "adverse_events.view_adverseevent", "POST": "adverse_events.add_adverseevent"}

    @extend_schema(parameters=[AdverseEventQuery], responses={200: AdverseEventSerializer(many=True), **LIST_ERRORS})
    def get(self, request):
        paginator = self.pagination_class()
        events = visible_to(adverse_event_list(**query_of(AdverseEventQuery, request)), user=request.user)
        page = paginator.paginate_queryset(events, request, view=self)
        request.audit.subject(None, listed=sorted({e.patient.pk for e in page}))
        return paginator.get_paginated_response(AdverseEventSerializer(page, many=True).data)

    @extend_schema(
        request=AdverseEventWriteSerializer,
        responses={201: AdverseEventSerializer, 400: VALIDATION_ERROR},
        parameters=[LOCATION_HEADER],
    )
    def post(self, request):
        """Record an adverse event on a treatment or a block, as staff do on its page; 400 naming each bad field
        (an unknown category, a date before the procedure...), nothing written."""
        data = validated_body(AdverseEventWriteSerializer, request.data, user=request.user)
        event = adverse_event_create(recorded_by=request.user, **data)
        return Response(
            AdverseEventSerializer(event).data,
            status=status.HTTP_201_CREATED,
            headers={"Location": request.build_absolute_uri(f"{event.public_id}/")},
        )


class AdverseEventDetailView(APIView):
    required_perms = {"GET": "adverse_events.view_adverseevent"}

    @extend_schema(responses={200: AdverseEventSerializer, 404: NOT_FOUND})
    def get(self, request, public_id):
        event = adverse_event_get(public_id=public_id, user=request.user)
        request.audit.subject(event, patient=event.patient)
        return Response(AdverseEventSerializer(event).data)


class MedicationStatementListView(APIView):
    pagination_class = Pagination  # also tells the schema that the answer is a page
    required_perms = {
        "GET": "medications.view_medicationstatement",
        "POST": "medications.add_medicationstatement",
    }

    @extend_schema(
        parameters=[MedicationStatementQuery], responses={200: MedicationStatementSerializer(many=True), **LIST_ERRORS}
    )
    def get(self, request):
        paginator = self.pagination_class()
        statements = visible_to(
            medication_statement_list(**query_of(MedicationStatementQuery, request)), user=request.user
        )
        page = paginator.paginate_queryset(statements, request, view=self)
        request.audit.subject(None, listed=sorted({s.patient_id for s in page}))
        return paginator.get_paginated_response(MedicationStatementSerializer(page, many=True).data)

    @extend_schema(
        request=MedicationStatementWriteSerializer,
        responses={201: MedicationStatementSerializer, 400: VALIDATION_ERROR},
    )
    def post(self, request):
        """Record an opioid on a patient's list, as staff do on the patient page; 400 naming each bad field (a dose
        of 0 or less, a stop before the start, an unknown opioid), nothing written."""
        data = validated_body(MedicationStatementWriteSerializer, request.data, user=request.user)
        statement = medication_statement_create(recorded_by=request.user, **data)
        request.audit.subject(statement, patient=statement.patient)
        return Response(MedicationStatementSerializer(statement).data, status=status.HTTP_201_CREATED)


class InstrumentAnswerListView(APIView):
    pagination_class = Pagination  # also tells the schema that the answer is a page
    required_perms = {
        "GET": "instruments.view_instrumentanswer",
        "POST": "instruments.add_instrumentanswer",
    }

    @extend_schema(
        parameters=[InstrumentAnswerQuery], responses={200: InstrumentAnswerSerializer(many=True), **LIST_ERRORS}
    )
    def get(self, request):
        paginator = self.pagination_class()
        answers = visible_to(
            instrument_answer_list(**query_of(InstrumentAnswerQuery, request)),
            user=request.user,
        )
        page = paginator.paginate_queryset(answers, request, view=self)
        request.audit.subject(None, listed=sorted({a.treatment.patient_id for a in page}))
        return paginator.get_paginated_response(InstrumentAnswerSerializer(page, many=True).data)

    @extend_schema(
        request=InstrumentAnswerWriteSerializer,
        responses={201: InstrumentAnswerSerializer, 400: VALIDATION_ERROR},
    )
    def post(self, request):
        """Record a patient's answers to an instrument about a treatment, scored with the instrument's current
        version; 400 naming each bad field (an unknown instrument, an answer out of its item's range as
        `answers.<item>`, a missing item), nothing written."""
        data = validated_body(InstrumentAnswerWriteSerializer, request.data, user=request.user)
        answer = instrument_answer_record(recorded_by=request.user, **data)
        request.audit.subject(answer, patient=answer.treatment.patient)
        return Response(InstrumentAnswerSerializer(answer).data, status=status.HTTP_201_CREATED)


class OutcomesReportView(APIView):
    """The outcomes report of docs/data-exchange.md: exactly `manage.py outcomes_report --format json`."""

    required_perms = {"GET": OUTCOMES}

    @extend_schema(parameters=[OutcomesQuery], responses={200: OutcomesReportSerializer, 400: VALIDATION_ERROR})
    def get(self, request):
        params = query_of(OutcomesQuery, request)
        report = outcomes_compute(
            as_of=params.get("as_of"),
            threshold=params.get("threshold"),
            date_from=params.get("date_from"),
            date_to=params.get("date_to"),
            physician_id=params.get("physician_id"),
            nerve_id=params.get("nerve_id"),
            side=params.get("side"),
            kind=params.get("kind"),
            site_ids=outcome_site_ids(request.user),
        )
        request.audit.subject(None, filters=request.GET.urlencode()[:500])
        return Response(report.to_json())


class RegistryImportView(APIView):
    """The registry import of the admin page (apps.registry.views): the same upload check and the same service."""

    required_perms = {"POST": CONFIGURE}
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        request={"multipart/form-data": ImportRequestSerializer},
        responses={
            200: ImportResultSerializer,
            400: OpenApiResponse(
                ImportResultSerializer,
                description="Refused, nothing written: the import's result with every problem listed, or "
                "{field: [messages]} when the upload itself is wrong (no files, an unknown file name, a bad zip).",
            ),
        },
    )
    def post(self, request):
        form = RegistryUploadForm(request.POST, request.FILES)
        options = ImportRequestSerializer(data={"dry_run": request.POST.get("dry_run", False)}, partial=True)
        # Both checked before either is used: every bad part is named at once, and an invalid file never leaves the
        # options unchecked (reading their errors then was a 500).
        form_ok, options_ok = form.is_valid(), options.is_valid()
        if not (form_ok and options_ok):
            request.audit.not_shown()
            raise exceptions.ValidationError({**form_errors(form), **options.errors})
        upload = registry_upload_import(
            files=form.cleaned_data["files"],
            user=request.user,
            site=form.cleaned_data.get("site"),
            dry_run=options.validated_data["dry_run"],
        )
        if upload.result is None:
            request.audit.not_shown()
            raise exceptions.ValidationError({"files": [upload.error]})
        result = upload.result
        request.audit.subject(result.run)
        code = status.HTTP_200_OK if result.ok else status.HTTP_400_BAD_REQUEST
        return Response(ImportResultSerializer(result).data, status=code)


def audited(view_class, action: Action, category: Category, *, object_type: str = "", methods=("GET",)):
    """The view, writing one access event per successful read (GET) through the pages' decorator."""
    return audit_access(action, category, object_type=object_type, methods=methods)(view_class.as_view())


patient_list_view = audited(PatientListView, Action.LIST, Category.DEMOGRAPHICS, object_type="patient_list")
# An update answers with the whole record (fields not sent included): logged as a read too.
patient_detail = audited(PatientDetailView, Action.VIEW, Category.DEMOGRAPHICS, methods=("GET", "PATCH"))
block_detail = audited(BlockDetailView, Action.VIEW, Category.CLINICAL)
ablation_detail = audited(AblationDetailView, Action.VIEW, Category.CLINICAL)
follow_up_detail = audited(FollowUpDetailView, Action.VIEW, Category.SURVEY)
follow_up_answers = FollowUpAnswersView.as_view()  # writes only: the change history records the answers
block_list_view = audited(BlockListView, Action.LIST, Category.CLINICAL, object_type="block_list")
ablation_list_view = audited(AblationListView, Action.LIST, Category.CLINICAL, object_type="ablation_list")
follow_up_list_view = audited(FollowUpListView, Action.LIST, Category.CLINICAL, object_type="follow_up_list")
treatment_list_view = audited(TreatmentListView, Action.LIST, Category.CLINICAL, object_type="treatment_list")
treatment_detail = audited(TreatmentDetailView, Action.VIEW, Category.CLINICAL)
# A create answers with what was sent; the change history records it.
adverse_event_list_view = audited(
    AdverseEventListView, Action.LIST, Category.CLINICAL, object_type="adverse_event_list"
)
adverse_event_detail = audited(AdverseEventDetailView, Action.VIEW, Category.CLINICAL)
medication_statement_list_view = audited(
    MedicationStatementListView, Action.LIST, Category.CLINICAL, object_type="medication_statement_list"
)
instrument_answer_list_view = audited(
    InstrumentAnswerListView, Action.LIST, Category.CLINICAL, object_type="instrument_answer_list"
)
# As the dashboard page writes it (apps.reports.views.dashboard).
outcomes_report = audited(OutcomesReportView, Action.VIEW, Category.REPORT, object_type="outcomes_report")
# As the admin import page: a problem's message may quote a cell of the files, so a refusal that lists problems is
# logged too.
registry_import_view = audit_access(
    Action.VIEW, Category.CLINICAL, object_type="registry_upload", methods=("POST",), statuses=(200, 400)
)(RegistryImportView.as_view())
