from django.apps import AppConfig


class PatientsConfig(AppConfig):
    name = "apps.patients"
    # The columns the audit trail snapshots on every change (why named, not "all": apps/audit/models.py).
    audited_fields = {
        "Patient": "id public_id mrn first_name last_name date_of_birth sex email mobile_phone preferred_channel "
        "site language timezone reminder_consent is_active search_name opted_out_at email_undeliverable_at "
        "phone_invalid_at sms_consent_on sms_consent_by sms_consent_wording sms_opted_out_at created_at updated_at",
    }
