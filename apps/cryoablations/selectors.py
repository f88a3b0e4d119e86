from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Protocol as TypingProtocol
from uuid import UUID

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from apps.clinic.models import Protocol
from apps.clinic.rules import percent_reduction

from .models import Cryoablation, FollowUp, QualifyingSource, Status, window_range

WORKLIST_STATUSES = [Status.DUE, Status.OVERDUE, Status.MISSED]


def ablation_get(*, public_id: UUID | str) -> Cryoablation:
    return get_object_or_404(
        Cryoablation.objects.select_related(
            "patient", "nerve", "physician", "qualifying_block__nerve", "qualifying_block__peak_relief"
        ),
        public_id=public_id,
    )


def follow_up_get(*, public_id: UUID | str) -> FollowUp:
    return get_object_or_404(
        FollowUp.objects.select_related("ablation__patient", "ablation__nerve", "ablation__physician"),
        public_id=public_id,
    )


class CountedAnswer(TypingProtocol):
    """What a row reads of its counted answer (a surveys.SurveyResponse)."""

    @property
    def pain_average(self) -> int: ...


@dataclass(frozen=True)
class FollowUpRow:
    follow_up: FollowUp
    status: Status
    # The counted answer (FollowUp.counted_response, a surveys.SurveyResponse: that app sits above this one).
    response: CountedAnswer | None

    @property
    def reduction_percent(self) -> Decimal | None:
        if self.response is None:
            return None
        return percent_reduction(self.follow_up.ablation.baseline_nrs, self.response.pain_average)


def follow_up_rows(*, follow_ups: list[FollowUp], today: date) -> list[FollowUpRow]:
    """Follow-ups with their status and counted answer (select_related "ablation" and "counted_response")."""
    return [
        FollowUpRow(f, f.status(today, completed=f.counted_response_id is not None), f.counted_response)
        for f in follow_ups
    ]


def worklist(
    *, today: date, status: str = "", physician_id: int | None = None, time_point: str = ""
) -> QuerySet[FollowUp]:
    """Unanswered follow-ups of active patients, not superseded by a repeat treatment: due (window open, up to the
    target date), overdue (after it, window still open) or missed (window closed); by default the open
    ones, due and overdue."""
    follow_ups = FollowUp.objects.filter(
        counted_response__isnull=True, superseded_by__isnull=True, ablation__patient__is_active=True
    )
    if status == Status.MISSED:
        follow_ups = follow_ups.filter(window_end__lt=today).order_by("-window_end", "pk")
    else:
        # The stubs read the alias's lookup as a text field's: it is a daterange (window_range's output_field).
        follow_ups = follow_ups.alias(window=window_range()).filter(window__contains=today)  # type: ignore[misc]
        if status == Status.DUE:
            follow_ups = follow_ups.filter(target_date__gte=today)
        elif status == Status.OVERDUE:
            follow_ups = follow_ups.filter(target_date__lt=today)
        follow_ups = follow_ups.order_by("target_date", "pk")
    if physician_id:
        follow_ups = follow_ups.filter(ablation__physician_id=physician_id)
    if time_point:
        follow_ups = follow_ups.filter(time_point=time_point)
    return follow_ups.select_related("ablation__patient", "ablation__nerve", "ablation__physician")


def qualifying_block_notes(*, ablation: Cryoablation, protocol: Protocol) -> list[str]:
    """What staff should know about a qualifying block that the rule would not have chosen."""
    block = ablation.qualifying_block
    if block is None or ablation.qualifying_source != QualifyingSource.STAFF:
        return []
    notes: list[str] = []
    if not block.assess(protocol).is_positive:
        notes.append("This block is not positive under the protocol's threshold.")
    days = (ablation.performed_on - timezone.localdate(block.performed_at)).days
    if days < 0:
        notes.append(f"This block was performed {-days} days after the ablation.")
    elif days > protocol.qualifying_block_days:
        notes.append(
            f"This block was performed {days} days before the ablation, more than {protocol.qualifying_block_days}."
        )
    return notes
