"""The clinic's configuration: its sites, the nerve catalog and the protocol that the clinical rules read."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q

from .validators import validate_timezone


@dataclass(frozen=True)
class Sender:
    """Who a message to a patient is from: the name its text gives, and the addresses it leaves from."""

    name: str
    email_from: str
    sms_from: str


class Site(models.Model):
    """A clinic of the registry's network. A single-clinic registry has exactly one (clinic migration 0006 made it
    from settings.CLINIC_NAME); then a patient created without a site gets it from the database's default,
    clinic_only_site(). A blank time zone or sender means the settings' one."""

    name = models.CharField(max_length=100, unique=True)
    time_zone = models.CharField(
        "time zone", max_length=64, blank=True, validators=[validate_timezone], help_text="Blank: the registry's."
    )
    sms_from = models.CharField(
        "text messages from",
        max_length=32,
        blank=True,
        help_text="The number its texts leave from. Blank: the registry's.",
    )
    email_from = models.CharField(
        "e-mail from", max_length=254, blank=True, help_text="The sender of its e-mails. Blank: the registry's."
    )
    is_active = models.BooleanField("active", default=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="sites", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def effective_time_zone(self) -> str:
        return self.time_zone or settings.TIME_ZONE

    @property
    def sender(self) -> Sender:
        """The one place that resolves a site's sender, settings standing in for its blank fields."""
        return Sender(
            name=self.name,
            email_from=self.email_from or settings.DEFAULT_FROM_EMAIL,
            sms_from=self.sms_from or settings.TWILIO_FROM_NUMBER,
        )


class Nerve(models.Model):
    """A target nerve. Codes are those of the registry import (docs: data-exchange.md)."""

    code = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=100)
    is_active = models.BooleanField(default=True)
    sort_order = models.PositiveSmallIntegerField(default=100)

    class Meta:
        ordering = ["sort_order", "name"]

    def __str__(self) -> str:
        return self.name


def default_reminder_days() -> list[int]:
    return [2, 5]


def default_diary_minutes() -> list[int]:
    return [30, 60, 120, 240, 360]


HOUR_VALIDATORS = [MinValueValidator(0), MaxValueValidator(23)]

# The primary key of the clinic's one protocol, the only row its table may hold (protocol_single_row). SQL reads the
# protocol through clinic_protocol() (migration 0004), which needs no key.
PROTOCOL_PK = 1


class SmsMode(models.TextChoices):
    """How a text message asks for an answer (apps.reminders, apps.sms): with a survey link, or by a reply."""

    LINK = "link", "A link to the survey"
    REPLY = "reply", "Reply with a number (0 to 10)"


class Protocol(models.Model):
    """The clinic's one protocol (row PROTOCOL_PK). Rules that a clinic may want otherwise are fields here."""

    block_threshold_percent = models.DecimalField(
        "positive block threshold (%)",
        max_digits=5,
        decimal_places=2,
        default=Decimal(50),
        validators=[MinValueValidator(Decimal(1)), MaxValueValidator(Decimal(100))],
        help_text="A block is positive when its peak relief reaches this percentage.",
    )
    evaluation_window_minutes = models.PositiveIntegerField(
        default=360,
        validators=[MinValueValidator(1)],
        help_text="Diary entries from 0 to this many minutes after injection count for peak relief.",
    )
    require_dual_blocks = models.BooleanField(
        "require dual comparative blocks",
        default=False,
        help_text="Ask for two concordant positive blocks of the same nerve and side before ablation.",
    )
    qualifying_block_days = models.PositiveIntegerField(
        default=180, help_text="How far back before an ablation its qualifying block is looked for."
    )
    responder_percent = models.DecimalField(
        "responder reduction (%)", max_digits=5, decimal_places=2, default=Decimal(50)
    )
    # Reminder cadence (apps.reminders): all times are in the patient's own time zone.
    invitation_hour = models.PositiveSmallIntegerField(
        default=10, validators=HOUR_VALIDATORS, help_text="Survey invitations go out at this hour of the target day."
    )
    reminder_days = ArrayField(
        models.PositiveSmallIntegerField(),
        default=default_reminder_days,
        blank=True,
        help_text="Reminders go out this many days after the invitation while the survey is not completed.",
    )
    quiet_start_hour = models.PositiveSmallIntegerField(
        default=21, validators=HOUR_VALIDATORS, help_text="No message is sent from this hour..."
    )
    quiet_end_hour = models.PositiveSmallIntegerField(
        default=8, validators=HOUR_VALIDATORS, help_text="...until this hour; messages due then wait for it."
    )
    diary_minutes = ArrayField(
        models.PositiveIntegerField(),
        default=default_diary_minutes,
        blank=True,
        help_text="Post-block pain diary links go out this many minutes after the injection.",
    )
    # Two-way SMS (apps.sms): per kind of message, what a text message asks for. Email always carries the link.
    diary_sms_mode = models.CharField(
        "diary text messages ask for",
        max_length=5,
        choices=SmsMode.choices,
        default=SmsMode.LINK,
        help_text="Reply: “Reply with your pain right now, 0 to 10”; the reply is the diary entry.",
    )
    survey_sms_mode = models.CharField(
        "follow-up text messages ask for",
        max_length=5,
        choices=SmsMode.choices,
        default=SmsMode.LINK,
        help_text="Reply: “Reply with your average pain in the past 24 hours, 0 to 10”; the reply is the "
        "follow-up's answer (its other questions stay unanswered).",
    )

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(id=PROTOCOL_PK), name="protocol_single_row"),
            models.CheckConstraint(
                condition=Q(block_threshold_percent__gt=0, block_threshold_percent__lte=100),
                name="protocol_threshold_range",
            ),
        ]

    def __str__(self) -> str:
        return "Clinic protocol"


