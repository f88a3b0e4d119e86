from __future__ import annotations

import zoneinfo
from typing import Any, cast

from django import forms
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from apps.accounts.models import User
from apps.clinic.models import Site
from apps.clinic.selectors import site_network, sites_of

from .models import SMS_CONSENT_VERSION, SMS_CONSENT_WORDING, Patient, default_timezone, phone_e164, time_zone_label
from .selectors import patient_mrn_taken


def timezone_choices() -> list[tuple[str, str]]:
    return [(name, time_zone_label(name)) for name in sorted(zoneinfo.available_timezones())]


class PatientForm(forms.ModelForm):
    """A patient's details, as `user` may enter them. In a network of sites the form chooses the patient's site among
    the active sites `user` is a member of (an edit may keep the patient's current one); a single clinic's form has no
    site field and its patients get the only site. A new patient's time zone left at its default is its site's
    (patient_create decides it: the form then gives none)."""

    site = forms.ModelChoiceField(
        Site.objects.none(),
        label="Site",
        error_messages={"invalid_choice": "Choose one of the sites you work at."},
        help_text="The clinic the patient is treated at.",
    )
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
            "site",
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

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not site_network():
            del self.fields["site"]
            return
        choices = sites_of(user)
        site = cast(forms.ModelChoiceField, self.fields["site"])
        if self.instance.pk:
            site.queryset = Site.objects.filter(Q(pk__in=choices) | Q(pk=self.instance.site_id))
        else:
            site.queryset = choices
            mine = list(choices[:2])
            if len(mine) == 1:  # the user's one site, and its time zone (a new patient's default, patient_create)
                self.initial["site"] = mine[0].pk
                self.initial["timezone"] = mine[0].effective_time_zone
            else:
                self.fields["timezone"].help_text = "Left as it is, the patient gets their site's time zone."

    def clean(self) -> dict[str, Any]:
        data = cast(dict[str, Any], super().clean())
        if not self.instance.pk and "timezone" not in self.changed_data:
            # Left at its default: the patient's site's time zone (patient_create).
            data.pop("timezone", None)
        return data

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
        if patient_mrn_taken(mrn=mrn, other_than=self.instance.pk):  # by a patient of a site the user does not see
            raise forms.ValidationError(f"MRN {mrn} already belongs to a patient of another site.", code="duplicate")
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
