from django.contrib import admin

from apps.audit.admin import AccessLoggedAdmin
from apps.clinic.admin import ReadOnlyAdmin

from .models import AdverseEvent, ProblemReview


# Read-only: events are recorded and edited through the pages (adverse_event_create / adverse_event_update), which
# check the dates against the procedure and close the patient's answer on the staff queue.
@admin.register(AdverseEvent)
class AdverseEventAdmin(AccessLoggedAdmin, ReadOnlyAdmin):
    list_display = [
        "occurred_on",
        "category",
        "severity",
        "serious",
        "relatedness",
        "resolved_on",
        "treatment",
        "block",
    ]
    list_filter = ["category", "severity", "serious", "relatedness"]
    list_select_related = ["treatment__nerve", "block__nerve"]

    def audit_patient(self, obj):
        return obj.patient


@admin.register(ProblemReview)
class ProblemReviewAdmin(AccessLoggedAdmin, ReadOnlyAdmin):
    list_display = ["reviewed_at", "decision", "reviewed_by", "response"]
    list_filter = ["decision"]
    list_select_related = ["reviewed_by", "response__ablation", "response__follow_up"]

    def audit_patient(self, obj):
        return obj.response.ablation.patient
