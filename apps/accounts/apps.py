from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "apps.accounts"

    def ready(self) -> None:
        from . import ratelimit, sessions  # noqa: F401 -- their signal receivers
        from .roles import sync_role_groups

        # Permissions only exist once every app has migrated, hence post_migrate rather than a data migration.
        post_migrate.connect(sync_role_groups, dispatch_uid="accounts.sync_role_groups")
