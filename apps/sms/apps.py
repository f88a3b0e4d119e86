from django.apps import AppConfig


class SmsConfig(AppConfig):
    name = "apps.sms"
    verbose_name = "two-way SMS"
    # The columns the audit trail snapshots on every change (why named, not "all": apps/audit/models.py). The body is
    # kept: staff's attach or dismissal is judged on it.
    audited_fields = {
        "InboundSms": "id public_id provider provider_message_id from_number body body_truncated received_at state "
        "inbox_reason keyword value patient prompt auto_reply processed_at reviewed_by reviewed_at dismiss_reason",
    }
