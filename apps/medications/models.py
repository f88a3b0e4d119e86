"""Opioid medicines recorded per patient (outcome-definitions.md, Version 2: Opioids).

The morphine milligram equivalents (MME) are the database's rule, defined once by this app's migration 0002: the
factor table of the CDC 2022 guideline with its name and version (medications_mme_factor_table,
medications_mme_factor) and the daily MME of a patient on a day (medications_mme). The patient page, the report and
the dashboard read those functions (apps.medications.selectors, apps.reports.sql)."""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from apps.patients.models import Patient


class Opioid(models.TextChoices):
    """The opioids of data-exchange.md's medications.csv. Daily doses in mg a day; the fentanyl patch in mcg an hour."""

    CODEINE = "codeine", "Codeine"
    FENTANYL_TRANSDERMAL = "fentanyl_transdermal", "Fentanyl patch (transdermal)"
    HYDROCODONE = "hydrocodone", "Hydrocodone"
    HYDROMORPHONE = "hydromorphone", "Hydromorphone"
    METHADONE = "methadone", "Methadone"
    MORPHINE = "morphine", "Morphine"
    OXYCODONE = "oxycodone", "Oxycodone"
    OXYMORPHONE = "oxymorphone", "Oxymorphone"
    TAPENTADOL = "tapentadol", "Tapentadol"
    TRAMADOL = "tramadol", "Tramadol"
    BUPRENORPHINE = "buprenorphine", "Buprenorphine"


def dose_unit(opioid: str) -> str:
    """The unit a daily dose of `opioid` is recorded in."""
    return "mcg/h" if opioid == Opioid.FENTANYL_TRANSDERMAL else "mg/day"


class MedicationStatement(models.Model):
    """An opioid a patient takes: its daily dose from the day it started until the day it stopped (empty while
    ongoing). Active on a day when started on or before it and not stopped on or before it."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="medication_statements")
    opioid = models.CharField(max_length=20, choices=Opioid.choices)
    daily_dose = models.DecimalField(
        "daily dose",
        max_digits=9,
        decimal_places=3,
        validators=[MinValueValidator(Decimal("0.001"), message="The daily dose must be above 0.")],
        help_text="mg a day; a fentanyl patch in mcg an hour.",
    )
    started_on = models.DateField("started on")
    stopped_on = models.DateField("stopped on", null=True, blank=True, help_text="Empty while ongoing.")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # The statement's id in the registry it was imported from (apps.registry): a second import matches on it.
    external_id = models.CharField("source id", max_length=64, null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-started_on", "-id"]
        indexes = [models.Index(fields=["patient", "started_on"], name="medication_patient_start")]
        constraints = [
            models.CheckConstraint(condition=Q(daily_dose__gt=0), name="medication_dose_above_zero"),
            models.CheckConstraint(
                condition=Q(opioid__in=[choice.value for choice in Opioid]), name="medication_known_opioid"
            ),
            models.CheckConstraint(
                condition=Q(stopped_on__isnull=True) | Q(stopped_on__gte=F("started_on")),
                name="medication_stopped_not_before_start",
            ),
            models.UniqueConstraint(
                fields=["external_id"], condition=Q(external_id__isnull=False), name="medication_external_id_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_opioid_display()} {self.dose_text}"

    @property
    def unit(self) -> str:
        return dose_unit(self.opioid)

    @property
    def dose_text(self) -> str:
        """The daily dose as written, with its unit: "12.5 mcg/h", "30 mg/day"."""
        return f"{self.daily_dose.normalize():f} {self.unit}"

    def clean(self) -> None:
        if self.stopped_on and self.started_on and self.stopped_on < self.started_on:
            raise ValidationError({"stopped_on": "The stop date cannot be before the start date."})


class MedicationReview(models.Model):
    """When the patient's opioid list was last reviewed, and by whom (one row per patient, moved forward by each
    review; earlier reviews are in the change history). Shown wherever MME is, never used in a figure."""

    patient = models.OneToOneField(Patient, on_delete=models.PROTECT, related_name="medication_review")
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField("last reviewed", default=timezone.now)

    def __str__(self) -> str:
        return f"reviewed {timezone.localtime(self.reviewed_at):%Y-%m-%d}"
