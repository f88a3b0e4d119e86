from django.contrib import admin

from apps.audit.admin import AccessLoggedAdmin

from .models import Cryoablation, FollowUp


class FollowUpInline(admin.TabularInline):
    model = FollowUp
    extra = 0
    readonly_fields = ["time_point", "label", "target_date", "window_start", "window_end"]


@admin.register(Cryoablation)
class CryoablationAdmin(AccessLoggedAdmin, admin.ModelAdmin):
    list_display = ["performed_on", "patient", "nerve", "side", "physician", "qualifying_block"]
    list_filter = ["nerve", "side"]
    list_select_related = ["patient", "nerve", "physician", "qualifying_block__nerve"]
    raw_id_fields = ["patient", "qualifying_block"]
    readonly_fields = ["public_id"]
    inlines = [FollowUpInline]


@admin.register(FollowUp)
class FollowUpAdmin(AccessLoggedAdmin, admin.ModelAdmin):
    list_display = ["ablation", "label", "target_date", "window_start", "window_end"]
    list_filter = ["time_point"]
    list_select_related = ["ablation__nerve"]
    raw_id_fields = ["ablation"]
