"""Adverse events recorded by staff, and staff's review of the patients' "new problem" answers.

Every way in (the pages, the API, the import, a shell) writes an event through adverse_event_create or
adverse_event_update, so the model's checks (an event on a treatment or a block, not before its procedure, not
resolved before it began) hold for all of them."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.accounts.models import User
from apps.blocks.models import DiagnosticBlock
from apps.cryoablations.models import Cryoablation
from apps.surveys.models import SurveyResponse

from .models import AdverseEvent, Decision, ProblemReview

logger = logging.getLogger(__name__)

ALREADY_REVIEWED = "This answer has already been reviewed."


def _claim_response(response: SurveyResponse) -> None:
    """Lock the answer's row so that two staff acting on it at once are served one after the other: the second
    finds the first's review and is told so, instead of failing on the unique key."""
    locked = SurveyResponse.objects.select_for_update().get(pk=response.pk)
    if (
        ProblemReview.objects.filter(response=locked).exists()
        or AdverseEvent.objects.filter(source_response=locked).exists()
    ):
        raise ValidationError(ALREADY_REVIEWED)


@transaction.atomic
def adverse_event_create(
    *,
    treatment: Cryoablation | None = None,
    block: DiagnosticBlock | None = None,
    recorded_by: User | None = None,
    source_response: SurveyResponse | None = None,
    **fields: Any,
) -> AdverseEvent:
    """A new event on a treatment or a block. Made from a patient's "new problem" answer (`source_response`), it
    also closes that answer's review: the answer leaves the staff queue."""
    event = AdverseEvent(treatment=treatment, block=block, recorded_by=recorded_by, **fields)
    if source_response is not None:
        if treatment is None or source_response.ablation_id != treatment.pk:
            raise ValidationError("The patient's answer is about another treatment than this event.")
        _claim_response(source_response)
        event.source_response = source_response
    event.full_clean()
    event.save()
    if source_response is not None:
        ProblemReview.objects.create(response=source_response, decision=Decision.ADVERSE_EVENT, reviewed_by=recorded_by)
    logger.info("adverse event %s recorded", event.public_id)
    return event


@transaction.atomic
def adverse_event_update(*, event: AdverseEvent, **fields: Any) -> AdverseEvent:
    """Staff correct an event: its procedure and its source answer stay."""
    for name in ("treatment", "block", "source_response", "recorded_by"):
        if name in fields:
            raise ValueError(f"{name} is not changed by an edit")
    for name, value in fields.items():
        setattr(event, name, value)
    event.full_clean()
    event.save()
    logger.info("adverse event %s updated", event.public_id)
    return event


@transaction.atomic
def problem_dismiss(
    *, response: SurveyResponse, reason: str, reviewed_by: User | None, now: datetime | None = None
) -> ProblemReview:
    """Staff judge a patient's new problem not to be an adverse event, and say why. The answer keeps its words."""
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": "Say why this is not an adverse event."})
    if not response.new_problem:
        raise ValidationError("The patient reported no new problem in this answer.")
    _claim_response(response)
    review = ProblemReview(
        response=response,
        decision=Decision.DISMISSED,
        reason=reason,
        reviewed_by=reviewed_by,
        reviewed_at=now or timezone.now(),
    )
    review.full_clean(validate_unique=False)
    review.save()
    logger.info("new problem of answer %s dismissed", response.public_id)
    return review
