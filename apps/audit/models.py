"""The audit trail: who read which patient's data (AccessEvent) and every change to clinical and account records
(the pghistory event models below, written by database triggers on the tracked tables).

Every table here is append-only and hash-chained by triggers (see db.py); `manage.py audit_verify` checks them.
"""

from __future__ import annotations

from typing import Any

import pghistory
from django.apps import apps as django_apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.utils import timezone
from pghistory.models import Event


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
    SMS_REFUSED = "sms_refused", "Text message webhook refused"


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
    # Named, not imported: the audit machinery sits below the clinical apps (pyproject.toml's import-linter contracts).
    patient = models.ForeignKey(
        "patients.Patient", null=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
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
CONTEXT: dict[str, Any] = {
    "context_field": pghistory.ContextJSONField(),
    "base_model": ChangeEvent,
    "app_label": "audit",
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


def _event_model(model, name: str, fields: list[str]):
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


def _audited_models() -> dict:
    """{model: its snapshot columns, space-separated} as the apps declare them: each app names the columns of its
    own models in its AppConfig.audited_fields, so this module imports none of them (it sits below them all). The
    columns are named rather than "all": a field another app adds then gets its history with an audit migration of
    its own, instead of a trigger writing to a column the event table does not have yet."""
    tracked = {}
    for app_config in django_apps.get_app_configs():
        declared = getattr(app_config, "audited_fields", {})
        if declared and app_config.models is None:
            raise ImproperlyConfigured(f"apps.audit must come after {app_config.name} in INSTALLED_APPS")
        for model_name, columns in declared.items():
            tracked[app_config.get_model(model_name, require_ready=False)] = columns
    return tracked


TRACKED_FIELDS = _audited_models()

# One change-history table per declared model, named after it (PatientEvent, FollowUpEvent, ...), made as a class
# statement in this module would make it.
for _model, _columns in TRACKED_FIELDS.items():
    _name = f"{_model.__name__}Event"
    globals()[_name] = type(_name, (_event_model(_model, _name, _columns.split()),), {"__module__": __name__})


# Role changes: rows of the user-group link table (a role granted is an insert, withdrawn a delete).
class UserGroupEvent(
    # mypy takes no class made by a call as a base; the call returns pghistory's event model class.
    _snapshot_columns_recorded_as_given(  # type: ignore[misc]
        pghistory.create_event_model(
            get_user_model().groups.through,
            pghistory.InsertEvent("role.grant"),
            pghistory.DeleteEvent("role.withdraw"),
            model_name="UserGroupEvent",
            obj_field=None,
            **CONTEXT,
        ),
        get_user_model().groups.through,
    )
):
    pass
