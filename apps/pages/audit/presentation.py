"""The audit trail in words: what a person reads on the audit pages and in the change history's CSV, instead of
the trail's own keys (object types, column names, ids, choice codes, system actor labels)."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from django.apps import apps
from django.core.exceptions import ObjectDoesNotExist
from django.db import models
from django.utils import timezone
from django.utils.text import capfirst

# Access events name a page or an API list rather than one record by these object types (the views' own,
# apps/*/views.py); a record is named by its model (below).
PAGE_NAMES = {
    "patient_list": "Patient list",
    "worklist": "Follow-up worklist",
    "new_problems": "New problems (worklist)",
    "dashboard": "Outcomes dashboard",
    "drill_down": "Dashboard procedures",
    "report_run": "Report",
    "access_log": "Access log",
    "change_history": "Change history",
    "registry_upload": "Registry import files",
    "block_list": "Diagnostic blocks (API)",
    "ablation_list": "Cryoablations (API)",
    "treatment_list": "Treatments (API)",
    "adverse_event_list": "Adverse events (API)",
    "medication_statement_list": "Opioid statements (API)",
    "instrument_answer_list": "Instrument answers (API)",
    "follow_up_list": "Follow-ups (API)",
    "outcomes_report": "Outcomes report (API)",
    "fhir_bulk_export": "FHIR export",
}

# Records whose model name reads oddly by itself. The link table of users and groups is where roles are held.
_RECORD_NAMES = {
    "followup": "Follow-up",
    "surveyresponse": "Survey answers",
    "diaryentry": "Pain diary entry",
    "problemreview": "Review of a new problem",
    "medicationstatement": "Opioid",
    "medicationreview": "Review of the opioid list",
    "instrumentanswer": "Instrument answers",
    "instrumentversion": "Instrument definition",
    "user_groups": "Role membership",
}

# Management commands whose changes or reads an admin knows by another name.
COMMAND_NAMES = {"seed_demo": "Demo data", "import_registry": "Registry import", "export_fhir": "FHIR export"}

# Columns that say nothing to a reader of the history: row ids, derived search keys, bookkeeping times.
_HIDDEN_COLUMNS = {"id", "public_id", "search_name", "created_at", "updated_at"}
# A follow-up's time point is named by its label, which the history holds beside it.
_HIDDEN_FIELDS = {("followup", "time_point"), ("timepoint", "code")}


def _models_by_name() -> dict[str, type[models.Model]]:
    found: dict[str, type[models.Model]] = {}
    for model in apps.get_models(include_auto_created=True):
        found.setdefault(str(model._meta.model_name), model)
    return found


def record_type_name(model: type[models.Model]) -> str:
    meta = model._meta
    return _RECORD_NAMES.get(str(meta.model_name)) or capfirst(str(meta.verbose_name))


def object_type_name(object_type: str) -> str:
    """An access event's object type in words: a page's name, or the name of the kind of record."""
    if not object_type:
        return ""
    if object_type in PAGE_NAMES:
        return PAGE_NAMES[object_type]
    model = _models_by_name().get(object_type)
    if model is not None:
        return record_type_name(model)
    return capfirst(object_type.replace("_", " "))


def object_type_choices() -> list[tuple[str, str]]:
    """(object type, its name) of everything the access log names: the pages and the registry's own records."""
    own = [
        model
        for model in apps.get_models()
        if model.__module__.startswith("apps.") and model._meta.app_label not in ("audit",)
    ]
    choices: dict[str, str] = {**PAGE_NAMES, **{str(model._meta.model_name): record_type_name(model) for model in own}}
    return sorted(choices.items(), key=lambda pair: pair[1])


def actor_name(label: str) -> str:
    """Who an access event's or change's actor is, in words: a username as it is, a system actor named."""
    if label == "patient:survey-link":
        return "Patient (survey link)"
    if label == "system:celery":
        return "Background task"
    if label.startswith("system:command:"):
        command = label.removeprefix("system:command:")
        return COMMAND_NAMES.get(command, f"Command {command}")
    return label


