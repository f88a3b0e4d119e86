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


class Kind(models.TextChoices):
    """The treatments a positive block may qualify for (outcome-definitions.md, Version 2: Treatments)."""

    CRYOABLATION = "cryoablation", "Cryoablation"
    RF_CONVENTIONAL = "rf_conventional", "Conventional radiofrequency"
    RF_COOLED = "rf_cooled", "Cooled radiofrequency"
    RF_PULSED = "rf_pulsed", "Pulsed radiofrequency"
    PNS_TEMPORARY = "pns_temporary", "Nerve stimulation, temporary leads"
    PNS_PERMANENT = "pns_permanent", "Nerve stimulation, implanted"


# The details each kind records besides the common columns: the forms show these, the API and the import accept
# these, and the database refuses any other filled in (the constraint treatment_details_of_its_kind below).
RF_DETAILS = ("cannula_gauge", "active_tip_mm", "temperature_c", "lesion_seconds", "lesions")
KIND_DETAILS: dict[str, tuple[str, ...]] = {
    Kind.CRYOABLATION: ("device", "probe", "cycles", "freeze_seconds"),
    Kind.RF_CONVENTIONAL: RF_DETAILS,
    Kind.RF_COOLED: RF_DETAILS,
    Kind.RF_PULSED: ("cannula_gauge", "active_tip_mm", "lesion_seconds", "lesions"),
    Kind.PNS_TEMPORARY: ("device", "leads", "removed_on"),
    Kind.PNS_PERMANENT: ("device", "leads"),
}
DETAILS = tuple(dict.fromkeys(name for details in KIND_DETAILS.values() for name in details))
TEXT_DETAILS = ("device", "probe")  # empty is "", the others' empty is NULL


def _details_of_its_kind() -> Q:
    """Every detail that does not belong to the row's kind is empty."""
    condition = Q()
    for kind, details in KIND_DETAILS.items():
        empty = {
            (f"{name}__exact" if name in TEXT_DETAILS else f"{name}__isnull"): ("" if name in TEXT_DETAILS else True)
            for name in DETAILS
            if name not in details
        }
        condition |= Q(kind=kind, **empty)
    return condition


class Cryoablation(models.Model):
    """A treatment of a nerve, of any kind (the model keeps the name of version 1, when cryoablation was the only
    kind; outcome-definitions.md: "where it says ablation, read treatment")."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="cryoablations")
    performed_on = models.DateField("date", validators=[not_in_future_date])
    physician = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    nerve = models.ForeignKey(Nerve, on_delete=models.PROTECT, related_name="+", verbose_name="target nerve")
    side = models.CharField(max_length=9, choices=Side.choices)
    kind = models.CharField(max_length=15, choices=Kind.choices, default=Kind.CRYOABLATION)
    # The kinds' details (KIND_DETAILS): empty for a kind they do not belong to.
    device = models.CharField(max_length=80, blank=True)
    probe = models.CharField(max_length=80, blank=True)
    cycles = models.PositiveSmallIntegerField(null=True, blank=True)
    freeze_seconds = models.PositiveIntegerField("freeze (seconds per cycle)", null=True, blank=True)
    cannula_gauge = models.PositiveSmallIntegerField("cannula gauge", null=True, blank=True, help_text="e.g. 18")
    active_tip_mm = models.DecimalField(
        "active tip (mm)", max_digits=4, decimal_places=1, null=True, blank=True, help_text="e.g. 10"
    )
    temperature_c = models.PositiveSmallIntegerField("temperature (°C)", null=True, blank=True, help_text="e.g. 80")
    lesion_seconds = models.PositiveIntegerField("seconds per lesion", null=True, blank=True)
    lesions = models.PositiveSmallIntegerField(null=True, blank=True)
    leads = models.PositiveSmallIntegerField(null=True, blank=True)
    removed_on = models.DateField("leads removed on", null=True, blank=True)
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
        verbose_name = "treatment"
        ordering = ["-performed_on", "-id"]
        indexes = [
            models.Index(fields=["patient", "performed_on"], name="ablation_patient_date"),
            # The repeat rule's lookup (view cryoablations_supersession): the next treatment of the same patient,
            # nerve and side, one index probe per treatment instead of a scan of the nerve's treatments.
            models.Index(fields=["patient", "nerve", "side", "performed_on", "id"], name="treatment_repeat_lookup"),
        ]
        constraints = [
            models.CheckConstraint(condition=_details_of_its_kind(), name="treatment_details_of_its_kind"),
            models.CheckConstraint(
                condition=Q(removed_on__isnull=True) | Q(removed_on__gte=F("performed_on")),
                name="treatment_leads_removed_after",
            ),
            *(
                models.CheckConstraint(condition=Q(**{f"{name}__gte": 1}), name=f"treatment_{name}_positive")
                for name in ("cannula_gauge", "active_tip_mm", "temperature_c", "lesion_seconds", "lesions", "leads")
            ),
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
        return (
            f"{self.nerve} ({self.get_side_display().lower()}) {self.get_kind_display().lower()}, {self.performed_on}"
        )

    def clean(self) -> None:
        foreign = [
            name
            for name in DETAILS
            if name not in KIND_DETAILS.get(self.kind, ()) and getattr(self, name) not in (None, "")
        ]
        if foreign:
            kind = self.get_kind_display().lower()
            raise ValidationError({name: f"Not recorded for {kind}: leave it empty." for name in foreign})
        if self.removed_on is not None and self.performed_on and self.removed_on < self.performed_on:
            raise ValidationError({"removed_on": "The leads cannot be removed before the treatment date."})
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
    patient_paths = ("ablation__patient__",)  # to its patient (apps.patients.selectors.visible_to)
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
    # The later treatment that supersedes this time point (outcome-definitions.md, Version 2: Repeat treatment),
    # copied from the view cryoablations_followup_supersession (migration 0005, the rule's one home) by
    # services.supersession_refresh. A superseded follow-up has no counted answer and gets no reminder.
    superseded_by = models.ForeignKey(Cryoablation, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

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
        if self.superseded_by_id is not None:
            return Status.SUPERSEDED
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
    SUPERSEDED = "superseded", "Superseded"
