"""The query parameters of the lists and of the outcomes report: checked by serializers, so a bad value comes back
as JSON naming the parameter ({"from": ["Date has wrong format..."]}), and described by the same serializers in the
OpenAPI schema. Physicians are named by username and nerves by code, as in the report's groups
("physician:<username>", "nerve:<code>") and in the records' own `physician`/`nerve` fields."""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.accounts.models import User
from apps.blocks.models import DiagnosticBlock, Side
from apps.clinic.models import Nerve
from apps.cryoablations.models import Cryoablation, Kind
from apps.cryoablations.selectors import WORKLIST_STATUSES
from apps.patients.selectors import PATIENT_ORDERINGS, patients_visible_to, visible_to
from apps.reports.outcomes import THRESHOLD_OUT_OF_RANGE, threshold_in_range

# Text a query parameter may carry: anything but a NUL byte, which PostgreSQL cannot hold (DRF's CharField refuses
# it, naming the parameter); the schema says so, so that clients and schemathesis know it too.
NO_NUL = "^[^\\u0000]*$"


@extend_schema_field({"type": "string", "minLength": 1, "pattern": NO_NUL})
class QueryText(serializers.CharField):
    """A text query parameter: no NUL byte; not empty unless allow_blank (the schema then adds `or empty`)."""


@extend_schema_field({"type": "number", "minimum": 0, "exclusiveMinimum": True, "maximum": 100})
class ThresholdPercent(serializers.DecimalField):
    """A percent above 0 and at most 100, as a number (not text): reports.outcomes.threshold_in_range checks it."""

    def __init__(self, **kwargs) -> None:
        super().__init__(max_digits=None, decimal_places=None, **kwargs)

    def to_internal_value(self, data) -> Decimal:
        value = super().to_internal_value(data)
        if not threshold_in_range(value):
            raise serializers.ValidationError(THRESHOLD_OUT_OF_RANGE)
        return value


class _Query(serializers.Serializer):
    """Fields whose names are Python keywords (`from`) are declared as `from_` and renamed here."""

    def get_fields(self):
        fields = super().get_fields()
        return {name.rstrip("_"): field for name, field in fields.items()}

    def to_internal_value(self, data):
        # DRF reads an empty query parameter as one not sent; here it is a mistake to name (`?from=`), not "all".
        blank = {
            name: ["This parameter may not be empty."]
            for name, field in self.fields.items()
            if data.get(name) == "" and not getattr(field, "allow_blank", False)
        }
        if blank:
            raise serializers.ValidationError(blank)
        return super().to_internal_value(data)


class DateRangeQuery(_Query):
    from_ = serializers.DateField(
        source="date_from", required=False, help_text="First date, YYYY-MM-DD (the clinic's calendar)."
    )
    to = serializers.DateField(source="date_to", required=False, help_text="Last date, YYYY-MM-DD, included.")

    def validate(self, data):
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            raise serializers.ValidationError({"to": ["The end date is before the start date."]})
        return data


class ProcedureQuery(DateRangeQuery):
    physician = QueryText(source="physician_id", required=False, help_text="The physician's username.")
    nerve = QueryText(source="nerve_id", required=False, help_text="The nerve's code, e.g. superior_cluneal.")
    side = serializers.ChoiceField(choices=Side.choices, required=False)

    def validate_physician(self, username: str) -> int:
        pk = User.objects.filter(username=username).values_list("pk", flat=True).first()
        if pk is None:
            raise serializers.ValidationError("No user with this username.")
        return pk

    def validate_nerve(self, code: str) -> int:
        pk = Nerve.objects.filter(code=code).values_list("pk", flat=True).first()
        if pk is None:
            raise serializers.ValidationError("No nerve with this code.")
        return pk


class FollowUpQuery(ProcedureQuery):
    status = serializers.ChoiceField(
        choices=[(s, s.label) for s in WORKLIST_STATUSES] + [("open", "Due or overdue")],
        required=False,
        help_text="Unanswered follow-ups of active patients, as on the worklist: due, overdue, missed, or open "
        "(due and overdue). Without it: every follow-up.",
    )
    time_point = QueryText(required=False, help_text="The protocol's time point code, e.g. 3m.")


