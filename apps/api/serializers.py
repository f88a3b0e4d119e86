"""What the API sends back. Requests are validated by the pages' own forms (one copy of each rule); these
serializers shape the responses and describe both in the OpenAPI schema."""

from __future__ import annotations

from typing import Any, cast
from uuid import UUID

from django.db import models
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.adverse_events.models import Category as AdverseEventCategory
from apps.adverse_events.models import Relatedness, Severity
from apps.blocks.models import DiagnosticBlock
from apps.clinic.models import Site
from apps.cryoablations.models import DETAILS, KIND_DETAILS, TEXT_DETAILS, Cryoablation, Kind
from apps.instruments.models import CollectedVia as AnswerVia
from apps.medications.models import Opioid
from apps.patients.forms import PatientForm, timezone_choices
from apps.patients.models import Patient
from apps.patients.selectors import patients_visible_to, visible_to


def _person(user) -> str:
    return user.get_full_name() or user.get_username()


SITE_HELP = "The site's id (the number of the site in the admin's list of sites)."


class PatientSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    site: serializers.PrimaryKeyRelatedField = serializers.PrimaryKeyRelatedField(read_only=True, help_text=SITE_HELP)

    class Meta:
        model = Patient
        fields = [
            "id",
            *PatientForm.Meta.fields,
            "opted_out_at",
            "email_undeliverable_at",
            "phone_invalid_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["opted_out_at", "email_undeliverable_at", "phone_invalid_at", "created_at", "updated_at"]


class PatientWriteSerializer(serializers.ModelSerializer):
    """The request body of create and update (schema only: PatientForm validates it)."""

    mobile_phone = serializers.CharField(
        max_length=32, required=False, allow_blank=True, help_text="Any form; stored in E.164."
    )
    # Null is refused as for every field; an empty string withdraws the consent (the form's empty date).
    sms_consent_on = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="The day the patient agreed to SMS (YYYY-MM-DD), recorded with the caller as the one who took it "
        "and the wording's current version; empty: no SMS consent.",
    )
    # The zones the form offers, as an enum: the schema refuses what the server refuses.
    timezone = serializers.ChoiceField(
        choices=timezone_choices(),
        required=PatientForm.base_fields["timezone"].required,
        help_text="An IANA time zone.",
    )

    site: serializers.PrimaryKeyRelatedField = serializers.PrimaryKeyRelatedField(
        queryset=Site.objects.all(),
        required=False,
        help_text=SITE_HELP + " Required in a network of sites, where it must be an active site you are a member of; "
        "a single clinic's patients need none (they are at its only site).",
    )

    class Meta:
        model = Patient
        fields = PatientForm.Meta.fields
        # Required as the form requires them (a model default does not make the form's field optional): the
        # schema then tells clients what a create must send.
        extra_kwargs = {name: {"required": field.required} for name, field in PatientForm.base_fields.items()}


class DiaryRowSerializer(serializers.Serializer):
    minutes_after = serializers.IntegerField(source="entry.minutes_after")
    nrs = serializers.IntegerField(source="entry.nrs")
    # Declared fields: the serializer's metaclass moves them into _declared_fields; they never hide Field.source.
    source = serializers.CharField(source="entry.source")  # type: ignore[assignment]
    reduction_percent = serializers.DecimalField(max_digits=6, decimal_places=1, allow_null=True)
    counted = serializers.BooleanField(help_text="Inside the protocol's evaluation window.")


