from django.contrib import admin

from apps.audit.admin import AccessLoggedAdmin
from apps.clinic.admin import ReadOnlyAdmin, ReadOnlyInline

from .models import DiagnosticBlock, DiaryEntry


class DiaryEntryInline(ReadOnlyInline):
    model = DiaryEntry


# Read-only (apps.clinic.admin.ReadOnlyAdmin): a block's result and the ablations it qualifies follow its diary.
@admin.register(DiagnosticBlock)
class DiagnosticBlockAdmin(AccessLoggedAdmin, ReadOnlyAdmin):
    list_display = ["performed_at", "patient", "nerve", "side", "physician"]
    list_filter = ["nerve", "side", "guidance"]
    list_select_related = ["patient", "nerve", "physician"]
    inlines = [DiaryEntryInline]
