from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now
from django.utils import timezone

from apps.clinic.models import Nerve, Protocol
from apps.clinic.rules import NRS_VALIDATORS, nrs_check, percent_reduction
from apps.clinic.validators import not_in_future_datetime
from apps.patients.models import Patient

CLOCK_SKEW = timedelta(minutes=5)


class Side(models.TextChoices):
    LEFT = "left", "Left"
    RIGHT = "right", "Right"
    BILATERAL = "bilateral", "Bilateral"


class Guidance(models.TextChoices):
    ULTRASOUND = "ultrasound", "Ultrasound"
    FLUOROSCOPY = "fluoroscopy", "Fluoroscopy"
    LANDMARK = "landmark", "Landmark"


class Diagnosis(models.TextChoices):
    SUPERIOR_CLUNEAL = "superior_cluneal", "Superior cluneal nerve entrapment"
    MIDDLE_CLUNEAL = "middle_cluneal", "Middle cluneal nerve entrapment"
    SI_JOINT = "si_joint", "SI joint pain"
    FACET = "facet", "Facet pain"
    GENICULAR = "genicular", "Genicular (knee) pain"
    TARSAL_TUNNEL = "tarsal_tunnel", "Tarsal tunnel syndrome"
    OTHER = "other", "Other"


class Result(models.TextChoices):
    POSITIVE = "positive", "Positive"
    NEGATIVE = "negative", "Negative"
    NOT_EVALUABLE = "not_evaluable", "Not evaluable"
    PENDING = "pending", "Pending"


@dataclass(frozen=True)
class Assessment:
    """A block judged under a protocol: its peak relief and result (outcome-definitions.md, Diagnostic block)."""

    peak_relief_percent: Decimal | None
    result: Result

    @property
    def is_positive(self) -> bool:
        return self.result == Result.POSITIVE


class DiagnosticBlockManager(models.Manager["DiagnosticBlock"]):
    """Blocks come with their stored peak relief (BlockPeakRelief), which `assess` reads: a list of blocks costs no
    query per block."""

    def get_queryset(self) -> models.QuerySet[DiagnosticBlock]:
        return super().get_queryset().select_related("peak_relief")