class BlockSummarySerializer(serializers.Serializer):
    """A block in a list: its fields and result, without the diary."""

    id = serializers.UUIDField(source="block.public_id")
    patient = serializers.UUIDField(source="block.patient.public_id")
    performed_at = serializers.DateTimeField(source="block.performed_at")
    physician = serializers.SerializerMethodField()
    nerve = serializers.CharField(source="block.nerve.code")
    side = serializers.CharField(source="block.side")
    guidance = serializers.CharField(source="block.guidance")
    needle = serializers.CharField(source="block.needle")
    needle_gauge = serializers.IntegerField(source="block.needle_gauge", allow_null=True)
    drug = serializers.CharField(source="block.drug")
    concentration_percent = serializers.DecimalField(
        source="block.concentration_percent", max_digits=5, decimal_places=2, allow_null=True
    )
    volume_ml = serializers.DecimalField(source="block.volume_ml", max_digits=5, decimal_places=2, allow_null=True)
    baseline_nrs = serializers.IntegerField(source="block.baseline_nrs")
    suspected_diagnosis = serializers.CharField(source="block.suspected_diagnosis")
    trigger_point_cm_from_midline = serializers.DecimalField(
        source="block.trigger_point_cm_from_midline", max_digits=4, decimal_places=1, allow_null=True
    )
    trigger_point_mm_caudal_to_psis = serializers.DecimalField(
        source="block.trigger_point_mm_caudal_to_psis", max_digits=5, decimal_places=1, allow_null=True
    )
    tinel_sign = serializers.BooleanField(source="block.tinel_sign", allow_null=True)
    worse_with_posture = serializers.BooleanField(source="block.worse_with_posture", allow_null=True)
    compression_symptoms = serializers.BooleanField(source="block.compression_symptoms", allow_null=True)
    notes = serializers.CharField(source="block.notes")
    result = serializers.CharField(source="assessment.result", help_text="Under the clinic's protocol.")
    peak_relief_percent = serializers.DecimalField(
        source="assessment.peak_relief_percent", max_digits=6, decimal_places=1, allow_null=True
    )

    def get_physician(self, obj) -> str:
        return _person(obj["block"].physician)


class BlockSerializer(BlockSummarySerializer):
    diary = DiaryRowSerializer(many=True)


class SurveyAnswerSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    completed_at = serializers.DateTimeField()
    pain_average = serializers.IntegerField()
    pain_current = serializers.IntegerField(allow_null=True)
    pain_worst = serializers.IntegerField(allow_null=True)
    percent_relief = serializers.IntegerField(allow_null=True)
    pgic = serializers.IntegerField(allow_null=True)
    collected_via = serializers.CharField()


class FollowUpRowSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="follow_up.public_id")
    time_point = serializers.CharField(source="follow_up.time_point")
    label = serializers.CharField(source="follow_up.label")  # type: ignore[assignment]  # as source, above
    target_date = serializers.DateField(source="follow_up.target_date")
    window_start = serializers.DateField(source="follow_up.window_start")
    window_end = serializers.DateField(source="follow_up.window_end")
    status = serializers.CharField()
    response = SurveyAnswerSerializer(allow_null=True, help_text="The answer this follow-up is judged by.")
    reduction_percent = serializers.DecimalField(max_digits=6, decimal_places=1, allow_null=True)
    superseded_by = serializers.UUIDField(
        source="follow_up.superseded_by.public_id",
        allow_null=True,
        help_text="The repeat treatment that supersedes this time point (status `superseded`: no answer counts, no "
        "reminder), or null.",
    )


class FollowUpSerializer(FollowUpRowSerializer):
    ablation = serializers.UUIDField(source="follow_up.ablation.public_id", help_text="The same as `treatment`.")
    treatment = serializers.UUIDField(source="follow_up.ablation.public_id", help_text="The treatment followed up.")
    patient = serializers.UUIDField(source="follow_up.ablation.patient.public_id")


