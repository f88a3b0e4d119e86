from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "apps.registry"
    verbose_name = "Registry import"
    # The columns the audit trail snapshots on every change of these models (apps/audit/models.py makes their
    # event tables), named rather than "all": a field added later gets its history with an audit migration.
    audited_fields = {
        # Imports are recorded with who ran them and their counts (data-exchange.md).
        "ImportRun": "id started_at finished_at user source dry_run status counts problem_count created_physicians",
    }
