from __future__ import annotations

from datetime import date

from django.db import transaction

from apps.accounts.models import User
from apps.blocks.models import DiagnosticBlock
from apps.cryoablations.models import Cryoablation
from apps.surveys.models import SurveyResponse

from .models import AdverseEvent


@transaction.atomic
def adverse_event_create(
    *,
    occurred_on: date,
    category: str,
    severity: str,
    relatedness: str,
    treatment: Cryoablation | None = None,
    block: DiagnosticBlock | None = None,
    serious: bool = False,
    resolved_on: date | None = None,
    notes: str = "",
    source_response: SurveyResponse | None = None,
    recorded_by: User | None = None,
) -> AdverseEvent:
    """Record an adverse event on a treatment or a block (exactly one). The model's rules (a known category,
    severity and relatedness; not before its procedure; not resolved before it began) are checked by full_clean:
    a ValidationError names each bad field and nothing is written."""
    event = AdverseEvent(
        treatment=treatment,
        block=block,
        occurred_on=occurred_on,
        category=category,
        severity=severity,
        serious=serious,
        relatedness=relatedness,
        resolved_on=resolved_on,
        notes=notes,
        source_response=source_response,
        recorded_by=recorded_by,
    )
    event.full_clean()
    event.save()
    return event
