from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models

from apps.blocks.models import Side
from apps.clinic.models import Nerve
from apps.cryoablations.models import Kind as TreatmentKind


class ReportRun(models.Model):
    """One outcomes report asked for from the web (or by the monthly schedule) and built by a Celery task into a
    PDF, a CSV and an XLSX kept for download. It holds its filters and file names, no patient data."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Being built"
        DONE = "done", "Ready"
        FAILED = "failed", "Failed"

    class Kind(models.TextChoices):
        REQUESTED = "requested", "Asked for"
        MONTHLY = "monthly", "Monthly"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(max_length=9, choices=Kind.choices, default=Kind.REQUESTED)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=7, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0, help_text="Percent done.")
    step = models.CharField(max_length=60, blank=True)
    # The filters: those of the dashboard.
    as_of = models.DateField()
    date_from = models.DateField(null=True, blank=True)
    date_to = models.DateField(null=True, blank=True)
    physician = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    nerve = models.ForeignKey(Nerve, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    side = models.CharField(max_length=9, choices=Side.choices, blank=True)
    # Only treatments of this kind (empty: every kind); `kind` above says how the run was asked for.
    treatment_kind = models.CharField("treatment", max_length=15, choices=TreatmentKind.choices, blank=True)
    # In a network (README, "Sites"): the sites whose patients it counts; None: every patient (one site, or the
    # network's pooled figures).
    site_ids = ArrayField(models.BigIntegerField(), null=True, blank=True, editable=False)
    # File names relative to settings.REPORT_FILES_ROOT; empty until built.
    pdf_file = models.CharField(max_length=200, blank=True)
    csv_file = models.CharField(max_length=200, blank=True)
    xlsx_file = models.CharField(max_length=200, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [
            ("view_outcomes", "Can see the outcome dashboards and report runs"),
            ("view_network_outcomes", "Can see the network's pooled outcome figures"),
        ]
        constraints = [
            # One monthly report per physician and month, however often beat fires.
            models.UniqueConstraint(
                fields=["physician", "date_from"],
                condition=models.Q(kind="monthly"),
                name="reports_one_monthly_run_per_physician_and_month",
            )
        ]

    def __str__(self) -> str:
        return f"Report run {self.public_id}"

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)


class FollowUpFact(models.Model):
    """One follow-up with the answer it is judged by (its counted response's scores), its ablation's columns and its
    qualifying block's peak relief, derived and kept by database triggers (migrations 0002, 0003): the outcomes engine
    reads this narrow table instead of joining every follow-up to its ablation, half a million survey answers and the
    blocks' peak relief on each report or first dashboard load.

    Written only by the triggers: inserts and updates of follow-ups (per statement: a registry import or a refresh of
    counted answers recomputes its follow-ups once), updates of survey answers (the scores or time of a counted
    answer), updates of ablations (a copied column), changes of blocks' peak relief rows (the qualifying block's
    value, date or physician); a deleted follow-up takes its row with it (ON DELETE CASCADE of the migration's
    foreign key). Not in the change history: a derived value is no change a person made."""

    follow_up = models.OneToOneField(
        "cryoablations.FollowUp", on_delete=models.DO_NOTHING, db_constraint=False, primary_key=True, related_name="+"
    )
    ablation_id = models.BigIntegerField(editable=False)
    time_point = models.CharField(max_length=10, editable=False)
    window_end = models.DateField(editable=False)
    # The counted answer (none: no answer counts for the follow-up) and what the figures read of it.
    counted_response_id = models.BigIntegerField(null=True, editable=False)
    pain_average = models.PositiveSmallIntegerField(null=True, editable=False)
    pgic = models.PositiveSmallIntegerField(null=True, editable=False)
    completed_at = models.DateTimeField(null=True, editable=False)
    # Copies of the ablation's columns that the figures filter, group and compute on (migration 0003), so that each
    # section of a report is one scan of this table, joined to nothing.
    physician_id = models.BigIntegerField(editable=False)
    nerve_id = models.BigIntegerField(editable=False)
    side = models.CharField(max_length=9, editable=False)
    performed_on = models.DateField(editable=False)
    baseline_nrs = models.PositiveSmallIntegerField(editable=False)
    # The ablation's qualifying block and, when that block is evaluable, its peak relief and the columns the block
    # filters read (its nerve and side are the ablation's: the composite foreign key of cryoablations 0002).
    qualifying_block_id = models.BigIntegerField(null=True, editable=False)
    qualifying_peak_relief_percent = models.DecimalField(max_digits=30, decimal_places=16, null=True, editable=False)
    qualifying_block_performed_at = models.DateTimeField(null=True, editable=False)
    qualifying_block_physician_id = models.BigIntegerField(null=True, editable=False)
    # Version 2 (migration 0007): the treatment's kind, and whether a repeat treatment supersedes this follow-up (a
    # copy of FollowUp.superseded_by, which cryoablations.services.supersession_refresh copies from the rule's view).
    kind = models.CharField(max_length=15, default="cryoablation", editable=False)
    superseded = models.BooleanField(default=False, editable=False)
    # The patient's site (Patient.site), for the figures of one site (migration 0014).
    site_id = models.BigIntegerField(editable=False)

    class Meta:
        db_table = "reports_followupfact"
        # The durability steps of an ablation are recomputed from its facts (migration 0004).
        indexes = [
            models.Index(fields=["ablation_id"], name="follow_up_fact_ablation"),
            models.Index(fields=["site_id"], name="follow_up_fact_site"),
            # The dashboard's page reads the facts of the months its counts by month cannot take whole by their dates,
            # and the funnel's rows (a time point, a qualifying block's peak relief at least the threshold), by these
            # (migration 0015).
            models.Index(fields=["window_end"], name="follow_up_fact_window_end"),
            models.Index(fields=["performed_on"], name="follow_up_fact_performed_on"),
            models.Index(fields=["time_point", "qualifying_peak_relief_percent"], name="follow_up_fact_funnel"),
        ]

    def __str__(self) -> str:
        return f"follow-up {self.follow_up_id}: answer {self.counted_response_id}"


class _MonthCell(models.Model):
    """Facts counted by month (migration 0015): for each site, time point, kind, nerve, month of the treatment and
    month in which the time point's window ends, and the columns of the figure they serve, how many facts there are
    (follow_ups) and the figure's counts among them. The dashboard's page reads its figures from these few thousand
    rows instead of every fact (apps.reports.sql.PAGE_CELLS); it reads the facts of a month it cannot take whole (one
    its dates cut, the one its as-of date falls in) one by one.

    Kept by statement triggers on the facts' table, which append each statement's change as rows of signed counts
    (nothing to lock: concurrent writers never wait on each other); readers add the rows up, and
    reports_cells_compact (apps.reports.tasks.cells_compact, every few minutes) merges them. Written only by the
    database."""

    site_id = models.BigIntegerField(editable=False)
    time_point = models.CharField(max_length=10, editable=False)
    performed_month = models.DateField(editable=False)
    window_end_month = models.DateField(editable=False)
    follow_ups = models.IntegerField(editable=False)

    class Meta:
        abstract = True
        # One site's figures read its cells by this (a network's tables hold a million rows).
        indexes = [models.Index(fields=["site_id"], name="%(class)s_site")]

    def __str__(self) -> str:
        return f"{self.follow_ups} at {self.time_point}, treated in {self.performed_month:%Y-%m}"


class _KindNerveCell(_MonthCell):
    """A _MonthCell by the treatment's kind and nerve as well."""

    kind = models.CharField(max_length=15, editable=False)
    nerve_id = models.BigIntegerField(editable=False)

    class Meta(_MonthCell.Meta):
        abstract = True


