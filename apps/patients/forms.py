from __future__ import annotations

import zoneinfo

from django import forms
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from .models import SMS_CONSENT_VERSION, SMS_CONSENT_WORDING, Patient, default_timezone, phone_e164, time_zone_label


def timezone_choices() -> list[tuple[str, str]]:
    return [(name, time_zone_label(name)) for name in sorted(zoneinfo.available_timezones())]


class PatientForm(forms.ModelForm):
    # Wider than the stored E.164 form: staff may type "(212) 555-0123".
    mobile_phone = forms.CharField(
        label="Mobile phone",
        max_length=32,
        required=False,
        help_text="For SMS reminders. A number without a country code is read as the clinic's country's.",
    )
    timezone = forms.ChoiceField(label="Time zone", choices=timezone_choices, initial=default_timezone)

    class Meta:
        model = Patient
        fields = [
            "mrn",
            "first_name",
            "last_name",
            "date_of_birth",
            "sex",
            "email",
            "mobile_phone",
            "preferred_channel",
            "language",
            "timezone",
            "reminder_consent",
            "sms_consent_on",
            "is_active",
        ]
        widgets = {
            "date_of_birth": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "sms_consent_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        }
        help_texts = {
            "sms_consent_on": "The day the patient agreed, to these words: “"
            + SMS_CONSENT_WORDING[SMS_CONSENT_VERSION]
            + "” Empty: no text message goes to the patient. You are recorded as the one who took it.",
        }

    def clean_sms_consent_on(self):
        given = self.cleaned_data.get("sms_consent_on")
        if given is not None and given > timezone.localdate():
            raise forms.ValidationError("The SMS consent date cannot be in the future.", code="future")
        return given

    def clean_mrn(self) -> str:
        mrn = self.cleaned_data["mrn"].strip().upper()
        existing = Patient.objects.filter(mrn=mrn).exclude(pk=self.instance.pk).first()
        if existing:
            url = reverse("patients:detail", args=[existing.public_id])
            raise forms.ValidationError(
                format_html('MRN {} already belongs to <a href="{}">{}</a>.', mrn, url, existing.full_name),
                code="duplicate",
            )
        return mrn

    def clean_mobile_phone(self) -> str:
        raw = self.cleaned_data["mobile_phone"].strip()
        if not raw:
            return ""
        number = phone_e164(raw)
        if number is None:
            raise forms.ValidationError(f"“{raw}” is not a valid phone number.", code="invalid_phone")
        return number

    def validate_unique(self) -> None:
        """The MRN, the one unique field, is checked in clean_mrn with a message naming its patient."""


class PatientSearchForm(forms.Form):
    """The patient list's search box: any text a form stores may be searched, a NUL byte (which PostgreSQL cannot
    hold in text) is named at the field."""

    q = forms.CharField(label="Search", required=False, max_length=200)
