from django.contrib import admin

from apps.audit.admin import AccessLoggedAdmin
from apps.clinic.admin import ReadOnlyAdmin

from .models import InboundSms


# Read-only: messages come in through the webhook (or sms_reply) and are handled on the worklist's "Text replies"
# tab, whose services record the answer and keep the decision in the change history.
@admin.register(InboundSms)
class InboundSmsAdmin(AccessLoggedAdmin, ReadOnlyAdmin):
    list_display = ["received_at", "provider", "state", "inbox_reason", "keyword", "value", "patient"]
    list_filter = ["state", "inbox_reason", "provider"]
    list_select_related = ["patient"]

    def audit_patient(self, obj):
        return obj.patient
