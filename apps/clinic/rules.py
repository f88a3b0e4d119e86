"""Pure functions for the clinical rules of docs/outcome-definitions.md shared by several apps."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db.models import Q
from django.utils import timezone

NRS_MIN, NRS_MAX = 0, 10
NRS_VALIDATORS = [MinValueValidator(NRS_MIN), MaxValueValidator(NRS_MAX)]


def nrs_check(field: str) -> Q:
    """The database's half of the NRS-11 rule: a whole number 0..10 (NULL allowed where the field is)."""
    return Q(**{f"{field}__gte": NRS_MIN, f"{field}__lte": NRS_MAX}) | Q(**{f"{field}__isnull": True})


def percent_reduction(baseline: int, score: int) -> Decimal | None:
    """(baseline - score) / baseline x 100, negative when pain is worse; None when the baseline is 0."""
    if not baseline:
        return None
    return Decimal(baseline - score) * 100 / Decimal(baseline)


def display_number(value: Decimal | float | None, suffix: str = "") -> str:
    """Rounded half-up to one decimal, for display only (counts and full precision stay underneath); "—" when there
    is none. A float is rounded as it reads (2.25 → 2.3), not as its nearest binary value (2.2499...)."""
    if value is None:
        return "—"
    exact = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    return f"{exact.quantize(Decimal('0.1'), rounding=ROUND_HALF_UP)}{suffix}"


def display_percent(value: Decimal | None) -> str:
    """A percentage rounded half-up to one decimal (display_number); "—" when there is none."""
    return display_number(value, "%")


def clinic_day_start(day: date) -> datetime:
    """The first instant of `day` in the clinic's time zone (days are the clinic's, outcome-definitions.md)."""
    return datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())


def clinic_days_q(field: str, date_from: date | None, date_to: date | None) -> Q:
    """The datetime `field` within the clinic's days date_from..date_to (both included; either end open), as a
    range of instants, so that an index on the field answers it."""
    q = Q()
    if date_from:
        q &= Q(**{f"{field}__gte": clinic_day_start(date_from)})
    if date_to:
        q &= Q(**{f"{field}__lt": clinic_day_start(date_to + timedelta(days=1))})
    return q
