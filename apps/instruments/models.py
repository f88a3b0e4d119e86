"""Function and mood instruments (outcome-definitions.md, "Instruments beyond pain intensity"): PEG-3, PHQ-2, GAD-2
shipped, and licensed ones loaded as data (instrument_load).

An Instrument is a code and a name with the time points it is asked at (the clinic's setting, edited in the admin;
the definition's own list when first loaded). Each InstrumentVersion holds one definition as loaded, never changed:
its items, texts and scoring table in `definition`, and the scoring rules the report's SQL reads as columns. An
InstrumentAnswer belongs to one treatment and keeps the version it was scored with, so a corrected table loaded
later never changes an old score; re-scoring is an explicit, recorded admin action (services.instrument_answer_rescore).
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from fractions import Fraction

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q

from apps.clinic.validators import not_in_future_datetime
from apps.cryoablations.models import Cryoablation

from .definitions import BETTER, RESPONDER_RULES, SCORING_METHODS, Definition


class CollectedVia(models.TextChoices):
    """How an answer reached the registry (as a survey's, apps.surveys.models.CollectedVia)."""

    PATIENT_LINK = "link", "Patient survey link"
    STAFF = "staff", "Entered by staff"
    IMPORT = "import", "Registry import"
    SMS_REPLY = "sms", "Patient's SMS reply"


class Instrument(models.Model):
    code = models.SlugField(max_length=20, unique=True, help_text="How import files and the API name it.")
    name = models.CharField(max_length=80)
    # The schedule: the protocol's time point codes (apps.clinic TimePoint.code) this instrument is asked at, and
    # "baseline" for the treatment visit. Set from the definition when first loaded, then the clinic's to change.
    time_points = ArrayField(
        models.SlugField(max_length=10),
        default=list,
        blank=True,
        verbose_name="asked at",
        help_text="Time point codes of the protocol, and baseline (at the treatment visit).",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class InstrumentVersion(models.Model):
    """One version of an instrument's definition, as loaded (never edited: a correction is a new version)."""

    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="versions")
    version = models.PositiveIntegerField()
    definition = models.JSONField(help_text="The definition file as loaded (docs/instrument-format.md).")
    languages = ArrayField(models.CharField(max_length=2), help_text="The languages its texts are published in.")
    scoring_method = models.CharField(max_length=10, choices=[(m, m) for m in SCORING_METHODS])
    min_items = models.PositiveSmallIntegerField("fewest items for a score")
    better = models.CharField(max_length=6, choices=[(b, b) for b in BETTER])
    minimal_important_change = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    positive_screen = models.DecimalField(
        max_digits=12, decimal_places=4, null=True, blank=True, help_text="The lowest score that screens positive."
    )
    responder_rule = models.CharField(max_length=24, choices=[(r, r) for r in RESPONDER_RULES])
    responder_percent = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    loaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["instrument", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["instrument", "version"], name="instrument_version_unique"),
            models.CheckConstraint(condition=Q(min_items__gte=1), name="instrument_version_min_items"),
        ]

    def __str__(self) -> str:
        return f"{self.instrument.name} v{self.version}"

    def read(self) -> Definition:
        """The definition, parsed once per object (a version's definition never changes: a correction is a new
        version)."""
        if self._parsed is None:
            self._parsed = Definition(self.definition)
        return self._parsed

    _parsed: Definition | None = None


class InstrumentAnswer(models.Model):
    """A patient's complete answers to one instrument about one treatment, with the score of the version used."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient_paths = ("treatment__patient__",)  # to its patient (apps.patients.selectors.visible_to)
    treatment = models.ForeignKey(Cryoablation, on_delete=models.PROTECT, related_name="instrument_answers")
    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="answers")
    version = models.ForeignKey(InstrumentVersion, on_delete=models.PROTECT, related_name="answers")
    completed_at = models.DateTimeField("completed", validators=[not_in_future_datetime])
    answers = models.JSONField(help_text="{item id: answer value}")
    language = models.CharField(max_length=2, default="en", help_text="The language the texts were shown in.")
    # The score as an exact fraction score_total / score_items (a mean: the sum of the answers over their number; a
    # sum or a T-score: over 1), so the report's comparisons are exact (definitions.Score).
    score_total = models.DecimalField(max_digits=12, decimal_places=4)
    score_items = models.PositiveSmallIntegerField(default=1)
    standard_error = models.DecimalField(max_digits=8, decimal_places=4, null=True, blank=True)
    collected_via = models.CharField(max_length=6, choices=CollectedVia.choices)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-completed_at", "-id"]
        indexes = [models.Index(fields=["treatment", "instrument", "completed_at"], name="instrument_answer_treatment")]
        constraints = [
            # The import matches an answer by its treatment, instrument and completion time (data-exchange.md).
            models.UniqueConstraint(
                fields=["treatment", "instrument", "completed_at"], name="instrument_answer_unique_time"
            ),
            models.CheckConstraint(condition=Q(score_items__gte=1), name="instrument_answer_score_items"),
        ]

    def __str__(self) -> str:
        return f"{self.instrument.name} of {self.completed_at:%Y-%m-%d}: {self.score_text}"

    @property
    def score(self) -> Fraction:
        return Fraction(self.score_total) / self.score_items

    @property
    def score_decimal(self) -> Decimal:
        """The score to 2 decimals (for display and exchange; the figures use the exact fraction)."""
        return (self.score_total / self.score_items).quantize(Decimal("0.01"))

    @property
    def score_text(self) -> str:
        value = self.score_decimal.normalize()
        return f"{value:f}"
