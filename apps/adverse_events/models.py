from __future__ import annotations

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from apps.blocks.models import DiagnosticBlock
from apps.cryoablations.models import Cryoablation
from apps.patients.models import Patient
from apps.surveys.models import SurveyResponse


class Category(models.TextChoices):
    """outcome-definitions.md, Version 2: Adverse events."""

    INFECTION = "infection", "Infection"
    BLEEDING = "bleeding", "Bleeding"
    SKIN_INJURY = "skin_injury", "Skin injury (frostbite, burn)"
    NEURITIS = "neuritis", "Neuritis (new burning pain or dysesthesia)"
    NUMBNESS = "numbness", "Numbness"
    MOTOR_WEAKNESS = "motor_weakness", "Motor weakness"
    INCREASED_PAIN = "increased_pain", "Increased pain"
    LEAD_MIGRATION = "lead_migration", "Lead migration"
    LEAD_FRACTURE = "lead_fracture", "Lead fracture"
    RETAINED_FRAGMENT = "retained_fragment", "Retained fragment"
    VASOVAGAL = "vasovagal", "Vasovagal reaction"
    ALLERGIC = "allergic", "Allergic reaction"
    OTHER = "other", "Other"


class Severity(models.TextChoices):
    MILD = "mild", "Mild"
    MODERATE = "moderate", "Moderate"
    SEVERE = "severe", "Severe"


class Relatedness(models.TextChoices):
    UNRELATED = "unrelated", "Unrelated"
    POSSIBLE = "possible", "Possibly related"
    PROBABLE = "probable", "Probably related"
    DEFINITE = "definite", "Definitely related"


# "Related" in every figure: possible, probable or definite.
RELATED = (Relatedness.POSSIBLE, Relatedness.PROBABLE, Relatedness.DEFINITE)


class AdverseEvent(models.Model):
    """A harm recorded on a treatment or on a block (exactly one of the two)."""

    patient_paths = ("treatment__patient__", "block__patient__")  # to its patient (apps.patients.selectors.visible_to)
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    treatment = models.ForeignKey(
        Cryoablation, on_delete=models.PROTECT, null=True, blank=True, related_name="adverse_events"
    )
    block = models.ForeignKey(
        DiagnosticBlock, on_delete=models.PROTECT, null=True, blank=True, related_name="adverse_events"
    )
    occurred_on = models.DateField("date")
    category = models.CharField(max_length=17, choices=Category.choices)
    severity = models.CharField(max_length=8, choices=Severity.choices)
    serious = models.BooleanField(
        default=False, help_text="Death, life-threatening, hospitalisation or lasting disability."
    )
    relatedness = models.CharField("related to the procedure", max_length=9, choices=Relatedness.choices)
    resolved_on = models.DateField("resolved on", null=True, blank=True)
    notes = models.TextField(blank=True)
    # The patient's "new problem" answer this event was made from, if any (the staff queue).
    source_response = models.OneToOneField(
        SurveyResponse, on_delete=models.PROTECT, null=True, blank=True, related_name="adverse_event"
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # The event's id in the registry it was imported from (apps.registry): a second import matches on it.
    external_id = models.CharField("source id", max_length=64, null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-occurred_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(treatment__isnull=False, block__isnull=True)
                | Q(treatment__isnull=True, block__isnull=False),
                name="adverse_event_on_treatment_or_block",
            ),
            models.CheckConstraint(
                condition=Q(resolved_on__isnull=True) | Q(resolved_on__gte=F("occurred_on")),
                name="adverse_event_resolved_after",
            ),
            models.UniqueConstraint(
                fields=["external_id"], condition=Q(external_id__isnull=False), name="adverse_event_external_id_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_category_display()}, {self.occurred_on}"

    @property
    def procedure(self) -> Cryoablation | DiagnosticBlock | None:
        """The treatment or block it is recorded on (exactly one, the database's check)."""
        return self.treatment if self.treatment_id is not None else self.block

    @property
    def patient(self) -> Patient | None:
        """The patient of the procedure it is recorded on."""
        procedure = self.procedure
        return procedure.patient if procedure is not None else None

    @property
    def procedure_date(self):
        """The date of the procedure it is recorded on, in the clinic's time zone."""
        if self.treatment is not None:
            return self.treatment.performed_on
        if self.block is not None:
            return timezone.localdate(self.block.performed_at)
        return None

    def clean(self) -> None:
        if (self.treatment_id is None) == (self.block_id is None):
            raise ValidationError("Record the event on a treatment or on a block.")
        procedure_date = self.procedure_date
        if self.occurred_on and procedure_date and self.occurred_on < procedure_date:
            raise ValidationError({"occurred_on": f"The event cannot be before its procedure ({procedure_date})."})
        if self.resolved_on and self.occurred_on and self.resolved_on < self.occurred_on:
            raise ValidationError({"resolved_on": "The event cannot be resolved before it began."})


class Decision(models.TextChoices):
    ADVERSE_EVENT = "adverse_event", "Made an adverse event"
    DISMISSED = "dismissed", "Dismissed"


class ProblemReview(models.Model):
    """Staff's answer to a patient's "new problem": made an adverse event of it, or dismissed it with a reason. An
    answer with a yes and no review waits on the worklist's "New problems" tab. The answer itself keeps the
    patient's words either way."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    response = models.OneToOneField(SurveyResponse, on_delete=models.PROTECT, related_name="problem_review")
    decision = models.CharField(max_length=13, choices=Decision.choices)
    reason = models.TextField("reason for dismissing", blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField("reviewed", default=timezone.now)

    class Meta:
        ordering = ["-reviewed_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(decision="dismissed") | ~Q(reason=""), name="problem_review_dismissal_has_reason"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_decision_display()}, {timezone.localtime(self.reviewed_at):%Y-%m-%d}"
