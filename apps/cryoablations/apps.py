from django.apps import AppConfig


class CryoablationsConfig(AppConfig):
    name = "apps.cryoablations"
    # The columns the audit trail snapshots on every change (why named, not "all": apps/audit/models.py).
    audited_fields = {
        "Cryoablation": "id public_id patient performed_on physician nerve side kind device probe cycles "
        "freeze_seconds cannula_gauge active_tip_mm temperature_c lesion_seconds lesions leads removed_on "
        "guidance baseline_nrs complications qualifying_block qualifying_source external_id created_at updated_at",
        "FollowUp": "id public_id ablation time_point label target_date window_start window_end counted_response "
        "superseded_by",
    }
