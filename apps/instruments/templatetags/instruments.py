from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone

from apps.cryoablations.models import Cryoablation
from apps.instruments.selectors import baseline_first_day, instruments_due_at_baseline, treatment_answer_rows

register = template.Library()


@register.inclusion_tag("instruments/_treatment_instruments.html")
def treatment_instruments(treatment: Cryoablation) -> dict[str, Any]:
    """The treatment page's "Function and mood" section: its instrument answers with their scores, which of them
    is the baseline, and the instruments due at baseline it has none for (with the way to enter them)."""
    rows = treatment_answer_rows(treatment=treatment)
    have = {row.answer.instrument_id for row in rows if row.is_baseline}
    missing = [instrument for instrument, _version in instruments_due_at_baseline() if instrument.pk not in have]
    return {
        "treatment": treatment,
        "rows": rows,
        # A baseline link is worth sending until the end of the treatment day (a later answer is no baseline).
        "link_open": timezone.localdate() <= treatment.performed_on,
        "baseline_first": baseline_first_day(treatment=treatment) if missing else None,
        "missing": missing,
    }