class FollowUpAnswersWriteSerializer(serializers.Serializer):
    """The request body of answers taken down by staff (schema only: the page's FollowUpAnswersForm validates it)."""

    completed_at = serializers.DateTimeField(help_text="Inside the follow-up's window.")
    collected_via = serializers.ChoiceField(choices=["phone", "clinic"])
    pain_average = serializers.IntegerField(min_value=0, max_value=10)
    pain_current = serializers.IntegerField(min_value=0, max_value=10, required=False, allow_null=True)
    pain_worst = serializers.IntegerField(min_value=0, max_value=10, required=False, allow_null=True)
    percent_relief = serializers.IntegerField(min_value=0, max_value=100, required=False, allow_null=True)
    pgic = serializers.IntegerField(min_value=1, max_value=7, required=False, allow_null=True)
    new_problem = serializers.BooleanField(
        required=False, allow_null=True, help_text="Any new problem since the procedure? A yes goes on the staff queue."
    )
    new_problem_text = serializers.CharField(
        required=False, allow_blank=True, max_length=2000, help_text="The new problem, in the patient's words."
    )


class AblationSummarySerializer(serializers.Serializer):
    """An ablation in a list, without its follow-ups."""

    id = serializers.UUIDField(source="ablation.public_id")
    patient = serializers.UUIDField(source="ablation.patient.public_id")
    performed_on = serializers.DateField(source="ablation.performed_on")
    physician = serializers.SerializerMethodField()
    nerve = serializers.CharField(source="ablation.nerve.code")
    side = serializers.CharField(source="ablation.side")
    device = serializers.CharField(source="ablation.device")
    probe = serializers.CharField(source="ablation.probe")
    cycles = serializers.IntegerField(source="ablation.cycles", allow_null=True)
    freeze_seconds = serializers.IntegerField(source="ablation.freeze_seconds", allow_null=True)
    guidance = serializers.CharField(source="ablation.guidance")
    baseline_nrs = serializers.IntegerField(source="ablation.baseline_nrs")
    complications = serializers.CharField(source="ablation.complications")
    qualifying_block = serializers.UUIDField(source="ablation.qualifying_block.public_id", allow_null=True)
    qualifying_source = serializers.CharField(source="ablation.qualifying_source")

    def get_physician(self, obj) -> str:
        return _person(obj["ablation"].physician)


class AblationSerializer(AblationSummarySerializer):
    follow_ups = FollowUpRowSerializer(many=True)


class EmptyAsNullCharField(serializers.CharField):
    """A text detail: stored as "" when not recorded, sent as null like the other details."""

    def to_representation(self, value) -> str | None:  # type: ignore[override]  # null is the point
        return value or None


def _kinds_recording(name: str) -> str:
    return ", ".join(str(kind) for kind, details in KIND_DETAILS.items() if name in details)


def _detail_field(name: str) -> serializers.Field:
    """A treatment detail as the model declares it, null unless the treatment's kind records it (KIND_DETAILS)."""
    model_field = cast(models.Field, Cryoablation._meta.get_field(name))
    options: dict[str, Any] = {
        "source": f"treatment.{name}",
        "allow_null": True,
        "help_text": f"{str(model_field.verbose_name).capitalize()}. Recorded for {_kinds_recording(name)}; "
        "null for the other kinds or when not recorded.",
    }
    if name in TEXT_DETAILS:
        return EmptyAsNullCharField(**options)
    if isinstance(model_field, models.DecimalField):
        return serializers.DecimalField(
            max_digits=model_field.max_digits, decimal_places=model_field.decimal_places, **options
        )
    if isinstance(model_field, models.DateField):
        return serializers.DateField(**options)
    return serializers.IntegerField(**options)


