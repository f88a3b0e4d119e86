from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "apps.registry"
    verbose_name = "Registry import"
    # The columns the audit trail snapshots on every change (why named, not "all": apps/audit/models.py).
    audited_fields = {
        # Imports are recorded with who ran them and their counts (data-exchange.md).
        "ImportRun": "id started_at finished_at user source dry_run status counts problem_count created_physicians",
    }
