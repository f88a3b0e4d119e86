from django.contrib import admin

from apps.audit.admin import AccessLoggedAdmin
from apps.clinic.admin import ReadOnlyAdmin, ReadOnlyInline

from .models import Cryoablation, FollowUp


class FollowUpInline(ReadOnlyInline):
    model = FollowUp
    fk_name = "ablation"


# Read-only: an ablation saved here would get no follow-ups and no qualifying block (ablation_create's work).
@admin.register(Cryoablation)
class CryoablationAdmin(AccessLoggedAdmin, ReadOnlyAdmin):
    list_display = ["performed_on", "patient", "nerve", "side", "physician", "qualifying_block"]
    list_filter = ["nerve", "side"]
    list_select_related = ["patient", "nerve", "physician", "qualifying_block__nerve"]
    inlines = [FollowUpInline]


@admin.register(FollowUp)
class FollowUpAdmin(AccessLoggedAdmin, ReadOnlyAdmin):
    list_display = ["ablation", "label", "target_date", "window_start", "window_end"]
    list_filter = ["time_point"]
    list_select_related = ["ablation__nerve"]
