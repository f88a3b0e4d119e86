from django.contrib import admin

from .models import SurveyResponse


@admin.register(SurveyResponse)
class SurveyResponseAdmin(admin.ModelAdmin):
    list_display = ["completed_at", "ablation", "follow_up", "pain_average", "collected_via"]
    list_filter = ["collected_via"]
    list_select_related = ["ablation__nerve", "follow_up"]
    raw_id_fields = ["ablation", "follow_up", "recorded_by"]
