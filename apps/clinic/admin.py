from django.contrib import admin
from django.db.models import Count

from apps.accounts.admin import UserAdmin
from apps.accounts.models import User

from .forms import UserSitesChangeForm, UserSitesCreationForm
from .models import Nerve, Protocol, Site, TimePoint
from .selectors import site_network
from .services import user_sites_set


@admin.register(Site)
class SiteAdmin(admin.ModelAdmin):
    list_display = ["name", "time_zone", "is_active", "member_count"]
    list_filter = ["is_active"]
    search_fields = ["name"]
    filter_horizontal = ["members"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(member_count=Count("members"))

    @admin.display(description="members", ordering="member_count")
    def member_count(self, obj: Site) -> int:
        return obj.member_count  # type: ignore[attr-defined]  # the queryset's annotation


class SiteUserAdmin(UserAdmin):
    """The accounts' user admin, with the user's sites: chosen on the form in a network, the only site otherwise."""

    form = UserSitesChangeForm
    add_form = UserSitesCreationForm

    def get_fieldsets(self, request, obj=None):
        fieldsets = list(super().get_fieldsets(request, obj))
        if site_network():
            fieldsets.append(("Sites", {"fields": ["sites"]}))
        return fieldsets

    def save_related(self, request, form, formsets, change) -> None:
        super().save_related(request, form, formsets, change)
        if "sites" in form.fields or not change:
            user_sites_set(user=form.instance, sites=form.cleaned_data.get("sites"))


admin.site.unregister(User)
admin.site.register(User, SiteUserAdmin)


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