class FollowUpCell(_KindNerveCell):
    """The follow-up facts counted by month with the band of their qualifying block's peak relief (reports_band): how
    many would be superseded, answered, evaluable, responders (at the registry's responder reduction, and at 30%) and
    PGIC-improved once closed (reports_follow_up_outcome, the rule FOLLOW_UP_FLAGS reads per fact). Counted again
    from the facts when the registry's responder reduction or block threshold changes."""

    band = models.SmallIntegerField(null=True, editable=False)
    # The qualifying block is positive at the registry's threshold (blocks_positive): the funnel's 3-month rows.
    positive = models.BooleanField(editable=False)
    superseded = models.IntegerField(editable=False)
    answered = models.IntegerField(editable=False)
    evaluable = models.IntegerField(editable=False)
    responders = models.IntegerField(editable=False)
    responders_30 = models.IntegerField(editable=False)
    pgic_improved = models.IntegerField(editable=False)

    class Meta(_MonthCell.Meta):
        db_table = "reports_followupcell"


class PainCell(_MonthCell):
    """The answered follow-up facts counted by month, average pain and baseline (the pain section's distribution);
    neither by kind nor by nerve, for fewer rows: a page that chooses either counts its pain from the facts."""

    pain_average = models.SmallIntegerField(null=True, editable=False)
    baseline_nrs = models.SmallIntegerField(editable=False)

    class Meta(_MonthCell.Meta):
        db_table = "reports_paincell"