class RecordNamer:
    """Names records of the change history from their snapshots, and the values of their columns as the pages show
    them (choices by label, a related record by its name, times in the clinic's time zone). Related records are
    read once each, from their table or, once deleted, from their last snapshot in the history; `limit` bounds
    what is kept for a long export."""

    def __init__(self, *, event_models: dict, limit: int = 20_000) -> None:
        self._event_models = event_models
        self._cache: dict[tuple[type[models.Model], object], models.Model | None] = {}
        self._limit = limit

    # Records ------------------------------------------------------------------------------------------------

    def instance(self, model: type[models.Model], data: dict) -> models.Model:
        """An unsaved instance of `model` holding a snapshot's values (column -> value), its relations resolved."""
        columns = {field.column: field for field in model._meta.concrete_fields}
        values = {}
        for column, value in data.items():
            field = columns.get(column)
            if field is not None:
                try:
                    values[field.attname] = field.to_python(value)
                except Exception:  # noqa: BLE001 -- a value a later field no longer takes: shown as recorded
                    values[field.attname] = value
        obj = model(**values)
        self._resolve(obj)
        return obj

    def _resolve(self, obj: models.Model, depth: int = 3) -> None:
        if depth == 0:
            return
        for field in obj._meta.concrete_fields:
            if field.is_relation and (value := getattr(obj, field.attname)) is not None:
                related = self._related(cast(type[models.Model], field.related_model), value, depth - 1)
                if related is not None:
                    cast(Any, field).set_cached_value(obj, related)

    def _related(self, model: type[models.Model], pk, depth: int) -> models.Model | None:
        key = (model, pk)
        if key not in self._cache:
            if len(self._cache) >= self._limit:
                self._cache.clear()
            obj = model._default_manager.filter(pk=pk).first()
            if obj is None and (event_model := self._event_models.get(model)) is not None:
                event = event_model.objects.filter(pgh_obj_id=pk).order_by("-pgh_id").first()
                if event is not None:
                    obj = model(**{f.attname: getattr(event, f.attname, None) for f in model._meta.concrete_fields})
            if obj is not None:
                self._resolve(obj, depth)
            self._cache[key] = obj
        return self._cache[key]

    def name(self, model: type[models.Model], data: dict | None, object_id: str = "") -> str:
        """A record in words: a patient by MRN, a block, ablation or follow-up by what it is and its date."""
        kind = record_type_name(model)
        if not data:
            return f"{kind} (no values recorded)"
        obj = self.instance(model, data)
        try:
            return f"{kind}: {self._words(obj)}"
        except ObjectDoesNotExist:  # it points to a record the registry no longer knows
            return f"{kind} {object_id}".strip()

    def _words(self, obj: Any) -> str:
        label = obj._meta.label
        if label == "patients.Patient":
            return obj.mrn
        if label == "blocks.DiaryEntry":
            return f"{obj.minutes_after} min after the {obj.block}"
        if label == "surveys.SurveyLink":
            of = obj.follow_up or obj.block
            return f"{of}" if obj.follow_up else f"{obj.diary_minutes} min after the {of}"
        if label == "adverse_events.ProblemReview":
            return f"{obj.get_decision_display()}, the {self._words(obj.response)} answers"
        if label == "surveys.SurveyResponse":
            when = timezone.localtime(obj.completed_at).date() if obj.completed_at else ""
            of = obj.follow_up or obj.ablation
            return f"{when}, {of}"
        if obj._meta.auto_created:  # a user's role
            return f"{obj.group} of {obj.user.username}"
        if label == "accounts.User":
            return obj.username
        if label == "registry.ImportRun":  # its own name gives the time in UTC
            return f"{timezone.localtime(obj.started_at):%Y-%m-%d %H:%M} ({obj.get_status_display()})"
        if type(obj).__str__ is models.Model.__str__:  # type: ignore[comparison-overlap]  # the stubs type the two apart
            return f"{obj.pk}"
        return str(obj)

    # Values -------------------------------------------------------------------------------------------------

    def changes(self, model: type[models.Model], action: str, before: dict | None, after: dict | None) -> str:
        """The values of a change as "Label: value" text: for an update only what changed, "before → after"."""
        after = after or {}
        columns = {field.column: field for field in model._meta.concrete_fields}
        shown = [c for c in after if c in columns and not self._hidden(model, columns[c])] + [
            c for c in after if c not in columns and c not in _HIDDEN_COLUMNS
        ]
        if action == "update" and before:
            old, new = self.instance(model, before), self.instance(model, after)
            texts = []
            for c in (c for c in shown if before.get(c) != after.get(c)):
                was, now = (
                    self._value(old, columns.get(c), before.get(c)),
                    self._value(new, columns.get(c), after.get(c)),
                )
                if was == now and (field := columns.get(c)) is not None:  # a time that moved by seconds
                    was = _plain(getattr(old, field.attname), seconds=True)
                    now = _plain(getattr(new, field.attname), seconds=True)
                texts.append(f"{self._label(model, c, columns)}: {was} → {now}")
            return "; ".join(texts)
        obj = self.instance(model, after)
        return "; ".join(
            f"{self._label(model, c, columns)}: {self._value(obj, columns.get(c), after[c])}"
            for c in shown
            if after[c] not in (None, "", [], {})
        )

    @staticmethod
    def _hidden(model, field) -> bool:
        return field.column in _HIDDEN_COLUMNS or (model._meta.model_name, field.name) in _HIDDEN_FIELDS

    @staticmethod
    def _label(model, column: str, columns: dict) -> str:
        field = columns.get(column)
        return capfirst(str(field.verbose_name)) if field is not None else capfirst(column.replace("_", " "))

    def _value(self, obj: models.Model, field, raw) -> str:
        if raw is None or raw == "" or field is None:
            return _plain(raw)
        if field.is_relation:
            try:
                related = getattr(obj, field.name)
            except ObjectDoesNotExist:
                return f"{raw} (no longer in the registry)"
            if related._meta.label == "patients.Patient":
                return related.mrn
            if related._meta.label == "accounts.User":
                return related.username
            try:
                return self._words(related)
            except ObjectDoesNotExist:
                return str(raw)
        display = getattr(obj, f"get_{field.name}_display", None)
        if display is not None:
            return str(display())
        return _plain(getattr(obj, field.attname))


def _plain(value, *, seconds: bool = False) -> str:
    if value is None or value == "":
        return "(empty)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dt.datetime):
        shown = "%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M"
        return timezone.localtime(value).strftime(shown) if timezone.is_aware(value) else f"{value}"
    if isinstance(value, dict):
        return "; ".join(f"{capfirst(str(k).replace('_', ' '))}: {_plain(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(_plain(v) for v in value)
    return str(value)
