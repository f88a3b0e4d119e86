from __future__ import annotations

import re
import unicodedata
import uuid
from datetime import timedelta

import phonenumbers
from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Func, Q
from django.db.models.functions import Now
from django.utils import timezone

from apps.clinic.models import Site
from apps.clinic.validators import validate_timezone  # named by migrations as apps.patients.models's

E164_PATTERN = r"^\+[1-9][0-9]{6,14}$"
E164 = re.compile(E164_PATTERN)


def search_key(text: str) -> str:
    """Lower-case, accent-free form of a name, so "José" and "jose" find the same patient."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def patient_search_name(first_name: str, last_name: str) -> str:
    # Leading space: a word-prefix search is then a plain LIKE '% term%'.
    return " " + " ".join(search_key(f"{first_name} {last_name}").split())


class Sex(models.TextChoices):
    FEMALE = "F", "Female"
    MALE = "M", "Male"
    OTHER = "X", "Other"
    UNKNOWN = "U", "Unknown"


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    SMS = "sms", "SMS"
    NONE = "none", "None (phone call)"


class Language(models.TextChoices):
    ENGLISH = "en", "English"
    SPANISH = "es", "Spanish"


MAX_AGE_YEARS = 120
MAX_AGE_DAYS = 43_832  # 120 years and a day, leap days included


def validate_date_of_birth(value) -> None:
    today = timezone.localdate()
    if value > today:
        raise ValidationError("It cannot be in the future.", code="future")
    try:
        oldest = today.replace(year=today.year - MAX_AGE_YEARS)
    except ValueError:  # 29 February
        oldest = today.replace(year=today.year - MAX_AGE_YEARS, day=28)
    if value < oldest:
        raise ValidationError(f"It cannot be more than {MAX_AGE_YEARS} years ago.", code="too_old")


# SMS consent (two-way SMS, README.md "Text messages"): the words read or shown to the patient, by version. A
# changed wording gets a new version here; a patient's consent keeps the version they agreed to.
SMS_CONSENT_VERSION = "sms-2026-12"
SMS_CONSENT_WORDING = {
    "sms-2026-12": "I agree to receive text messages from the clinic about my pain after my procedures, and to answer "
    "them by text. Message and data rates may apply. Reply STOP to stop, HELP for help.",
}


def phone_e164(raw: str) -> str | None:
    """A phone number as typed (national in settings.PHONE_REGION, or international) in E.164, as the patients'
    numbers are stored; None when it is not a valid number. The patient form and the SMS webhook both read it."""
    try:
        number = phonenumbers.parse(raw.strip(), settings.PHONE_REGION)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def validate_e164(value: str) -> None:
    if not E164.match(value):
        raise ValidationError("Enter a mobile number in international form, e.g. +12125550123.", code="e164")


def default_timezone() -> str:
    return settings.TIME_ZONE


def time_zone_label(name: str) -> str:
    """A time zone as people read it ("America/New York"), wherever one is shown: its IANA name is for programs."""
    return name.replace("_", " ")


class Patient(models.Model):
    patient_paths = ("",)  # its own site (visible_to)
    # Given by the database when not named (clinic_only_site(), clinic migration 0006): the one site of a
    # single-clinic registry; in a network the function refuses the row, so every way of creating a patient
    # (forms, API, import's COPY, demo data) must name the site there.
    site = models.ForeignKey(
        Site,
        on_delete=models.PROTECT,
        related_name="patients",
        db_default=Func(function="clinic_only_site", output_field=models.BigIntegerField()),
    )
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    mrn = models.CharField("MRN", max_length=32, unique=True)
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    date_of_birth = models.DateField(validators=[validate_date_of_birth])
    sex = models.CharField(max_length=1, choices=Sex.choices, default=Sex.UNKNOWN)
    email = models.EmailField(blank=True)
    mobile_phone = models.CharField(
        max_length=16, blank=True, validators=[validate_e164], help_text="E.164, e.g. +12125550123"
    )
    preferred_channel = models.CharField(max_length=5, choices=Channel.choices, default=Channel.NONE)
    language = models.CharField(max_length=2, choices=Language.choices, default=Language.ENGLISH)
    timezone = models.CharField("time zone", max_length=64, default=default_timezone, validators=[validate_timezone])
    reminder_consent = models.BooleanField("consents to reminders", default=False)
    is_active = models.BooleanField("active", default=True)
    # No SMS goes to a patient without recorded SMS consent: its date, who took it and the wording's version.
    sms_consent_on = models.DateField("SMS consent given on", null=True, blank=True)
    sms_consent_by = models.ForeignKey(
        "accounts.User",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
        verbose_name="SMS consent taken by",
    )
    sms_consent_wording = models.CharField("SMS consent wording version", max_length=20, blank=True, editable=False)
    # Set by a STOP (or another opt-out word) texted from the patient's number (apps.sms), cleared by START.
    sms_opted_out_at = models.DateTimeField("opted out by text (STOP)", null=True, blank=True, editable=False)
    # Reminder state (apps.reminders): set by the patient's opt-out link and by providers' permanent errors.
    opted_out_at = models.DateTimeField("opted out of reminders", null=True, blank=True, editable=False)
    email_undeliverable_at = models.DateTimeField("email bounced", null=True, blank=True, editable=False)
    phone_invalid_at = models.DateTimeField("mobile number refused", null=True, blank=True, editable=False)
    search_name = models.CharField(max_length=202, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["last_name", "first_name"]
        indexes = [
            models.Index(fields=["mrn"], name="patient_mrn_prefix", opclasses=["varchar_pattern_ops"]),
            models.Index(fields=["last_name", "first_name"], name="patient_name_order"),
            # Word-prefix name search is LIKE '% term%': a trigram index answers it without reading every row.
            GinIndex(fields=["search_name"], name="patient_search_name", opclasses=["gin_trgm_ops"]),
        ]
        constraints = [
            models.CheckConstraint(
                # The forms' rule is exact (today back to 120 years ago); this backstop allows a day either side
                # for the difference between the clinic's date and UTC.
                condition=Q(date_of_birth__lte=Now() + timedelta(days=1))
                & Q(date_of_birth__gte=Now() - timedelta(days=MAX_AGE_DAYS)),
                name="patient_dob_plausible",
            ),
            models.CheckConstraint(
                condition=Q(mobile_phone="") | Q(mobile_phone__regex=E164_PATTERN),
                name="patient_phone_e164",
            ),
            models.CheckConstraint(
                condition=~Q(preferred_channel="email") | ~Q(email=""), name="patient_email_channel_has_email"
            ),
            models.CheckConstraint(
                condition=~Q(preferred_channel="sms") | ~Q(mobile_phone=""),
                name="patient_sms_channel_has_phone",
            ),
            models.CheckConstraint(
                condition=Q(sms_consent_on__isnull=True, sms_consent_wording="")
                | Q(sms_consent_on__isnull=False) & ~Q(sms_consent_wording=""),
                name="patient_sms_consent_has_wording",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.last_name}, {self.first_name} ({self.mrn})"

    def save(self, *args, **kwargs) -> None:
        self.search_name = patient_search_name(self.first_name, self.last_name)
        super().save(*args, **kwargs)

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    def get_timezone_display(self) -> str:
        return time_zone_label(self.timezone)

    def clean(self) -> None:
        if self.preferred_channel == Channel.EMAIL and not self.email:
            raise ValidationError({"email": "Enter an email address to send reminders by email."})
        if self.preferred_channel == Channel.SMS and not self.mobile_phone:
            raise ValidationError({"mobile_phone": "Enter a mobile number to send reminders by SMS."})