class TimePoint(models.Model):
    """A follow-up time point of the protocol: its target day and the window in which a survey counts."""

    protocol = models.ForeignKey(Protocol, on_delete=models.CASCADE, related_name="time_points")
    code = models.SlugField(max_length=10)
    label = models.CharField(max_length=40)
    target_day = models.PositiveIntegerField()
    window_start_day = models.PositiveIntegerField()
    window_end_day = models.PositiveIntegerField()

    class Meta:
        ordering = ["target_day"]
        constraints = [
            models.UniqueConstraint(fields=["protocol", "code"], name="timepoint_unique_code"),
            models.CheckConstraint(
                condition=Q(window_start_day__lte=F("target_day"), target_day__lte=F("window_end_day")),
                name="timepoint_target_inside_window",
            ),
        ]

    def __str__(self) -> str:
        return self.label


# The fields of the protocol a site may set otherwise (SiteProtocol); the rest are the registry's for every site: the
# evaluation window (a peak relief measured alike everywhere), the responder reduction (a response counted alike, so
# that pooled figures and Sites compared compare the same thing) and the time points' codes and labels (the figures'
# columns).
SITE_PROTOCOL_FIELDS = (
    "block_threshold_percent",
    "require_dual_blocks",
    "qualifying_block_days",
    "invitation_hour",
    "reminder_days",
    "quiet_start_hour",
    "quiet_end_hour",
    "diary_minutes",
    "diary_sms_mode",
    "survey_sms_mode",
)


class SiteProtocol(models.Model):
    """A site's own protocol where it differs from the registry's (Protocol): each blank field follows the
    registry's (apps.clinic.selectors.protocol_for). In a network only: a single clinic's protocol is the registry's."""

    site = models.OneToOneField(Site, on_delete=models.CASCADE, primary_key=True, related_name="protocol")
    block_threshold_percent = models.DecimalField(
        "positive block threshold (%)",
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal(1)), MaxValueValidator(Decimal(100))],
    )
    require_dual_blocks = models.BooleanField("require dual comparative blocks", null=True, blank=True)
    qualifying_block_days = models.PositiveIntegerField(null=True, blank=True)
    invitation_hour = models.PositiveSmallIntegerField(null=True, blank=True, validators=HOUR_VALIDATORS)
    reminder_days = ArrayField(models.PositiveSmallIntegerField(), null=True, blank=True)
    quiet_start_hour = models.PositiveSmallIntegerField(null=True, blank=True, validators=HOUR_VALIDATORS)
    quiet_end_hour = models.PositiveSmallIntegerField(null=True, blank=True, validators=HOUR_VALIDATORS)
    diary_minutes = ArrayField(models.PositiveIntegerField(), null=True, blank=True)
    diary_sms_mode = models.CharField("diary text messages ask for", max_length=5, choices=SmsMode.choices, blank=True)
    survey_sms_mode = models.CharField(
        "follow-up text messages ask for", max_length=5, choices=SmsMode.choices, blank=True
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(block_threshold_percent__isnull=True)
                | Q(block_threshold_percent__gt=0, block_threshold_percent__lte=100),
                name="site_protocol_threshold_range",
            ),
        ]

    def __str__(self) -> str:
        return f"Protocol of {self.site}"


class SiteTimePoint(models.Model):
    """A site's own days for one of the registry's time points (its code and label stay the registry's)."""

    site_protocol = models.ForeignKey(SiteProtocol, on_delete=models.CASCADE, related_name="time_points")
    time_point = models.ForeignKey(TimePoint, on_delete=models.CASCADE, related_name="+")
    target_day = models.PositiveIntegerField()
    window_start_day = models.PositiveIntegerField()
    window_end_day = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["site_protocol", "time_point"], name="site_timepoint_unique"),
            models.CheckConstraint(
                condition=Q(window_start_day__lte=F("target_day"), target_day__lte=F("window_end_day")),
                name="site_timepoint_target_inside_window",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.time_point} at {self.site_protocol.site}"
