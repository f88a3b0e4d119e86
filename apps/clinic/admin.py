from django.contrib import admin

from .models import Nerve, Protocol, TimePoint


@admin.register(Nerve)
class NerveAdmin(admin.ModelAdmin):
    # The list names nerves as every page does; the code, which only import files use, is on each nerve's form.
    list_display = ["name", "is_active", "sort_order"]
    list_editable = ["is_active", "sort_order"]
    search_fields = ["name", "code"]

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        form.base_fields["code"].label = "Code in import files"
        form.base_fields["code"].help_text = "How blocks.csv and ablations.csv of the registry import name this nerve."
        return form


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


class _ReadOnly:
    """Shown in the admin, never added, changed or deleted there: for clinical records, whose services give them
    derived data (an ablation's follow-ups and qualifying block, a block's diary, a follow-up's counted answer) that
    a save in the admin would skip. They are made on the pages, through the API or by the import."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyAdmin(_ReadOnly, admin.ModelAdmin):
    pass


class ReadOnlyInline(_ReadOnly, admin.TabularInline):
    extra = 0