class _TreatmentFields(serializers.Serializer):
    id = serializers.UUIDField(source="treatment.public_id")
    patient = serializers.UUIDField(source="treatment.patient.public_id")
    performed_on = serializers.DateField(source="treatment.performed_on")
    physician = serializers.SerializerMethodField()
    nerve = serializers.CharField(source="treatment.nerve.code")
    side = serializers.CharField(source="treatment.side")
    kind = serializers.ChoiceField(source="treatment.kind", choices=Kind.choices, help_text="The kind of treatment.")
    kind_label = serializers.CharField(source="treatment.get_kind_display", help_text="The kind, in words.")
    guidance = serializers.CharField(source="treatment.guidance")
    baseline_nrs = serializers.IntegerField(source="treatment.baseline_nrs")
    complications = serializers.CharField(source="treatment.complications")
    qualifying_block = serializers.UUIDField(
        source="treatment.qualifying_block.public_id",
        allow_null=True,
        help_text="The positive block this treatment follows (the qualifying-block rule's pick, or named by staff).",
    )
    qualifying_source = serializers.CharField(
        source="treatment.qualifying_source", help_text="rule, staff, or empty when there is none."
    )
    superseded_by = serializers.UUIDField(
        source="treatment.repeated_by_public_id",
        allow_null=True,
        help_text="The repeat treatment (same patient, nerve and side, later date) that supersedes this one, or null.",
    )
    repeat_on = serializers.DateField(
        source="treatment.repeat_on", allow_null=True, help_text="The date of that repeat treatment, or null."
    )

    def get_physician(self, obj) -> str:
        return _person(obj["treatment"].physician)


# The details of every kind (DETAILS, the model's one list), after the common fields.
TreatmentSummarySerializer = type(
    "TreatmentSummarySerializer",
    (_TreatmentFields,),
    {
        "__doc__": "A treatment of any kind in a list, without its follow-ups: its kind and every detail.",
        "__module__": __name__,
        **{name: _detail_field(name) for name in DETAILS},
    },
)


class TreatmentSerializer(TreatmentSummarySerializer):  # type: ignore[misc, valid-type]
    """A treatment with its follow-ups (each with its status, counted answer and superseding treatment)."""

    follow_ups = FollowUpRowSerializer(many=True)


class AdverseEventSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    patient = serializers.SerializerMethodField()
    treatment = serializers.UUIDField(
        source="treatment.public_id", allow_null=True, help_text="The treatment it is recorded on, or null."
    )
    block = serializers.UUIDField(
        source="block.public_id", allow_null=True, help_text="The block it is recorded on, or null."
    )
    occurred_on = serializers.DateField()
    category = serializers.ChoiceField(choices=AdverseEventCategory.choices)
    category_label = serializers.CharField(source="get_category_display", help_text="The category, in words.")
    severity = serializers.ChoiceField(choices=Severity.choices)
    serious = serializers.BooleanField(help_text="Death, life-threatening, hospitalisation or lasting disability.")
    relatedness = serializers.ChoiceField(choices=Relatedness.choices, help_text="Related to the procedure.")
    resolved_on = serializers.DateField(allow_null=True)
    notes = serializers.CharField()
    source_response = serializers.UUIDField(
        source="source_response.public_id",
        allow_null=True,
        help_text="The survey answer (a new problem the patient reported) it was made from, or null.",
    )
    recorded_by = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()

    @extend_schema_field(OpenApiTypes.UUID)
    def get_patient(self, obj) -> str:
        return str(obj.patient.public_id)

    def get_recorded_by(self, obj) -> str | None:
        return _person(obj.recorded_by) if obj.recorded_by_id is not None else None


class MedicationStatementSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    patient = serializers.UUIDField(source="patient.public_id")
    opioid = serializers.ChoiceField(choices=Opioid.choices)
    opioid_label = serializers.CharField(source="get_opioid_display", help_text="The opioid, in words.")
    daily_dose = serializers.DecimalField(max_digits=9, decimal_places=3, coerce_to_string=False)
    unit = serializers.CharField(help_text="mg/day, or mcg/h for a fentanyl patch.")
    started_on = serializers.DateField()
    stopped_on = serializers.DateField(allow_null=True, help_text="null while ongoing.")
    recorded_by = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()

    def get_recorded_by(self, obj) -> str | None:
        return _person(obj.recorded_by) if obj.recorded_by_id is not None else None


