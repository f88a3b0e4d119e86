"""Multi-factor sign-in with django-otp: a TOTP authenticator app plus single-use recovery codes.

Physicians and admins must use it; staff may. A signed-in user who has not passed the second factor is sent to
enrol (no device yet) or to enter a code, and can reach nothing else but signing out.
"""

from __future__ import annotations

import io
import secrets

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.views import redirect_to_login
from django.http import JsonResponse
from django.urls import reverse
from django_otp import devices_for_user, user_has_device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

RECOVERY_CODE_COUNT = 10
DEVICE_NAME = "authenticator"


def mfa_required(user) -> bool:
    return user.is_superuser or user.is_staff or user.groups.filter(name__in=settings.MFA_REQUIRED_ROLES).exists()


def totp_device_for_setup(user) -> TOTPDevice:
    """The user's unconfirmed authenticator, created on first visit; confirmed once a code from it is entered."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    return device or TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)


def qr_svg(data: str) -> str:
    """The QR code as inline SVG markup (no PIL, no image request, nothing for a CSP to block)."""
    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    buffer = io.BytesIO()
    image.save(buffer)
    markup = buffer.getvalue().decode()
    return markup[markup.index("<svg") :]


def recovery_codes_issue(user) -> list[str]:
    """New single-use recovery codes, replacing any earlier ones. Shown once: only django-otp's copy remains."""
    device, _ = StaticDevice.objects.get_or_create(user=user, name="recovery codes", defaults={"confirmed": True})
    device.token_set.all().delete()
    codes = [f"{secrets.token_hex(4)}" for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    return codes


def confirmed_devices(user) -> list:
    return list(devices_for_user(user, confirmed=True))


MFA_OPTIONAL_FOR = "mfa_optional_for"
EXEMPT_URL_NAMES = ("accounts:logout", "accounts:mfa_setup", "accounts:mfa_verify", "accounts:login")


# A program calling these (a script reusing a browser's session) is told why, never sent to a page to type a code.
API_PREFIX = "/api/"
FHIR_PREFIX = "/fhir/"
API_SECOND_FACTOR_MISSING = (
    "This session has not passed the second factor: enter your code on the site first, or send an API token."
)


def _api_second_factor_missing() -> JsonResponse:
    response = JsonResponse({"detail": API_SECOND_FACTOR_MISSING}, status=401)
    response["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


class MFARequiredMiddleware:
    """After django_otp's OTPMiddleware: sends a signed-in but unverified user to the second factor."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        # A session already found to need no second factor skips the device and role lookups on every page.
        # A role that needs MFA granted during the session applies from the next sign-in (12 hours at most).
        if (
            user.is_authenticated
            and not user.is_verified()
            and not self._exempt(request)
            and request.session.get(MFA_OPTIONAL_FOR) != user.pk
        ):
            if user_has_device(user, confirmed=True):
                return self._second_factor_first(request, "accounts:mfa_verify")
            if mfa_required(user):
                return self._second_factor_first(request, "accounts:mfa_setup")
            request.session[MFA_OPTIONAL_FOR] = user.pk
        return self.get_response(request)

    def _second_factor_first(self, request, page: str):
        if request.path.startswith(API_PREFIX):
            return _api_second_factor_missing()
        if request.path.startswith(FHIR_PREFIX):
            # Answered as a call without credentials: the FHIR views' own 401, an OperationOutcome.
            request.user = AnonymousUser()
            return self.get_response(request)
        return redirect_to_login(request.get_full_path(), reverse(page))

    @staticmethod
    def _exempt(request) -> bool:
        path = request.path
        return path.startswith(settings.STATIC_URL if settings.STATIC_URL.startswith("/") else "/static/") or any(
            path == reverse(name) for name in EXEMPT_URL_NAMES
        )
