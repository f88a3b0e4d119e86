"""Writing the audit trail. Everything that records a read of PHI or a security event comes through here (the
access log); the change history is written by triggers, and by history_record_created for bulk writes."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, cast

import pgtrigger
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import connection
from django.db.models import Field, ForeignObjectRel, Model
from django.http import HttpRequest

from .models import TRACKED_FIELDS, AccessEvent, Action, Category
from .request import client_address, user_agent


def access_record(
    *,
    action: Action | str,
    category: Category | str,
    request: HttpRequest | None = None,
    actor: AbstractBaseUser | None = None,
    actor_label: str = "",
    object_type: str = "",
    object_id: str = "",
    patient_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> AccessEvent:
    """One access event. The actor is the request's user unless given; without either, `actor_label` names the
    system actor (e.g. "patient:survey-link", "system:celery")."""
    if actor is None and request is not None:
        user = getattr(request, "user", None)
        actor = user if user is not None and user.is_authenticated else None
    label = actor.get_username() if actor is not None else (actor_label or "anonymous")
    return AccessEvent.objects.create(
        actor=cast(Any, actor),  # a user of AUTH_USER_MODEL, whose class (apps.accounts) sits above this app
        actor_label=label,
        client_address=client_address(request) if request is not None else None,
        user_agent=user_agent(request) if request is not None else "",
        action=action,
        category=category,
        object_type=object_type,
        object_id=str(object_id or ""),
        patient_id=patient_id,
        path=request.path[:300] if request is not None else "",
        detail=detail or {},
    )


# ---------------------------------------------------------------------------------------------------------------
# Change history of bulk writes

# pghistory's triggers, named label_operation by its trackers (apps/audit/models.py: InsertEvent, UpdateEvent).
INSERT_TRIGGER = "insert_insert"
UPDATE_TRIGGER = "update_update"


@contextmanager
def history_in_bulk(*models: type[Model], updates: bool = False) -> Iterator[None]:
    """Inside, the per-row history triggers of `models` are skipped for inserts (and updates, with updates=True):
    the caller records the rows it created with history_record_created, one INSERT ... SELECT per table, once
    they hold their final values. Only pghistory's triggers: every other trigger on those tables still runs, and the
    event rows still go through the hash-chain trigger. Keep every other write of the transaction that fires
    history triggers inside one such block too: pgtrigger's check (_pgtrigger_should_ignore) catches an error in
    a subtransaction whenever no ignore list is set, and each caught error scans every deferred foreign-key check
    queued so far in the transaction, which turns a bulk write quadratic."""
    triggers = [INSERT_TRIGGER, UPDATE_TRIGGER] if updates else [INSERT_TRIGGER]
    with pgtrigger.ignore(*(f"{model._meta.label}:{name}" for model in models for name in triggers)):
        yield


def history_record_created(*, model: type[Model], ids: Sequence[int]) -> int:
    """One "insert" event per row of `model` in `ids`, as its trigger would have written it (the tracked columns,
    the current context, the transaction's time), in id order. Returns the number of events written."""
    if not ids:
        return 0
    event_model = _event_models()[model]
    names = TRACKED_FIELDS[model].split()
    quote = connection.ops.quote_name
    event_columns = ", ".join(quote(_column(event_model._meta.get_field(name))) for name in names)
    row_columns = ", ".join(quote(_column(model._meta.get_field(name))) for name in names)
    pk = quote(_column(model._meta.pk))
    with connection.cursor() as cursor:
        # The context expressions are pghistory's own (its trigger SQL), filled by its per-statement set_config.
        cursor.execute(
            f"""
            INSERT INTO {quote(event_model._meta.db_table)}
                ({event_columns}, pgh_context, pgh_context_id, pgh_created_at, pgh_label, pgh_obj_id)
            SELECT {row_columns},
                   COALESCE(NULLIF(CURRENT_SETTING('pghistory.context_metadata', TRUE), ''), NULL)::JSONB,
                   COALESCE(NULLIF(CURRENT_SETTING('pghistory.context_id', TRUE), ''), NULL)::UUID,
                   NOW(), 'insert', {pk}
            FROM {quote(model._meta.db_table)}
            WHERE {pk} = ANY(%s::{model._meta.pk.db_type(connection)}[])
            ORDER BY {pk}
            """,  # noqa: S608
            # One array literal: bound as a list, each of (up to) hundreds of thousands of ids is adapted apart.
            ["{" + ",".join(map(str, ids)) + "}"],
        )
        return cast(int, cursor.rowcount)


def _column(field: Field[Any, Any] | ForeignObjectRel | None) -> str:
    """A tracked column's name: django-stubs types get_field() and _meta.pk for any field, a relation's far end or
    none at all, whose column may be None."""
    return cast(str, cast("Field[Any, Any]", field).column)


def _event_models() -> dict[type[Model], type[Model]]:
    from django.apps import apps

    # pghistory's event models, made at run time: their class attribute pgh_tracked_model is not in its types.
    event_models: Iterable[Any] = apps.get_app_config("audit").get_models()
    return {
        model.pgh_tracked_model: model
        for model in event_models
        if getattr(model, "pgh_tracked_model", None) is not None and model.pgh_tracked_model in TRACKED_FIELDS
    }
