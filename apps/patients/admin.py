from django.contrib import admin

from .models import Patient


@admin.register(Patient)
class PatientAdmin(admin.ModelAdmin):
    list_display = ["mrn", "last_name", "first_name", "preferred_channel", "is_active"]
    search_fields = ["mrn"]
    list_filter = ["is_active", "preferred_channel", "language"]
    readonly_fields = ["public_id", "created_at", "updated_at"]