class InstrumentCell(_KindNerveCell):
    """The instrument facts asked and not superseded, counted by month, instrument and change, with their responders
    and positive screens."""

    instrument_id = models.BigIntegerField(editable=False)
    change = models.FloatField(editable=False)
    responders = models.IntegerField(editable=False)
    positive_baseline = models.IntegerField(editable=False)
    positive_now = models.IntegerField(editable=False)

    class Meta(_MonthCell.Meta):
        db_table = "reports_instrumentcell"


class BlockCell(models.Model):
    """The blocks' peak relief rows (blocks_blockpeakrelief) counted by site, nerve, peak relief (none: not evaluable)
    and whether a treatment names the block (migration 0015, kept as _MonthCell's tables): the page's funnel when no
    dates are chosen (a block's date decides nothing then)."""

    site_id = models.BigIntegerField(editable=False)
    nerve_id = models.BigIntegerField(editable=False)
    peak_relief_percent = models.DecimalField(max_digits=30, decimal_places=16, null=True, editable=False)
    ablated = models.BooleanField(editable=False)
    blocks = models.IntegerField(editable=False)

    class Meta:
        db_table = "reports_blockcell"

    def __str__(self) -> str:
        return f"{self.blocks} blocks of peak relief {self.peak_relief_percent}"


class OpioidCell(_KindNerveCell):
    """The opioid facts counted by month and change of MME (none when superseded), with how many no repeat treatment
    supersedes (evaluable once closed) and, of those, how many reduced by at least 50% or discontinued
    (reports_opioid_outcome)."""

    change = models.FloatField(null=True, editable=False)
    evaluable = models.IntegerField(editable=False)
    reduced_50 = models.IntegerField(editable=False)
    discontinued = models.IntegerField(editable=False)

    class Meta(_MonthCell.Meta):
        db_table = "reports_opioidcell"


class DurabilityStep(models.Model):
    """Where an ablation stands in the durability estimate (outcome-definitions.md, Durability) once its follow-ups up
    to one of them are closed, derived from the follow-up facts and kept by database triggers (migration 0004); with
    the repeat dates, they make the durability states (DurabilityState) that the Kaplan-Meier counts read.

    A row per distinct window end of an ablation's follow-ups (the row of its follow-up with the lowest id), from
    which its estimate holds for every as-of date after `closed_after` up to `until` (the next later window end of the
    ablation; none: the last): among the counted answers of the follow-ups closed by then (baseline above 0), the
    first that is not a responder (`event`) or else the last that is (censored), by its completion time; the day is
    that answer's clinic-local date minus the ablation's, counted by the engine in the clinic's time zone. No row
    while none of them is evaluable. Responders are judged by the protocol's responder percent: changing it
    recomputes every row. Not in the change history: a derived value is no change a person made."""

    follow_up_id = models.BigIntegerField(primary_key=True, editable=False)
    ablation_id = models.BigIntegerField(editable=False)
    closed_after = models.DateField(editable=False)
    until = models.DateField(null=True, editable=False)
    marker_completed_at = models.DateTimeField(editable=False)
    event = models.BooleanField(editable=False)
    # Copies of the ablation's columns that the figures filter on (sql.FACT_FILTERS reads them under these names).
    physician_id = models.BigIntegerField(editable=False)
    nerve_id = models.BigIntegerField(editable=False)
    side = models.CharField(max_length=9, editable=False)
    performed_on = models.DateField(editable=False)
    kind = models.CharField(max_length=15, default="cryoablation", editable=False)

    class Meta:
        db_table = "reports_durabilitystep"
        indexes = [models.Index(fields=["ablation_id"], name="durability_step_ablation")]

    def __str__(self) -> str:
        return f"ablation {self.ablation_id} after {self.closed_after}"


