from django.contrib import admin

from apps.audit.admin import AccessLoggedAdmin
from apps.audit.models import Category
from apps.clinic.admin import ReadOnlyAdmin

from .models import Patient


# Read-only (apps.clinic.admin.ReadOnlyAdmin): patient_update's rules (a corrected address tried again) and the
# patient form's checks (MRN and phone normalised) apply on the patient pages and the API only.
@admin.register(Patient)
class PatientAdmin(AccessLoggedAdmin, ReadOnlyAdmin):
    audit_category = Category.DEMOGRAPHICS
    list_display = ["mrn", "last_name", "first_name", "preferred_channel", "is_active"]
    search_fields = ["mrn"]
    list_filter = ["is_active", "preferred_channel", "language"]
    readonly_fields = ["time_zone"]

    @admin.display(description="time zone")
    def time_zone(self, obj):
        return obj.get_timezone_display()

    def get_fields(self, request, obj=None):
        # The time zone as the patient page shows it, not its IANA name.
        return [name for name in super().get_fields(request, obj) if name != "timezone"]

    def audit_patient(self, obj):
        return obj
