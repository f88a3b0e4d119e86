from django.apps import AppConfig


class MedicationsConfig(AppConfig):
    name = "apps.medications"
    verbose_name = "medications"
    # The columns the audit trail snapshots on every change (why named, not "all": apps/audit/models.py).
    audited_fields = {
        "MedicationStatement": "id public_id patient opioid daily_dose started_on stopped_on recorded_by external_id "
        "created_at updated_at",
        "MedicationReview": "id patient reviewed_by reviewed_at",
    }
