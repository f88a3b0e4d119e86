"""What made a change: the request, Celery task or management command, attached to every change-history row.

pghistory passes this context to its triggers with each SQL statement; the triggers copy it into the event row.
"""

from __future__ import annotations

import sys
import uuid
from typing import Any

import pghistory
from django.db import connection
from pghistory.middleware import HistoryMiddleware

from .request import client_address


class AuditContextMiddleware(HistoryMiddleware):
    """The user (id and username), request id, method, path (never the query string) and client address."""

    def get_context(self, request) -> dict:
        user: Any = getattr(request, "user", None)
        authenticated = user is not None and user.is_authenticated
        return {
            "user": user._meta.pk.get_db_prep_value(user.pk, connection) if authenticated else None,
            "username": user.get_username() if authenticated else None,
            "request_id": str(uuid.uuid4()),
            "method": request.method,
            "url": request.path,
            "client_address": client_address(request),
        }


def _task_prerun(task_id=None, task=None, **kwargs) -> None:
    context = pghistory.context(task=task.name, task_id=task_id, actor="system:celery")
    context.__enter__()
    task.request.pghistory_context = context


def _task_postrun(task=None, **kwargs) -> None:
    context = getattr(task.request, "pghistory_context", None)
    if context is not None:
        context.__exit__(None, None, None)


def track_commands_and_tasks() -> None:
    """Changes made by Celery tasks and management commands carry their name, as requests carry their user."""
    from celery.signals import task_postrun, task_prerun
    from django.core.management import BaseCommand

    task_prerun.connect(_task_prerun, weak=False, dispatch_uid="audit.task_prerun")
    task_postrun.connect(_task_postrun, weak=False, dispatch_uid="audit.task_postrun")

    if getattr(BaseCommand.execute, "_audit_wrapped", False):
        return
    execute = BaseCommand.execute

    # Django has no signal around a command's run, so wrap BaseCommand.execute once: every command (seed_demo,
    # imports, shell scripts run through manage.py) then records its name, never its arguments (they may be PHI).
    def execute_with_context(self, *args, **options):
        name = self.__class__.__module__.rsplit(".", 1)[-1]
        with pghistory.context(command=name, actor=f"system:command:{name}", argv0=sys.argv[0][-60:]):
            return execute(self, *args, **options)

    # A deliberate patch of Django's class, which mypy's types cannot describe.
    execute_with_context._audit_wrapped = True  # type: ignore[attr-defined]
    BaseCommand.execute = execute_with_context  # type: ignore[method-assign]