class DurabilityState(models.Model):
    """Where a treatment stands in the durability estimate (outcome-definitions.md, Durability, and "Version 2: exact
    readings") for every as-of date from `valid_from` to the day before `valid_until` (none: on), derived from its
    durability steps and its repeat date (TreatmentFact.repeat_on) and kept by database triggers (migration 0016):
    `event` (else censored) and `day`, the days from the treatment to it. Before the repeat date, a step's; from it
    on, an event: on the step's day when its answer was a non-responder's before the repeat date, otherwise on the
    repeat date. Only treatments whose baseline is above 0; none while neither a step nor a repeat holds. So the
    Kaplan-Meier counts at a date are one scan of this table (sql.DURABILITY_TREATMENTS). Not in the change history:
    a derived value is no change a person made."""

    pk = models.CompositePrimaryKey("ablation_id", "valid_from")
    ablation_id = models.BigIntegerField(editable=False)
    # Copies of the treatment's columns that the figures filter on (sql._ablation_filters reads them by these names).
    site_id = models.BigIntegerField(editable=False)
    kind = models.CharField(max_length=15, editable=False)
    nerve_id = models.BigIntegerField(editable=False)
    physician_id = models.BigIntegerField(editable=False)
    side = models.CharField(max_length=9, editable=False)
    performed_on = models.DateField(editable=False)
    valid_from = models.DateField(editable=False)
    valid_until = models.DateField(null=True, editable=False)
    event = models.BooleanField(editable=False)
    day = models.IntegerField(editable=False)

    class Meta:
        db_table = "reports_durabilitystate"
        indexes = [models.Index(fields=["site_id"], name="durability_state_site")]

    def __str__(self) -> str:
        return f"treatment {self.ablation_id} from {self.valid_from}"


class TreatmentFact(models.Model):
    """One treatment with the repeat rule's answer for it: the treatment that supersedes it and that one's date (none:
    not superseded), copied from the view cryoablations_supersession (the rule's one home) with the treatment's columns
    the figures filter and group on, kept by database triggers on the treatments (migration 0009). The durability and
    time-to-repeat figures scan this narrow table instead of asking the view once per treatment.

    Written only by the triggers: inserts, deletes and updates of treatments recompute every treatment of the
    patients concerned (a change of one may change which of the others it supersedes); a deleted treatment takes its
    row with it (ON DELETE CASCADE). Not in the change history: a derived value is no change a person made."""

    ablation = models.OneToOneField(
        "cryoablations.Cryoablation",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        primary_key=True,
        related_name="+",
    )
    kind = models.CharField(max_length=15, editable=False)
    physician_id = models.BigIntegerField(editable=False)
    nerve_id = models.BigIntegerField(editable=False)
    side = models.CharField(max_length=9, editable=False)
    performed_on = models.DateField(editable=False)
    baseline_nrs = models.PositiveSmallIntegerField(editable=False)
    superseded_by_id = models.BigIntegerField(null=True, editable=False)
    repeat_on = models.DateField(null=True, editable=False)
    # The patient's site (Patient.site), for the figures of one site (migration 0014).
    site_id = models.BigIntegerField(editable=False)

    class Meta:
        db_table = "reports_treatmentfact"
        indexes = [models.Index(fields=["site_id"], name="treatment_fact_site")]

    def __str__(self) -> str:
        return f"treatment {self.ablation_id}: superseded by {self.superseded_by_id}"


class _FollowUpCopy(models.Model):
    """The follow-up's, its treatment's and its patient's columns an instrument or opioid fact copies (migration
    0012), as FollowUpFact copies them: the figures filter and group a scan of the fact's table alone."""

    time_point = models.CharField(max_length=10, editable=False)
    window_end = models.DateField(editable=False)
    superseded = models.BooleanField(editable=False)
    kind = models.CharField(max_length=15, editable=False)
    physician_id = models.BigIntegerField(editable=False)
    nerve_id = models.BigIntegerField(editable=False)
    side = models.CharField(max_length=9, editable=False)
    performed_on = models.DateField(editable=False)
    site_id = models.BigIntegerField(editable=False)

    class Meta:
        abstract = True