class OutcomesQuery(ProcedureQuery):
    """`manage.py outcomes_report`'s options (--from, --to, --as-of, --threshold), and the dashboard's filters."""

    from_ = serializers.DateField(source="date_from", required=False, help_text="First block/ablation date.")
    to = serializers.DateField(source="date_to", required=False, help_text="Last block/ablation date, included.")
    as_of = serializers.DateField(required=False, help_text="Windows closed before this date (default: today).")
    threshold = ThresholdPercent(
        required=False,
        help_text="Positive-block threshold, percent, above 0 and at most 100 (default: the protocol's).",
    )
    kind = serializers.ChoiceField(
        choices=Kind.values,
        required=False,
        help_text="Only treatments of this kind (outcomes_report --kind); the funnel's later stages follow them.",
    )


def ordering_param(fields: list[str], default: str) -> serializers.ChoiceField:
    """An `ordering` parameter taking one of `fields`, or `-field` for descending."""
    choices = [name for field in fields for name in (field, f"-{field}")]
    return serializers.ChoiceField(
        choices=choices, required=False, default=default, help_text=f"Sort key; `-` for descending. Default {default}."
    )


class PatientQuery(_Query):
    q = QueryText(required=False, allow_blank=True, help_text="MRN prefix, or words starting the names (any accents).")
    # last_name: by last name, then first name (the patient list's order).
    ordering = ordering_param(list(PATIENT_ORDERINGS), "last_name")


class BlockQuery(ProcedureQuery):
    ordering = ordering_param(["performed_at", "baseline_nrs"], "-performed_at")


class AblationQuery(ProcedureQuery):
    ordering = ordering_param(["performed_on", "baseline_nrs"], "-performed_on")


class TreatmentQuery(ProcedureQuery):
    kind = serializers.ChoiceField(choices=Kind.choices, required=False, help_text="Only treatments of this kind.")
    patient = serializers.UUIDField(source="patient_id", required=False, help_text="Only this patient's (its id).")
    ordering = ordering_param(["performed_on", "baseline_nrs"], "-performed_on")

    def validate_patient(self, public_id: UUID) -> int:
        return _pk_of(patients_visible_to(self.context["user"]), public_id, "No patient with this id.")


class AdverseEventQuery(_Query):
    treatment = serializers.UUIDField(source="treatment_id", required=False, help_text="Events on this treatment.")
    block = serializers.UUIDField(source="block_id", required=False, help_text="Events on this block.")
    patient = serializers.UUIDField(
        source="patient_id", required=False, help_text="Events on any treatment or block of this patient."
    )
    ordering = ordering_param(["occurred_on"], "-occurred_on")

    def validate_treatment(self, public_id: UUID) -> int:
        return _pk_of(
            visible_to(Cryoablation.objects.all(), user=self.context["user"]), public_id, "No treatment with this id."
        )

    def validate_block(self, public_id: UUID) -> int:
        return _pk_of(
            visible_to(DiagnosticBlock.objects.all(), user=self.context["user"]), public_id, "No block with this id."
        )

    def validate_patient(self, public_id: UUID) -> int:
        return _pk_of(patients_visible_to(self.context["user"]), public_id, "No patient with this id.")


class MedicationStatementQuery(_Query):
    patient = serializers.UUIDField(source="patient_id", required=False, help_text="Statements of this patient.")
    ordering = ordering_param(["started_on"], "-started_on")

    def validate_patient(self, public_id: UUID) -> int:
        return _pk_of(patients_visible_to(self.context["user"]), public_id, "No patient with this id.")


class InstrumentAnswerQuery(_Query):
    patient = serializers.UUIDField(source="patient_id", required=False, help_text="Answers of this patient.")
    treatment = serializers.UUIDField(source="treatment_id", required=False, help_text="Answers about this treatment.")
    instrument = serializers.SlugField(required=False, help_text="Answers to this instrument (its code: peg3, ...).")
    ordering = ordering_param(["completed_at"], "-completed_at")

    def validate_patient(self, public_id: UUID) -> int:
        return _pk_of(patients_visible_to(self.context["user"]), public_id, "No patient with this id.")

    def validate_treatment(self, public_id: UUID) -> int:
        return _pk_of(
            visible_to(Cryoablation.objects.all(), user=self.context["user"]), public_id, "No treatment with this id."
        )


def _pk_of(rows: QuerySet, public_id: UUID, message: str) -> int:
    """The primary key of the row of `rows` (those the user may see) with this id; another site's is unknown."""
    pk = rows.filter(public_id=public_id).values_list("pk", flat=True).first()
    if pk is None:
        raise serializers.ValidationError(message)
    return pk


class FollowUpListQuery(FollowUpQuery):
    ordering = ordering_param(["target_date", "window_end"], "target_date")


def query_of(serializer_class, request) -> dict:
    """The validated query parameters (400 naming each bad one)."""
    serializer = serializer_class(data=request.query_params, context={"user": request.user})  # ids: visible_to
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data
