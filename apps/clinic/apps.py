from django.apps import AppConfig


class ClinicConfig(AppConfig):
    name = "apps.clinic"
    # The columns the audit trail snapshots on every change of these models (apps/audit/models.py makes their
    # event tables), named rather than "all": a field added later gets its history with an audit migration.
    audited_fields = {
        "Protocol": "id block_threshold_percent evaluation_window_minutes require_dual_blocks qualifying_block_days "
        "responder_percent invitation_hour reminder_days quiet_start_hour quiet_end_hour diary_minutes",
        "TimePoint": "id protocol code label target_day window_start_day window_end_day",
        "Nerve": "id code name is_active sort_order",
    }
