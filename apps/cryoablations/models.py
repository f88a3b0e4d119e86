from __future__ import annotations

import uuid
from datetime import date, timedelta

from django.conf import settings
from django.contrib.postgres.fields import DateRangeField
from django.contrib.postgres.indexes import GistIndex
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Func, Q, Value
from django.db.models.functions import Now

from apps.blocks.models import DiagnosticBlock, Guidance, Side
from apps.clinic.models import Nerve
from apps.clinic.rules import NRS_VALIDATORS, nrs_check
from apps.clinic.validators import not_in_future_date
from apps.patients.models import Patient


class QualifyingSource(models.TextChoices):
    RULE = "rule", "Chosen by the qualifying-block rule"
    STAFF = "staff", "Named by staff"


class Cryoablation(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="cryoablations")
    performed_on = models.DateField("date", validators=[not_in_future_date])
    physician = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    nerve = models.ForeignKey(Nerve, on_delete=models.PROTECT, related_name="+", verbose_name="target nerve")
    side = models.CharField(max_length=9, choices=Side.choices)
    device = models.CharField(max_length=80, blank=True)
    probe = models.CharField(max_length=80, blank=True)
    cycles = models.PositiveSmallIntegerField(default=2)
    freeze_seconds = models.PositiveIntegerField("freeze (seconds per cycle)", default=120)
    guidance = models.CharField(max_length=11, choices=Guidance.choices, default=Guidance.ULTRASOUND)
    baseline_nrs = models.PositiveSmallIntegerField(
        "pre-procedure pain (NRS)", validators=NRS_VALIDATORS, help_text="The baseline of every follow-up."
    )
    complications = models.TextField(blank=True)
    qualifying_block = models.ForeignKey(
        DiagnosticBlock, on_delete=models.PROTECT, null=True, blank=True, related_name="ablations"
    )
    qualifying_source = models.CharField(max_length=5, choices=QualifyingSource.choices, blank=True)
    # The ablation's id in the registry it was imported from (apps.registry): a second import matches on it.
    external_id = models.CharField("source id", max_length=64, null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-performed_on", "-id"]
        indexes = [models.Index(fields=["patient", "performed_on"], name="ablation_patient_date")]
        constraints = [
            models.CheckConstraint(condition=nrs_check("baseline_nrs"), name="ablation_baseline_nrs_range"),
            models.CheckConstraint(condition=Q(cycles__gte=1), name="ablation_cycles_positive"),
            models.CheckConstraint(condition=Q(freeze_seconds__gte=1), name="ablation_freeze_positive"),
            # The forms refuse any date after the clinic's today; the day of grace covers clinics east of UTC.
            models.CheckConstraint(
                condition=Q(performed_on__lte=Now() + timedelta(days=1)), name="ablation_not_in_future"
            ),
            models.CheckConstraint(
                condition=Q(qualifying_block__isnull=True, qualifying_source="")
                | Q(qualifying_block__isnull=False, qualifying_source__in=["rule", "staff"]),
                name="ablation_qualifying_source_set",
            ),
            models.UniqueConstraint(
                fields=["external_id"], condition=Q(external_id__isnull=False), name="ablation_external_id_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.nerve} ({self.get_side_display().lower()}) cryoablation, {self.performed_on}"

    def clean(self) -> None:
        block = self.qualifying_block
        if block is None:
            return
        if block.patient_id != self.patient_id:
            raise ValidationError({"qualifying_block": "Choose a block of this patient."})
        if (block.nerve_id, block.side) != (self.nerve_id, self.side):
            raise ValidationError(
                {
                    "qualifying_block": f"That block is of another nerve or side ({block.nerve}, "
                    f"{block.get_side_display().lower()}); choose one of the same nerve and side."
                }
            )


def window_range() -> Func:
    """A follow-up's window as an inclusive PostgreSQL daterange, matched by the open-window index."""
    return Func(F("window_start"), F("window_end"), Value("[]"), function="daterange", output_field=DateRangeField())


class FollowUp(models.Model):
    """One time point of an ablation's follow-up, with the dates its survey counts between."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    ablation = models.ForeignKey(Cryoablation, on_delete=models.CASCADE, related_name="follow_ups")
    time_point = models.SlugField(max_length=10)
    label = models.CharField(max_length=40)
    target_date = models.DateField()
    window_start = models.DateField()
    window_end = models.DateField()
    # The answer this follow-up is judged by (outcome-definitions.md: the last completed inside the window).
    # Derived from the answers, kept by surveys.services.counted_responses_refresh, so that worklists and
    # reports need not search the answers again.
    counted_response = models.ForeignKey(
        "surveys.SurveyResponse", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["target_date"]
        indexes = [
            # The worklist: unanswered follow-ups whose window holds today, and those whose window has closed.
            GistIndex(window_range(), name="followup_open_window", condition=Q(counted_response__isnull=True)),
            models.Index(fields=["window_end"], name="followup_missed", condition=Q(counted_response__isnull=True)),
        ]
        constraints = [
            models.UniqueConstraint(fields=["ablation", "time_point"], name="followup_one_per_time_point"),
            models.CheckConstraint(
                condition=Q(window_start__lte=F("target_date"), target_date__lte=F("window_end")),
                name="followup_target_inside_window",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.label} follow-up of {self.ablation}"

    def status(self, today: date, *, completed: bool) -> Status:
        if completed:
            return Status.COMPLETED
        if today < self.window_start:
            return Status.UPCOMING
        if today <= self.target_date:
            return Status.DUE
        if today <= self.window_end:
            return Status.OVERDUE
        return Status.MISSED


class Status(models.TextChoices):
    UPCOMING = "upcoming", "Upcoming"
    DUE = "due", "Due"
    OVERDUE = "overdue", "Overdue"
    MISSED = "missed", "Missed"
    COMPLETED = "completed", "Completed"
