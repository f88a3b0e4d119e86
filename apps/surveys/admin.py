from django.contrib import admin

from apps.audit.admin import AccessLoggedAdmin
from apps.audit.models import Category

from .models import SurveyResponse


@admin.register(SurveyResponse)
class SurveyResponseAdmin(AccessLoggedAdmin, admin.ModelAdmin):
    audit_category = Category.SURVEY
    list_display = ["completed_at", "ablation", "follow_up", "pain_average", "collected_via"]
    list_filter = ["collected_via"]
    list_select_related = ["ablation__nerve", "follow_up"]
    raw_id_fields = ["ablation", "follow_up", "recorded_by"]
