from django.apps import AppConfig


class ClinicConfig(AppConfig):
    name = "apps.clinic"
    # The columns the audit trail snapshots on every change (why named, not "all": apps/audit/models.py).
    audited_fields = {
        "Protocol": "id block_threshold_percent evaluation_window_minutes require_dual_blocks qualifying_block_days "
        "responder_percent invitation_hour reminder_days quiet_start_hour quiet_end_hour diary_minutes",
        "TimePoint": "id protocol code label target_day window_start_day window_end_day",
        "Nerve": "id code name is_active sort_order",
        "SiteProtocol": "site block_threshold_percent require_dual_blocks qualifying_block_days invitation_hour "
        "reminder_days quiet_start_hour quiet_end_hour diary_minutes diary_sms_mode survey_sms_mode",
        "SiteTimePoint": "id site_protocol time_point target_day window_start_day window_end_day",
    }