class InstrumentFact(_FollowUpCopy):
    """One follow-up x instrument with the treatment's baseline answer's score and the answer counted at that time
    point's score, as the instruments' rules pick them (instruments_baseline_answers, instruments_counted_answers:
    instruments migrations 0003 to 0005, in the clinic's time zone, reports_time_zone()), kept by database triggers
    (migration 0010); a row only when both answers exist. The instruments' figures read this narrow table instead of
    running the two rules over every answer on each report or first dashboard load. Whether the time point is closed
    depends on the report's date, so only the window's end is stored.

    Written only by the triggers: inserts, updates and deletes of answers, of follow-ups (a window, the superseding
    treatment), updates of a treatment's date, kind, physician, nerve or side, of an instrument's schedule and its
    versions recompute the rows of the treatments concerned; a change of the
    clinic's time zone (settings.TIME_ZONE, at migrate) recomputes every row. Not in the change history: a derived
    value is no change a person made."""

    pk = models.CompositePrimaryKey("follow_up_id", "instrument_id")
    follow_up_id = models.BigIntegerField(editable=False)
    instrument_id = models.BigIntegerField(editable=False)
    ablation_id = models.BigIntegerField(editable=False)
    baseline_total = models.DecimalField(max_digits=12, decimal_places=4, editable=False)
    baseline_items = models.PositiveSmallIntegerField(editable=False)
    counted_total = models.DecimalField(max_digits=12, decimal_places=4, editable=False)
    counted_items = models.PositiveSmallIntegerField(editable=False)
    # What the instrument's rules make of the two scores under its current version (migration 0012): asked at this
    # time point (its schedule), the change (follow-up minus baseline), responder, positive screens (None: the
    # instrument screens for nothing).
    asked = models.BooleanField(editable=False)
    change = models.FloatField(editable=False)
    responder = models.BooleanField(null=True, editable=False)
    positive_baseline = models.BooleanField(null=True, editable=False)
    positive_now = models.BooleanField(null=True, editable=False)

    class Meta:
        db_table = "reports_instrumentfact"
        indexes = [
            models.Index(fields=["ablation_id"], name="instrument_fact_ablation"),
            models.Index(fields=["site_id"], name="instrument_fact_site"),
            # As the follow-up facts' (migration 0015).
            models.Index(fields=["window_end"], name="instrument_fact_window_end"),
            models.Index(fields=["performed_on"], name="instrument_fact_performed_on"),
        ]

    def __str__(self) -> str:
        return f"follow-up {self.follow_up_id}, instrument {self.instrument_id}"


class OpioidFact(_FollowUpCopy):
    """One follow-up of a treatment whose patient took opioids on the treatment day, with the patient's daily MME on
    the treatment day (the baseline, above 0) and on the follow-up's target day, by the MME rule (medications_mme,
    medications migrations 0002 and 0003), kept by database triggers (migration 0010). The opioid figures read this
    narrow table instead of summing the patients' statements per treatment and time point on each report; whether the
    time point is evaluable (closed and not superseded, as of the report) is read from its copied window and
    supersession.

    Written only by the triggers: inserts, updates and deletes of medication statements, of treatments (patient,
    date, kind, physician, nerve, side) and of follow-ups (target day, window, supersession) recompute the rows of the
    patients concerned. Not in the change history: a derived value is no change a person made."""

    follow_up_id = models.BigIntegerField(primary_key=True, editable=False)
    ablation_id = models.BigIntegerField(editable=False)
    patient_id = models.BigIntegerField(editable=False)
    # Exact: a dose has 3 decimals and a factor at most 3 (medications_mme_factor), so an MME at most 6.
    baseline = models.DecimalField(max_digits=20, decimal_places=6, editable=False)
    mme = models.DecimalField(max_digits=20, decimal_places=6, editable=False)

    class Meta:
        db_table = "reports_opioidfact"
        indexes = [
            models.Index(fields=["patient_id"], name="opioid_fact_patient"),
            models.Index(fields=["site_id"], name="opioid_fact_site"),
            # As the follow-up facts' (migration 0015).
            models.Index(fields=["window_end"], name="opioid_fact_window_end"),
            models.Index(fields=["performed_on"], name="opioid_fact_performed_on"),
        ]

    def __str__(self) -> str:
        return f"follow-up {self.follow_up_id}: {self.mme} MME"
