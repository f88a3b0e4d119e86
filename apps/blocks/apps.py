from django.apps import AppConfig


class BlocksConfig(AppConfig):
    name = "apps.blocks"
    # The columns the audit trail snapshots on every change (why named, not "all": apps/audit/models.py).
    audited_fields = {
        "DiagnosticBlock": "id public_id patient performed_at physician nerve side guidance needle drug "
        "concentration_percent volume_ml baseline_nrs suspected_diagnosis trigger_point_cm_from_midline "
        "trigger_point_mm_caudal_to_psis tinel_sign worse_with_posture compression_symptoms notes needle_gauge "
        "external_id created_at updated_at",
        "DiaryEntry": "id block minutes_after nrs source recorded_at",
    }
