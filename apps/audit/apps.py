from django.apps import AppConfig
from django.core import checks
from django.db.models.signals import post_migrate


class AuditConfig(AppConfig):
    name = "apps.audit"

    def ready(self) -> None:
        from . import context, db, signals  # noqa: F401

        # The append-only and hash-chain triggers are installed after every migrate (idempotently) rather than
        # by migrations, so an event table added later can never be left without them.
        # Once per migrate (and per test flush): at this app's signal, every table then exists.
        post_migrate.connect(db.install_audit_triggers, sender=self, dispatch_uid="audit.install_audit_triggers")
        context.track_commands_and_tasks()
        checks.register(db.audit_schema_check)
