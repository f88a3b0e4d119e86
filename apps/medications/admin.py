from django.contrib import admin

from apps.audit.admin import AccessLoggedAdmin
from apps.clinic.admin import ReadOnlyAdmin

from .models import MedicationReview, MedicationStatement


# Read-only: statements are recorded and edited through the patient page, the API and the import
# (medication_statement_create / medication_statement_update), which check the opioid, the dose and the dates.
@admin.register(MedicationStatement)
class MedicationStatementAdmin(AccessLoggedAdmin, ReadOnlyAdmin):
    list_display = ["patient", "opioid", "daily_dose", "started_on", "stopped_on"]
    list_filter = ["opioid"]
    list_select_related = ["patient"]

    def audit_patient(self, obj):
        return obj.patient


@admin.register(MedicationReview)
class MedicationReviewAdmin(AccessLoggedAdmin, ReadOnlyAdmin):
    list_display = ["patient", "reviewed_at", "reviewed_by"]
    list_select_related = ["patient", "reviewed_by"]

    def audit_patient(self, obj):
        return obj.patient
