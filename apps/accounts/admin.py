from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from .forms import AdminSignInForm
from .models import User

admin.site.site_header = "Outcomes registry administration"
admin.site.site_title = "Outcomes registry"
# The admin's own sign-in page counts failures like the registry's, and the admin opens only after the second factor.
admin.site.login_form = AdminSignInForm
_has_permission = admin.site.has_permission


def _has_permission_verified(request) -> bool:
    return _has_permission(request) and request.user.is_verified()


admin.site.has_permission = _has_permission_verified


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "first_name", "last_name", "email", "is_active", "roles"]
    list_filter = ["groups", "is_active"]

    @admin.display(description="roles")
    def roles(self, obj: User) -> str:
        return ", ".join(g.name for g in obj.groups.all())

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")
