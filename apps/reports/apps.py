from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def facts_time_zone_sync(*, using: str = "default", **_: Any) -> None:
    """The instrument facts are computed in the clinic's time zone (reports migration 0010): after every migrate, tell
    the database settings.TIME_ZONE; a changed one recomputes every instrument fact."""
    from django.conf import settings
    from django.db import connections

    with connections[using].cursor() as cursor:
        cursor.execute("SELECT to_regprocedure('reports_time_zone_set(text)') IS NOT NULL")
        if cursor.fetchone()[0]:
            cursor.execute("SELECT reports_time_zone_set(%s)", [settings.TIME_ZONE])


class ReportsConfig(AppConfig):
    name = "apps.reports"
    verbose_name = "Outcome reports"

    def ready(self) -> None:
        post_migrate.connect(facts_time_zone_sync, sender=self, dispatch_uid="reports.facts_time_zone_sync")
