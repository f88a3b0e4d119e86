from django.contrib import admin

from apps.audit.admin import AccessLoggedAdmin
from apps.audit.models import Category

from .models import Patient


@admin.register(Patient)
class PatientAdmin(AccessLoggedAdmin, admin.ModelAdmin):
    audit_category = Category.DEMOGRAPHICS
    list_display = ["mrn", "last_name", "first_name", "preferred_channel", "is_active"]
    search_fields = ["mrn"]
    list_filter = ["is_active", "preferred_channel", "language"]
    readonly_fields = ["public_id", "created_at", "updated_at"]
