from __future__ import annotations

from django.db.models import QuerySet

from .models import ImportRun


def import_run_list() -> QuerySet[ImportRun]:
    """Every import run, the latest first, with who ran it."""
    return ImportRun.objects.select_related("user")
