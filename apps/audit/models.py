"""The audit trail: who read which patient's data (AccessEvent) and every change to clinical and account records
(the pghistory event models below, written by database triggers on the tracked tables).

Every table here is append-only and hash-chained by triggers (see db.py); `manage.py audit_verify` checks them.
"""

from __future__ import annotations

import pghistory
from django.conf import settings
from django.db import models
from django.utils import timezone
from pghistory.models import Event

from apps.accounts.models import User
from apps.api.models import ApiToken
from apps.blocks.models import DiagnosticBlock, DiaryEntry
from apps.clinic.models import Nerve, Protocol, TimePoint
from apps.cryoablations.models import Cryoablation, FollowUp
from apps.patients.models import Patient
from apps.registry.models import ImportRun
from apps.surveys.models import SurveyLink, SurveyResponse


class Action(models.TextChoices):
    VIEW = "view", "Viewed"
    LIST = "list", "Listed"
    SEARCH = "search", "Searched"
    EDIT_FORM = "edit_form", "Opened form"
    EXPORT = "export", "Exported"
    PRINT = "print", "Printed"
    SIGN_IN = "sign_in", "Signed in"
    SIGN_OUT = "sign_out", "Signed out"
    SIGN_IN_FAILED = "sign_in_failed", "Sign-in failed"
    MFA_ENROLLED = "mfa_enrolled", "MFA enrolled"
    MFA_RECOVERY_CODES = "mfa_recovery_codes", "MFA recovery codes issued"
    MFA_REMOVED = "mfa_removed", "MFA removed"
    MFA_FAILED = "mfa_failed", "MFA code refused"
    SURVEY_OPENED = "survey_opened", "Survey link opened"
    SURVEY_SUBMITTED = "survey_submitted", "Survey submitted"


class Category(models.TextChoices):
    """What kind of data was read: the compliance office reports by category."""

    DEMOGRAPHICS = "demographics", "Demographics"
    CLINICAL = "clinical", "Clinical"
    SURVEY = "survey", "Survey answers"
    REPORT = "report", "Report"
    AUDIT = "audit", "Audit trail"
    AUTHENTICATION = "authentication", "Authentication"


class ChainedRow(models.Model):
    """Filled by the hash-chain trigger: position in the table's chain and sha256(previous hash || this row)."""

    chain_seq = models.BigIntegerField(null=True, unique=True, editable=False)
    row_hash = models.BinaryField(null=True, editable=False)

    class Meta:
        abstract = True


class ChainHead(models.Model):
    """The last position and hash of each audit table's chain, kept apart from the table (apps/audit/db.py): a
    table emptied, or cut short at its end, no longer meets its head. Written by a trigger after every INSERT on
    an audit table; its rows only move forward."""

    table_name = models.CharField(max_length=63, primary_key=True)
    # Not named chain_seq/row_hash: this table is not itself a chain (migration 0003 finds chains by those names).
    last_seq = models.BigIntegerField()
    last_hash = models.BinaryField()

    def __str__(self) -> str:
        return f"{self.table_name}: {self.last_seq}"


class AccessEvent(ChainedRow):
    id = models.BigAutoField(primary_key=True)
    occurred_at = models.DateTimeField(default=timezone.now)
    # No database foreign keys: an audit row must outlive (and never block deleting) what it mentions.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    # The username at the time, or a named system actor ("system:celery", "patient:survey-link").
    actor_label = models.CharField(max_length=150)
    client_address = models.GenericIPAddressField(null=True)
    user_agent = models.CharField(max_length=300, blank=True)
    action = models.CharField(max_length=32, choices=Action.choices)
    category = models.CharField(max_length=32, choices=Category.choices)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    patient = models.ForeignKey(Patient, null=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    path = models.CharField(max_length=300, blank=True)  # never the query string: it may hold a name
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["-occurred_at"], name="access_time"),
            models.Index(fields=["actor_label", "-occurred_at"], name="access_actor_time"),
            models.Index(fields=["patient", "-occurred_at"], name="access_patient_time"),
            models.Index(fields=["action", "-occurred_at"], name="access_action_time"),
            models.Index(fields=["object_type", "object_id", "-occurred_at"], name="access_object_time"),
        ]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.object_type}"


class ChangeEvent(Event, ChainedRow):
    """Base of the change-history tables: pghistory's event columns plus the hash chain."""

    pgh_created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        abstract = True


def _trackers() -> tuple:
    # Fresh instances per model: pghistory binds a tracker's change condition to the first model it sets up.
    return (pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())


# Context (user, request path and method, client address, task or command) is stored on each event row, so the
# hash chain covers it and nothing a later UPDATE of a shared context row could change.
CONTEXT = {"context_field": pghistory.ContextJSONField(), "base_model": ChangeEvent, "app_label": "audit"}


