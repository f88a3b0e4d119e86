from django.contrib import admin, messages

from .models import ApiToken
from .services import token_assign_key, token_revoke


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "key_prefix", "read_only", "expires_at", "revoked_at", "last_used_at"]
    list_filter = ["read_only"]
    search_fields = ["name", "user__username", "key_prefix"]
    readonly_fields = ["key_prefix", "last_used_at", "created_by", "created_at"]
    autocomplete_fields = []
    actions = ["revoke"]

    def get_readonly_fields(self, request, obj=None):
        # Once issued, a token's user and scope stay as they were: issue a new one instead.
        if obj is not None:
            return [*self.readonly_fields, "user", "read_only"]
        return self.readonly_fields

    def save_model(self, request, obj, form, change):
        if not change:
            raw = token_assign_key(obj)
            obj.created_by = request.user
            super().save_model(request, obj, form, change)
            messages.warning(request, f"The token for {obj.user} is {raw} — copy it now: it is not shown again.")
            return
        super().save_model(request, obj, form, change)

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request, queryset):
        for token in queryset:
            token_revoke(token)
        messages.success(request, f"{queryset.count()} token(s) revoked.")

    def has_delete_permission(self, request, obj=None):
        return False  # revoke instead: the record of who held which token stays
