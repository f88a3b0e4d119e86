from django.contrib import admin

from apps.audit.admin import AccessLoggedAdmin

from .models import Message


@admin.register(Message)
class MessageAdmin(AccessLoggedAdmin, admin.ModelAdmin):
    list_display = ["public_id", "kind", "sequence", "channel", "status", "due_at", "sent_at"]
    list_filter = ["status", "kind", "channel"]
    raw_id_fields = ["patient", "follow_up", "block", "link", "requested_by"]
    readonly_fields = ["provider_message_id", "detail", "attempts", "enqueued_at", "sending_started_at"]
