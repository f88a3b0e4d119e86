"""Field validators shared by the clinical models (and so by every form and service that saves them)."""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime

from django.core.exceptions import ValidationError
from django.utils import timezone


def not_in_future_datetime(value: datetime) -> None:
    if value > timezone.now():
        raise ValidationError("It cannot be in the future.", code="future")


def not_in_future_date(value: date) -> None:
    if value > timezone.localdate():
        raise ValidationError("It cannot be in the future.", code="future")


def validate_timezone(value: str) -> None:
    """An IANA time zone name ("America/New_York"): the patients' and the sites' time zones."""
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"“{value}” is not a known time zone.", code="timezone")
