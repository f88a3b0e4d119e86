from __future__ import annotations

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from apps.clinic.rules import NRS_VALIDATORS, nrs_check
from apps.clinic.validators import not_in_future_datetime
from apps.cryoablations.models import Cryoablation, FollowUp

# What a link opens, and a message carrying one (reminders.Message) is about: a follow-up's survey, a diary slot
# (a block and its minutes), or a treatment's baseline questionnaires (sent when it is booked), only one of them.
ONE_TARGET = (
    Q(follow_up__isnull=False, block__isnull=True, diary_minutes__isnull=True, baseline_of__isnull=True)
    | Q(follow_up__isnull=True, block__isnull=False, diary_minutes__isnull=False, baseline_of__isnull=True)
    | Q(follow_up__isnull=True, block__isnull=True, diary_minutes__isnull=True, baseline_of__isnull=False)
)


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
    SMS_REPLY = "sms", "Patient's SMS reply"


class SurveyResponse(models.Model):
    """A set of pain-score answers about one ablation. The follow-up it counts for is the one whose window
    holds its completion date in the clinic's time zone (set by the services); none means unscheduled."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient_paths = ("ablation__patient__",)  # to its patient (apps.patients.selectors.visible_to)
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
    # Every survey asks "Any new problem since the procedure?"; a yes goes on the staff queue (apps.adverse_events).
    new_problem = models.BooleanField("any new problem since the procedure", null=True, blank=True)
    new_problem_text = models.TextField("the new problem, in the patient's words", blank=True)
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


class SurveyLink(models.Model):
    """A patient's secure link to one survey: a follow-up's questions, one slot of a block's pain diary, or a
    treatment's baseline questionnaires.

    Only the SHA-256 of the token is stored: a copy of the database does not open anyone's survey. A link is
    single-use (`used_at` set by a conditional update) and valid until `expires_at`: the close of the follow-up's
    window, or the next diary slot."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="survey_links")
    follow_up = models.ForeignKey(
        FollowUp, on_delete=models.CASCADE, null=True, blank=True, related_name="survey_links"
    )
    block = models.ForeignKey(
        "blocks.DiagnosticBlock", on_delete=models.CASCADE, null=True, blank=True, related_name="survey_links"
    )
    diary_minutes = models.PositiveIntegerField("diary slot (minutes after injection)", null=True, blank=True)
    # A link to a treatment's baseline questionnaires (the instruments due at baseline), open until the end of the
    # treatment day: a later answer would not count as its baseline.
    baseline_of = models.ForeignKey(
        Cryoablation, on_delete=models.CASCADE, null=True, blank=True, related_name="baseline_links"
    )
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=ONE_TARGET, name="surveylink_one_target"),
        ]

    def __str__(self) -> str:
        return f"Survey link {self.public_id}"

    @property
    def is_diary(self) -> bool:
        return self.block_id is not None

    @property
    def is_baseline(self) -> bool:
        return self.baseline_of_id is not None
