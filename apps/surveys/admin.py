from django.contrib import admin

from apps.audit.admin import AccessLoggedAdmin
from apps.audit.models import Category
from apps.clinic.admin import ReadOnlyAdmin

from .models import SurveyResponse


# Read-only (apps.clinic.admin.ReadOnlyAdmin): an answer lands on its follow-up and sets its counted answer only
# through response_record.
@admin.register(SurveyResponse)
class SurveyResponseAdmin(AccessLoggedAdmin, ReadOnlyAdmin):
    audit_category = Category.SURVEY
    list_display = ["completed_at", "ablation", "follow_up", "pain_average", "collected_via"]
    list_filter = ["collected_via"]
    list_select_related = ["ablation__nerve", "follow_up"]
