from __future__ import annotations

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from apps.clinic.rules import NRS_VALIDATORS, nrs_check
from apps.clinic.validators import not_in_future_datetime
from apps.cryoablations.models import Cryoablation, FollowUp


class PGIC(models.IntegerChoices):
    """Patient Global Impression of Change, 7 points (Farrar 2001)."""

    VERY_MUCH_IMPROVED = 1, "Very much improved"
    MUCH_IMPROVED = 2, "Much improved"
    MINIMALLY_IMPROVED = 3, "Minimally improved"
    NO_CHANGE = 4, "No change"
    MINIMALLY_WORSE = 5, "Minimally worse"
    MUCH_WORSE = 6, "Much worse"
    VERY_MUCH_WORSE = 7, "Very much worse"


class CollectedVia(models.TextChoices):
    PHONE = "phone", "Phone call"
    CLINIC = "clinic", "Clinic visit"
    PATIENT_LINK = "link", "Patient survey link"
    IMPORT = "import", "Registry import"


class SurveyResponse(models.Model):
    """A set of pain-score answers about one ablation. The follow-up it counts for is the one whose window
    holds its completion date in the clinic's time zone (set by the services); none means unscheduled."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    ablation = models.ForeignKey(Cryoablation, on_delete=models.PROTECT, related_name="survey_responses")
    follow_up = models.ForeignKey(FollowUp, on_delete=models.PROTECT, null=True, blank=True, related_name="responses")
    completed_at = models.DateTimeField("completed", validators=[not_in_future_datetime])
    pain_average = models.PositiveSmallIntegerField(
        "average pain, past 24 hours",
        validators=NRS_VALIDATORS,
        help_text="0 = no pain, 10 = worst imaginable",
    )
    pain_current = models.PositiveSmallIntegerField("pain right now", validators=NRS_VALIDATORS, null=True, blank=True)
    pain_worst = models.PositiveSmallIntegerField(
        "worst pain, past 24 hours", validators=NRS_VALIDATORS, null=True, blank=True
    )
    percent_relief = models.PositiveSmallIntegerField(
        "relief since the procedure (%)",
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        null=True,
        blank=True,
    )
    pgic = models.PositiveSmallIntegerField("impression of change (PGIC)", choices=PGIC.choices, null=True, blank=True)
    collected_via = models.CharField(max_length=6, choices=CollectedVia.choices)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-completed_at", "-id"]
        indexes = [
            models.Index(fields=["follow_up", "completed_at"], name="response_followup"),
            models.Index(fields=["ablation", "completed_at"], name="response_ablation"),
        ]
        constraints = [
            models.CheckConstraint(condition=nrs_check("pain_average"), name="response_pain_average_range"),
            models.CheckConstraint(condition=nrs_check("pain_current"), name="response_pain_current_range"),
            models.CheckConstraint(condition=nrs_check("pain_worst"), name="response_pain_worst_range"),
            models.CheckConstraint(
                condition=Q(percent_relief__gte=0, percent_relief__lte=100) | Q(percent_relief__isnull=True),
                name="response_relief_range",
            ),
            models.CheckConstraint(
                condition=Q(pgic__gte=1, pgic__lte=7) | Q(pgic__isnull=True), name="response_pgic_range"
            ),
        ]

    def __str__(self) -> str:
        return f"Survey of {self.completed_at:%Y-%m-%d}: average pain {self.pain_average}"
