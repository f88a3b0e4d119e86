from django.apps import AppConfig, apps
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "apps.accounts"
    # The columns the audit trail snapshots on every change (why named, not "all": apps/audit/models.py).
    audited_fields = {
        # Never the password hash: the history would become a store of old hashes to crack.
        "User": "id last_login is_superuser username first_name last_name email is_staff is_active date_joined",
    }

    def ready(self) -> None:
        from . import ratelimit, sessions  # noqa: F401 -- their signal receivers
        from .roles import sync_role_groups

        # Permissions only exist once every app has migrated, hence post_migrate rather than a data migration; and
        # once per migrate (and per test flush), at the signal of the last app (post_migrate is sent app by app, each
        # app's permissions made at its own), not at every app's.
        last = [config for config in apps.get_app_configs() if config.models_module is not None][-1]
        post_migrate.connect(sync_role_groups, sender=last, dispatch_uid="accounts.sync_role_groups")
