from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm

from apps.audit.models import Action, Category
from apps.audit.request import client_address
from apps.audit.services import access_record

from . import ratelimit

TOO_MANY = "Too many failed sign-in attempts. Wait {minutes} minutes, then try again."


class RateLimitedSignIn:
    """Checked before the password is: once an account or an address has failed too often, even the right
    password is refused until the window passes. Failures are counted by the user_login_failed receiver."""

    def clean(self):
        # The name as the form cleaned it (stripped, Unicode-normalised), the one authenticate() receives and the
        # user_login_failed receiver counts: the raw input would let " dr_moreno" past dr_moreno's lockout.
        username = self.cleaned_data.get("username") or ""
        if ratelimit.sign_in_blocked(username=username, address=client_address(self.request)):
            access_record(
                request=self.request,
                actor_label=username[:150] or "anonymous",
                action=Action.SIGN_IN_FAILED,
                category=Category.AUTHENTICATION,
                detail={"username": username[:150], "reason": "rate_limited"},
            )
            minutes = settings.SIGN_IN_FAILURE_WINDOW_SECONDS // 60
            raise forms.ValidationError(TOO_MANY.format(minutes=minutes), code="rate_limited")
        cleaned = super().clean()
        ratelimit.sign_in_succeeded(username=username)
        return cleaned


class SignInForm(RateLimitedSignIn, AuthenticationForm):
    pass


class AdminSignInForm(RateLimitedSignIn, AdminAuthenticationForm):
    pass


class OneTimeCodeForm(forms.Form):
    code = forms.CharField(
        label="Code",
        max_length=16,
        help_text="The 6 digits your authenticator app shows, or one of your recovery codes.",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autofocus": True, "inputmode": "text"}),
    )

    def clean_code(self) -> str:
        return "".join(self.cleaned_data["code"].split()).lower()
