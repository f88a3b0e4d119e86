from django.contrib import admin

from apps.audit.admin import AccessLoggedAdmin

from .models import DiagnosticBlock, DiaryEntry


class DiaryEntryInline(admin.TabularInline):
    model = DiaryEntry
    extra = 0


@admin.register(DiagnosticBlock)
class DiagnosticBlockAdmin(AccessLoggedAdmin, admin.ModelAdmin):
    list_display = ["performed_at", "patient", "nerve", "side", "physician"]
    list_filter = ["nerve", "side", "guidance"]
    list_select_related = ["patient", "nerve", "physician"]
    raw_id_fields = ["patient"]
    readonly_fields = ["public_id"]
    inlines = [DiaryEntryInline]
