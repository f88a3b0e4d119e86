from django.contrib import admin

from .models import Nerve, Protocol, TimePoint


@admin.register(Nerve)
class NerveAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "is_active", "sort_order"]
    list_editable = ["is_active", "sort_order"]


class TimePointInline(admin.TabularInline):
    model = TimePoint
    extra = 0


@admin.register(Protocol)
class ProtocolAdmin(admin.ModelAdmin):
    inlines = [TimePointInline]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