# The columns snapshotted per model, named rather than "all": a field another app adds then gets its history with
# an audit migration of its own, instead of a trigger writing to a column the event table does not have yet.
TRACKED_FIELDS = {
    Patient: "id public_id mrn first_name last_name date_of_birth sex email mobile_phone preferred_channel language "
    "timezone reminder_consent is_active search_name opted_out_at email_undeliverable_at phone_invalid_at created_at "
    "updated_at",
    DiagnosticBlock: "id public_id patient performed_at physician nerve side guidance needle drug "
    "concentration_percent volume_ml baseline_nrs suspected_diagnosis trigger_point_cm_from_midline "
    "trigger_point_mm_caudal_to_psis tinel_sign worse_with_posture compression_symptoms notes needle_gauge external_id "
    "created_at updated_at",
    DiaryEntry: "id block minutes_after nrs source recorded_at",
    Cryoablation: "id public_id patient performed_on physician nerve side device probe cycles freeze_seconds guidance "
    "baseline_nrs complications qualifying_block qualifying_source external_id created_at updated_at",
    FollowUp: "id public_id ablation time_point label target_date window_start window_end counted_response",
    SurveyResponse: "id public_id ablation follow_up completed_at pain_average pain_current pain_worst percent_relief "
    "pgic collected_via recorded_by recorded_at",
    Protocol: "id block_threshold_percent evaluation_window_minutes require_dual_blocks qualifying_block_days "
    "responder_percent invitation_hour reminder_days quiet_start_hour quiet_end_hour diary_minutes",
    TimePoint: "id protocol code label target_day window_start_day window_end_day",
    Nerve: "id code name is_active sort_order",
    # Never the token's hash: with it, the history would hold what a link is checked against.
    SurveyLink: "id public_id patient follow_up block diary_minutes expires_at created_at opened_at used_at revoked_at",
    # Imports are recorded with who ran them and their counts (data-exchange.md).
    ImportRun: "id started_at finished_at user source dry_run status counts problem_count created_physicians",
    # Never the key's hash: with it, the history would hold what an API request is checked against.
    ApiToken: "id user name key_prefix read_only expires_at revoked_at last_used_at created_by created_at",
    # Never the password hash: the history would become a store of old hashes to crack.
    User: "id last_login is_superuser username first_name last_name email is_staff is_active date_joined",
}


def _snapshot_columns_recorded_as_given(event_base, tracked_model):
    """Every snapshot column nullable and without a default, whatever the tracked field says: a column added to
    the event table later then reads null in the older rows, which keeps their hashes (apps/audit/db.py). The
    values still come from the tracked row, under its own constraints; the event table only records them."""
    tracked = {field.name for field in tracked_model._meta.concrete_fields}
    for field in event_base._meta.local_fields:
        if field.name in tracked:
            field.null = True
            field.default = models.NOT_PROVIDED
            field.db_default = models.NOT_PROVIDED
    return event_base


def _event_model(model, name: str):
    fields = TRACKED_FIELDS[model].split()
    return _snapshot_columns_recorded_as_given(
        pghistory.create_event_model(
            model,
            *_trackers(),
            model_name=name,
            fields=fields,
            obj_field=pghistory.ObjForeignKey(related_name="change_events", related_query_name="change_event"),
            **CONTEXT,
        ),
        model,
    )


class PatientEvent(_event_model(Patient, "PatientEvent")):
    pass


class DiagnosticBlockEvent(_event_model(DiagnosticBlock, "DiagnosticBlockEvent")):
    pass


class DiaryEntryEvent(_event_model(DiaryEntry, "DiaryEntryEvent")):
    pass


class CryoablationEvent(_event_model(Cryoablation, "CryoablationEvent")):
    pass


class FollowUpEvent(_event_model(FollowUp, "FollowUpEvent")):
    pass


class SurveyResponseEvent(_event_model(SurveyResponse, "SurveyResponseEvent")):
    pass


class ProtocolEvent(_event_model(Protocol, "ProtocolEvent")):
    pass


class TimePointEvent(_event_model(TimePoint, "TimePointEvent")):
    pass


class NerveEvent(_event_model(Nerve, "NerveEvent")):
    pass


class UserEvent(_event_model(User, "UserEvent")):
    pass


class SurveyLinkEvent(_event_model(SurveyLink, "SurveyLinkEvent")):
    pass


class ImportRunEvent(_event_model(ImportRun, "ImportRunEvent")):
    pass


class ApiTokenEvent(_event_model(ApiToken, "ApiTokenEvent")):
    pass


# Role changes: rows of the user-group link table (a role granted is an insert, withdrawn a delete).
class UserGroupEvent(
    _snapshot_columns_recorded_as_given(
        pghistory.create_event_model(
            User.groups.through,
            pghistory.InsertEvent("role.grant"),
            pghistory.DeleteEvent("role.withdraw"),
            model_name="UserGroupEvent",
            obj_field=None,
            **CONTEXT,
        ),
        User.groups.through,
    )
):
    pass
