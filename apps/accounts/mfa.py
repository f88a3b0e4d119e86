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
from django.core.cache import cache
from django.http import JsonResponse
from django.urls import reverse
from django_otp import devices_for_user, user_has_device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.audit.models import Action, Category
from apps.audit.services import access_record

from . import ratelimit

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


# Refused codes, on the verify page and at enrolment alike: counted per user in the shared cache, logged.
WRONG_CODE = "That code is not right: check the time on your phone and try the newest code."
# django-otp refuses every code for a few seconds after a wrong one (1, 2, 4... s): the right code can be refused.
THROTTLED = "Too soon after a wrong code: wait a few seconds and try the next code."
TOO_MANY_CODES = "Too many wrong codes. Wait, then try again."


def _failures_key(user) -> str:
    return f"mfa:failures:{user.pk}"


def code_attempts_blocked(user) -> bool:
    return (cache.get(_failures_key(user)) or 0) >= settings.SIGN_IN_MAX_FAILURES_PER_ACCOUNT


def throttled(devices) -> bool:
    """Whether django-otp would refuse any code from these devices right now, right or wrong. Ask before trying
    a code: trying one (wrong) starts the wait."""
    return any(not device.verify_is_allowed()[0] for device in devices)


def code_refused(request, *, step: str) -> None:
    """A wrong code (or password, when replacing an authenticator) in a sign-in step: logged and counted toward the
    same lockout as the verify page's."""
    ratelimit.count(_failures_key(request.user), timeout=settings.SIGN_IN_FAILURE_WINDOW_SECONDS)
    access_record(request=request, action=Action.MFA_FAILED, category=Category.AUTHENTICATION, detail={"step": step})


def code_accepted(user) -> None:
    cache.delete(_failures_key(user))


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
