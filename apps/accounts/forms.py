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


class ReplaceAuthenticatorForm(OneTimeCodeForm):
    """Replacing the authenticator: a signed-in session is not enough, the person proves who they are again
    with the password and the current second factor (a code from the old authenticator, or a recovery code)."""

    password = forms.CharField(
        label="Your password", strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )
    current_code = forms.CharField(
        label="Code from your current authenticator",
        max_length=16,
        help_text="The 6 digits your current app shows, or one of your recovery codes.",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "text"}),
    )
    field_order = ["password", "current_code", "code"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["code"].label = "Code from the new authenticator"
        self.fields["code"].help_text = "The 6 digits the app you just set up shows."
        self.fields["code"].widget.attrs.pop("autofocus", None)
        self.fields["password"].widget.attrs["autofocus"] = True

    def clean_current_code(self) -> str:
        return "".join(self.cleaned_data["current_code"].split()).lower()