class MedicationStatementWriteSerializer(serializers.Serializer):
    """The request body of a new opioid statement. Its rules are the model's (apps.medications.models), checked by
    apps.medications.services.medication_statement_create: a dose above 0, no stop before the start."""

    patient = serializers.UUIDField(help_text="The patient's id.")
    opioid = serializers.ChoiceField(choices=Opioid.choices)
    daily_dose = serializers.DecimalField(
        max_digits=9, decimal_places=3, help_text="Above 0: mg a day; a fentanyl patch in mcg an hour."
    )
    started_on = serializers.DateField()
    stopped_on = serializers.DateField(
        required=False, allow_null=True, help_text="Not before started_on; omit while ongoing."
    )

    def validate_patient(self, public_id: UUID) -> Patient:
        patient = patients_visible_to(self.context["user"]).filter(public_id=public_id).first()
        if patient is None:
            raise serializers.ValidationError("No patient with this id.")
        return patient


class InstrumentAnswerSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    patient = serializers.UUIDField(source="treatment.patient.public_id")
    treatment = serializers.UUIDField(source="treatment.public_id")
    instrument = serializers.CharField(source="instrument.code", help_text="The instrument's code: peg3, phq2, ...")
    instrument_name = serializers.CharField(source="instrument.name")
    version = serializers.IntegerField(source="version.version", help_text="The definition's version it was scored by.")
    completed_at = serializers.DateTimeField()
    answers = serializers.DictField(child=serializers.IntegerField(), help_text="{item id: answer value}")
    language = serializers.CharField(help_text="The language the items were shown in.")
    score = serializers.DecimalField(
        source="score_decimal", max_digits=12, decimal_places=2, coerce_to_string=False, help_text="To 2 decimals."
    )
    standard_error = serializers.DecimalField(
        max_digits=8, decimal_places=4, coerce_to_string=False, allow_null=True, help_text="A T-score's; else null."
    )
    collected_via = serializers.ChoiceField(choices=AnswerVia.choices)
    recorded_by = serializers.SerializerMethodField()
    recorded_at = serializers.DateTimeField()

    def get_recorded_by(self, obj) -> str | None:
        return _person(obj.recorded_by) if obj.recorded_by_id is not None else None


class InstrumentAnswerWriteSerializer(serializers.Serializer):
    """The request body of a patient's answers to an instrument. Checked and scored by
    apps.instruments.services.instrument_answer_record, as the survey link, the staff form and the import do:
    a known instrument, every answer in its item's range, every item its scoring needs."""

    treatment = serializers.UUIDField(help_text="The treatment's id: the answers are about it.")
    instrument = serializers.SlugField(help_text="The instrument's code: peg3, phq2, gad2, or a loaded one's.")
    completed_at = serializers.DateTimeField(help_text="Not in the future.")
    answers = serializers.DictField(
        child=serializers.IntegerField(), allow_empty=False, help_text='{item id: answer value}, e.g. {"1": 6}.'
    )
    collected_via = serializers.ChoiceField(
        choices=[AnswerVia.STAFF, AnswerVia.PATIENT_LINK, AnswerVia.SMS_REPLY],
        default=AnswerVia.STAFF,
        help_text="How the answers were collected.",
    )

    def validate_treatment(self, public_id: UUID) -> Cryoablation:
        treatment = (
            visible_to(Cryoablation.objects.all(), user=self.context["user"]).filter(public_id=public_id).first()
        )
        if treatment is None:
            raise serializers.ValidationError("No treatment with this id.")
        return treatment


