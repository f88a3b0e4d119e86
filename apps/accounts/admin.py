from django.apps import apps as django_apps
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django_otp.plugins.otp_static import admin as otp_static_admin
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp import admin as otp_totp_admin
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.audit.models import Action, Category
from apps.audit.services import access_record

from .forms import AdminSignInForm
from .models import User

admin.site.site_header = "Outcomes registry administration"
admin.site.site_title = "Outcomes registry"
# The admin's own sign-in page counts failures like the registry's, and the admin opens only after the second factor.
admin.site.login_form = AdminSignInForm
_has_permission = admin.site.has_permission


def _has_permission_verified(request) -> bool:
    return _has_permission(request) and request.user.is_verified()


admin.site.has_permission = _has_permission_verified  # type: ignore[method-assign]  # the admin's second factor


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "first_name", "last_name", "email", "is_active", "roles"]
    list_filter = ["groups", "is_active"]

    @admin.display(description="roles")
    def roles(self, obj: User) -> str:
        return ", ".join(g.name for g in obj.groups.all())

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")


class TOTPDeviceAdmin(otp_totp_admin.TOTPDeviceAdmin):
    """Authenticators: seen and deleted (a lost phone), never their secret. Whoever holds the key can make the
    codes, so no page shows it, nor its QR code (OTP_ADMIN_HIDE_SENSITIVE_DATA closes django-otp's config and QR
    views). Added only by their owner at enrolment, never here: an admin who chose a key could sign in as anyone."""

    def get_fieldsets(self, request, obj=None):
        return [
            (name, {**options, "fields": [f for f in options["fields"] if f not in ("key", "qrcode_link")]})
            for name, options in super().get_fieldsets(request, obj)
        ]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def delete_model(self, request, obj) -> None:
        user = obj.user
        super().delete_model(request, obj)
        _record_removed(request, user)

    def delete_queryset(self, request, queryset) -> None:
        users = [device.user for device in queryset]
        super().delete_queryset(request, queryset)
        for user in users:
            _record_removed(request, user)


def _record_removed(request, user) -> None:
    access_record(
        request=request,
        action=Action.MFA_REMOVED,
        category=Category.AUTHENTICATION,
        object_type="user",
        object_id=str(user.pk),
        detail={"reason": "removed_by_admin", "username": user.get_username()},
    )


class StaticDeviceAdmin(otp_static_admin.StaticDeviceAdmin):
    """Recovery codes: which users have them, never the codes themselves (each signs in once, like a password)."""

    inlines: list[type[admin.options.InlineModelAdmin]] = []

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


for model, model_admin in ((TOTPDevice, TOTPDeviceAdmin), (StaticDevice, StaticDeviceAdmin)):
    if admin.site.is_registered(model):
        admin.site.unregister(model)
    admin.site.register(model, model_admin)

# The admin's index lists apps by their verbose names, which django-otp leaves as "OTP_TOTP" and "OTP_STATIC".
for label, name in (
    ("otp_totp", "Two-step sign-in: authenticator apps"),
    ("otp_static", "Two-step sign-in: recovery codes"),
):
    django_apps.get_app_config(label).verbose_name = name