class DiagnosticBlock(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="blocks")
    performed_at = models.DateTimeField("date and time", validators=[not_in_future_datetime])
    physician = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    nerve = models.ForeignKey(Nerve, on_delete=models.PROTECT, related_name="+", verbose_name="target nerve")
    side = models.CharField(max_length=9, choices=Side.choices)
    guidance = models.CharField(max_length=11, choices=Guidance.choices, default=Guidance.ULTRASOUND)
    needle = models.CharField(max_length=60, blank=True, help_text="e.g. 25-gauge spinal")
    needle_gauge = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1)], help_text="e.g. 25"
    )
    drug = models.CharField(max_length=60, blank=True, help_text="e.g. lidocaine")
    concentration_percent = models.DecimalField(
        "concentration (%)", max_digits=5, decimal_places=2, null=True, blank=True
    )
    volume_ml = models.DecimalField("volume (mL)", max_digits=5, decimal_places=2, null=True, blank=True)
    baseline_nrs = models.PositiveSmallIntegerField(
        "pre-block pain (NRS)", validators=NRS_VALIDATORS, help_text="Usual pain over the past week, 0..10."
    )
    suspected_diagnosis = models.CharField(max_length=20, choices=Diagnosis.choices)
    trigger_point_cm_from_midline = models.DecimalField(
        "trigger point: cm from the midline", max_digits=4, decimal_places=1, null=True, blank=True
    )
    trigger_point_mm_caudal_to_psis = models.DecimalField(
        "trigger point: mm caudal to the PSIS", max_digits=5, decimal_places=1, null=True, blank=True
    )
    tinel_sign = models.BooleanField("Tinel's sign", null=True, blank=True)
    worse_with_posture = models.BooleanField("pain worse with posture or lumbar movement", null=True, blank=True)
    compression_symptoms = models.BooleanField("numbness or radiating pain on compression", null=True, blank=True)
    notes = models.TextField(blank=True)
    # The block's id in the registry it was imported from (apps.registry): a second import matches on it.
    external_id = models.CharField("source id", max_length=64, null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = DiagnosticBlockManager()

    class Meta:
        ordering = ["-performed_at"]
        indexes = [models.Index(fields=["patient", "nerve", "side", "performed_at"], name="block_lookup")]
        constraints = [
            models.CheckConstraint(condition=nrs_check("baseline_nrs"), name="block_baseline_nrs_range"),
            # A few minutes' grace for the clock of an application server running ahead of the database's.
            models.CheckConstraint(condition=Q(performed_at__lte=Now() + CLOCK_SKEW), name="block_not_in_future"),
            models.CheckConstraint(
                condition=Q(volume_ml__gt=0) | Q(volume_ml__isnull=True), name="block_volume_positive"
            ),
            models.CheckConstraint(
                condition=Q(concentration_percent__gt=0, concentration_percent__lte=100)
                | Q(concentration_percent__isnull=True),
                name="block_concentration_range",
            ),
            # Target of the composite foreign key from Cryoablation.qualifying_block, which makes the database
            # refuse a qualifying block of another patient, nerve or side.
            models.UniqueConstraint(fields=["id", "patient", "nerve", "side"], name="block_identity"),
            models.UniqueConstraint(
                fields=["external_id"], condition=Q(external_id__isnull=False), name="block_external_id_unique"
            ),
            models.CheckConstraint(
                condition=Q(needle_gauge__gt=0) | Q(needle_gauge__isnull=True), name="block_needle_gauge_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.nerve} ({self.get_side_display().lower()}) block, {timezone.localdate(self.performed_at)}"

    def assess(self, protocol: Protocol, *, now: datetime | None = None) -> Assessment:
        """Result under `protocol`'s threshold of the block's stored peak relief (BlockPeakRelief: the database's
        one definition, blocks_peak_relief_rule); what only time decides is added here: with no value yet, the block
        is pending until its evaluation window has closed."""
        peak = self.peak_relief.peak_relief_percent
        if peak is None:
            closes = self.performed_at + timedelta(minutes=protocol.evaluation_window_minutes)
            pending = self.baseline_nrs > 0 and (now or timezone.now()) < closes
            return Assessment(None, Result.PENDING if pending else Result.NOT_EVALUABLE)
        positive = peak >= protocol.block_threshold_percent  # blocks_positive, in Python
        return Assessment(peak, Result.POSITIVE if positive else Result.NEGATIVE)

    def diary_rows(self, protocol: Protocol) -> list[DiaryRow]:
        """Every diary entry with its reduction; entries outside the evaluation window are shown, not counted."""
        window = protocol.evaluation_window_minutes
        return [
            DiaryRow(e, percent_reduction(self.baseline_nrs, e.nrs), 0 <= e.minutes_after <= window)
            for e in self.diary_entries.all()
        ]


@dataclass(frozen=True)
class DiaryRow:
    entry: DiaryEntry
    reduction_percent: Decimal | None
    counted: bool


class DiaryEntry(models.Model):
    """One pain score of the post-block diary, timed in minutes after the injection."""

    class Source(models.TextChoices):
        STAFF = "staff", "Entered by staff"
        PATIENT = "patient", "Patient-reported"
        SMS = "sms", "Patient, by SMS reply"

    block = models.ForeignKey(DiagnosticBlock, on_delete=models.CASCADE, related_name="diary_entries")
    minutes_after = models.PositiveIntegerField("minutes after injection", validators=[MinValueValidator(0)])
    nrs = models.PositiveSmallIntegerField("pain (NRS)", validators=NRS_VALIDATORS)
    source = models.CharField(max_length=7, choices=Source.choices, default=Source.STAFF)
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["minutes_after"]
        constraints = [
            models.UniqueConstraint(fields=["block", "minutes_after"], name="diary_one_entry_per_minute"),
            models.CheckConstraint(condition=Q(minutes_after__gte=0), name="diary_minutes_not_negative"),
            models.CheckConstraint(condition=nrs_check("nrs"), name="diary_nrs_range"),
        ]

    def __str__(self) -> str:
        return f"{self.minutes_after} min: {self.nrs}"


class BlockPeakRelief(models.Model):
    """A block's peak relief under the clinic's protocol (outcome-definitions.md, Diagnostic block), derived from
    its diary and kept by database triggers (migrations 0003, 0004): one row per block, with no value when the block
    is not evaluable (baseline 0, or no diary entry inside the evaluation window: pending or never). The outcomes
    engine reads it instead of the diary and the blocks, so a report over the whole registry does not aggregate a
    million diary entries, and the funnel's block counts are one scan of this narrow table.

    A table of its own rather than a column of the block: an update of the block row is a change in the block's
    history (its audit trigger fires on any column), and a derived value is no change a person made. Written only by
    the triggers: block inserts, inserts, updates and deletes of diary entries (per statement, so a bulk insert
    recomputes each block once), a change of a block's baseline (or of a copied column below), a change of the
    protocol's evaluation window (all blocks), and for `ablated`, inserts, deletes and qualifying-block changes of
    ablations."""

    # The foreign key is the migration's, with ON DELETE CASCADE: the row goes with its block in the database, whatever
    # deletes the block (Django's collector need not know about it).
    block = models.OneToOneField(
        DiagnosticBlock, on_delete=models.DO_NOTHING, db_constraint=False, primary_key=True, related_name="peak_relief"
    )
    # The scale of PostgreSQL's own quotient of these integers (16 decimals), so the stored value is that quotient,
    # unrounded: 50 compares equal to a threshold of 50.00, 66.6666666666666667 stays below 66.67. None: not evaluable.
    peak_relief_percent = models.DecimalField(max_digits=30, decimal_places=16, null=True, editable=False)
    # Copies of the block's columns that the reports filter and group blocks by, kept with the value, so that the
    # funnel counts blocks from this narrow table without joining the blocks.
    performed_at = models.DateTimeField(editable=False)
    physician_id = models.BigIntegerField(editable=False)
    nerve_id = models.BigIntegerField(editable=False)
    side = models.CharField(max_length=9, editable=False)
    # Some ablation names this block as its qualifying block (the funnel's "ablated").
    ablated = models.BooleanField(default=False, editable=False)
    # The block's patient's site (Patient.site), for the figures of one site (migration 0009).
    site_id = models.BigIntegerField(editable=False)

    class Meta:
        db_table = "blocks_blockpeakrelief"
        indexes = [models.Index(fields=["site_id"], name="peak_relief_site")]

    def __str__(self) -> str:
        return f"block {self.block_id}: {self.peak_relief_percent}%"
