from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "apps.api"
    label = "api"
    verbose_name = "REST API"
    # The columns the audit trail snapshots on every change (why named, not "all": apps/audit/models.py).
    audited_fields = {
        # Never the key's hash: with it, the history would hold what an API request is checked against.
        "ApiToken": "id user name key_prefix read_only expires_at revoked_at last_used_at created_by created_at",
    }

    def ready(self) -> None:
        from . import schema  # noqa: F401 (registers the token's OpenAPI description)