class AdverseEventWriteSerializer(serializers.Serializer):
    """The request body of a new adverse event. Its rules are the model's (apps.adverse_events.models), checked by
    apps.adverse_events.services.adverse_event_create."""

    treatment = serializers.UUIDField(
        required=False, allow_null=True, help_text="The treatment's id; send this or `block`, not both."
    )
    block = serializers.UUIDField(
        required=False, allow_null=True, help_text="The block's id; send this or `treatment`, not both."
    )
    occurred_on = serializers.DateField(help_text="Not before the procedure's date.")
    category = serializers.ChoiceField(choices=AdverseEventCategory.choices)
    severity = serializers.ChoiceField(choices=Severity.choices)
    serious = serializers.BooleanField(
        required=False, default=False, help_text="Death, life-threatening, hospitalisation or lasting disability."
    )
    relatedness = serializers.ChoiceField(choices=Relatedness.choices, help_text="Related to the procedure.")
    resolved_on = serializers.DateField(required=False, allow_null=True, help_text="Not before occurred_on.")
    notes = serializers.CharField(required=False, allow_blank=True, default="")

    def validate_treatment(self, public_id: UUID | None) -> Cryoablation | None:
        if public_id is None:
            return None
        treatments = visible_to(Cryoablation.objects.select_related("patient"), user=self.context["user"])
        treatment = treatments.filter(public_id=public_id).first()
        if treatment is None:
            raise serializers.ValidationError("No treatment with this id.")
        return treatment

    def validate_block(self, public_id: UUID | None) -> DiagnosticBlock | None:
        if public_id is None:
            return None
        blocks = visible_to(DiagnosticBlock.objects.select_related("patient"), user=self.context["user"])
        block = blocks.filter(public_id=public_id).first()
        if block is None:
            raise serializers.ValidationError("No block with this id.")
        return block

    def validate(self, data: dict) -> dict:
        if (data.get("treatment") is None) == (data.get("block") is None):
            message = "Record the event on a treatment or on a block: send the id of exactly one of the two."
            raise serializers.ValidationError({"treatment": [message], "block": [message]})
        return data


# The outcomes report (docs/data-exchange.md, "Report, version 2"), for the schema only: the view sends
# OutcomesReport.to_json() as is.
GROUP_HELP = "overall, kind:<code>, nerve:<code> or physician:<username>"


class FunnelRowSerializer(serializers.Serializer):
    group = serializers.CharField(help_text="overall, nerve:<code> or physician:<username> (no kind groups)")
    blocks = serializers.IntegerField()
    evaluable = serializers.IntegerField()
    positive = serializers.IntegerField()
    treated = serializers.IntegerField(help_text="positive blocks a treatment names as its qualifying block")
    evaluable_3m = serializers.IntegerField()
    responders_3m = serializers.IntegerField()


class ResponseRowSerializer(serializers.Serializer):
    group = serializers.CharField(help_text=GROUP_HELP)
    time_point = serializers.CharField()
    treatments = serializers.IntegerField()
    closed = serializers.IntegerField()
    superseded = serializers.IntegerField(help_text="closed time points superseded by a repeat treatment")
    evaluable = serializers.IntegerField()
    responders = serializers.IntegerField()
    responders_30 = serializers.IntegerField()
    pgic_improved = serializers.IntegerField()
    rate = serializers.FloatField(allow_null=True, help_text="responders / evaluable")
    itt_rate = serializers.FloatField(allow_null=True, help_text="responders / closed")
    ci_low = serializers.FloatField(allow_null=True, help_text="Wilson 95% interval of rate")
    ci_high = serializers.FloatField(allow_null=True)


class BandRowSerializer(serializers.Serializer):
    band = serializers.CharField()
    evaluable_3m = serializers.IntegerField()
    responders_3m = serializers.IntegerField()
    rate = serializers.FloatField(allow_null=True)


class DurabilitySerializer(serializers.Serializer):
    group = serializers.CharField(help_text=GROUP_HELP)
    treatments = serializers.IntegerField()
    events = serializers.IntegerField()
    median_days = serializers.IntegerField(allow_null=True)


class RepeatSerializer(serializers.Serializer):
    group = serializers.CharField(help_text=GROUP_HELP)
    treatments = serializers.IntegerField()
    repeated = serializers.IntegerField()
    median_days = serializers.IntegerField(allow_null=True, help_text="Kaplan-Meier median time to repeat")


