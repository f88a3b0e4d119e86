from django.apps import AppConfig


class InstrumentsConfig(AppConfig):
    name = "apps.instruments"
    verbose_name = "instruments"
    # The columns the audit trail snapshots on every change (why named, not "all": apps/audit/models.py).
    audited_fields = {
        "Instrument": "id code name time_points created_at",
        "InstrumentVersion": "id instrument version definition languages scoring_method min_items better "
        "minimal_important_change positive_screen responder_rule responder_percent loaded_at",
        "InstrumentAnswer": "id public_id treatment instrument version completed_at answers language score_total "
        "score_items standard_error collected_via recorded_by recorded_at",
    }