class AdverseEventsRowSerializer(serializers.Serializer):
    group = serializers.CharField(help_text=GROUP_HELP)
    treatments = serializers.IntegerField()
    with_event = serializers.IntegerField()
    with_related = serializers.IntegerField()
    with_serious = serializers.IntegerField()
    rate_related = serializers.FloatField(allow_null=True, help_text="with_related / treatments")
    ci_low = serializers.FloatField(allow_null=True, help_text="Wilson 95% interval of rate_related")
    ci_high = serializers.FloatField(allow_null=True)


class OpioidRowSerializer(serializers.Serializer):
    group = serializers.CharField(help_text=GROUP_HELP)
    time_point = serializers.CharField()
    on_opioids = serializers.IntegerField(help_text="treatments with a daily MME above 0 on the treatment date")
    evaluable = serializers.IntegerField(help_text="of those, closed and not superseded at the time point")
    reduced_50 = serializers.IntegerField(help_text="MME on the target day at most half the baseline")
    discontinued = serializers.IntegerField(help_text="MME 0 on the target day")
    rate = serializers.FloatField(allow_null=True, help_text="reduced_50 / evaluable")
    median_change = serializers.FloatField(allow_null=True, help_text="median of MME then minus baseline MME")


class OutcomesReportSerializer(serializers.Serializer):
    version = serializers.IntegerField(help_text="2: the report contract's version (README, Report format versions)")
    as_of = serializers.DateField()
    threshold_percent = serializers.FloatField()
    funnel = FunnelRowSerializer(many=True)
    response = ResponseRowSerializer(many=True)
    threshold_bands = BandRowSerializer(many=True)
    durability = DurabilitySerializer(many=True)
    repeat = RepeatSerializer(many=True)
    adverse_events = AdverseEventsRowSerializer(many=True)
    instruments = serializers.ListField(child=serializers.DictField(), help_text="Empty until the next version.")
    opioids = OpioidRowSerializer(many=True)


class ImportResultSerializer(serializers.Serializer):
    """What the registry import did (or, on a dry run, would do)."""

    run = serializers.IntegerField(source="run.pk", help_text="The ImportRun recording this attempt.")
    status = serializers.ChoiceField(source="run.status", choices=["imported", "dry_run", "refused"])
    dry_run = serializers.BooleanField()
    counts = serializers.DictField(
        child=serializers.DictField(child=serializers.IntegerField()),
        help_text='Per file, e.g. {"patients": {"created": 3, "matched": 1}}.',
    )
    created_physicians = serializers.ListField(child=serializers.CharField())
    problems = serializers.ListField(
        child=serializers.CharField(), help_text="Every problem, as file:line: column: message."
    )


class FormBooleanField(serializers.BooleanField):
    """A boolean of a multipart form, as its schema's `boolean` is sent: `true` or `false`, and nothing else (DRF's
    own also takes yes, on, 1... which the schema does not say)."""

    TRUE_VALUES = {"true", True}
    FALSE_VALUES = {"false", False}
    NULL_VALUES: set = set()
    default_error_messages = {"invalid": "Send true or false."}


class ImportRequestSerializer(serializers.Serializer):
    """multipart/form-data (schema only: the admin page's RegistryUploadForm and upload_store check it)."""

    files = serializers.ListField(
        child=serializers.FileField(),
        help_text="patients.csv, blocks.csv, treatments.csv (or ablations.csv), survey_responses.csv and "
        "adverse_events.csv and medications.csv if any, or one .zip holding them.",
    )
    site = serializers.IntegerField(
        required=False,
        help_text=SITE_HELP + " The site new patients are at: required in a network of sites; a single clinic's "
        "import names none.",
    )
    dry_run = FormBooleanField(required=False, default=False, help_text="Check and count, write nothing.")
