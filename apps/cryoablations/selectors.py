from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import Exists, OuterRef, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from apps.clinic.models import Protocol
from apps.clinic.rules import percent_reduction
from apps.surveys.models import SurveyResponse

from .models import Cryoablation, FollowUp, QualifyingSource, Status

WORKLIST_STATUSES = [Status.DUE, Status.OVERDUE, Status.MISSED]


def ablation_get(*, public_id) -> Cryoablation:
    return get_object_or_404(
        Cryoablation.objects.select_related("patient", "nerve", "physician", "qualifying_block__nerve"),
        public_id=public_id,
    )


def follow_up_get(*, public_id) -> FollowUp:
    return get_object_or_404(
        FollowUp.objects.select_related("ablation__patient", "ablation__nerve", "ablation__physician"),
        public_id=public_id,
    )


def counted_response(responses: list[SurveyResponse]) -> SurveyResponse | None:
    """Of the answers inside one follow-up's window, the one completed last counts (on equal times, the one
    recorded last)."""
    return max(responses, key=lambda r: (r.completed_at, r.recorded_at, r.pk), default=None)


@dataclass(frozen=True)
class FollowUpRow:
    follow_up: FollowUp
    status: Status
    response: SurveyResponse | None

    @property
    def reduction_percent(self):
        if self.response is None:
            return None
        return percent_reduction(self.follow_up.ablation.baseline_nrs, self.response.pain_average)


def follow_up_rows(*, follow_ups: list[FollowUp], responses: list[SurveyResponse], today: date) -> list[FollowUpRow]:
    """Follow-ups with their status and counted answer, from answers already loaded (no query per row)."""
    by_follow_up: dict[int, list[SurveyResponse]] = {}
    for response in responses:
        if response.follow_up_id is not None:
            by_follow_up.setdefault(response.follow_up_id, []).append(response)
    rows = []
    for follow_up in follow_ups:
        response = counted_response(by_follow_up.get(follow_up.pk, []))
        rows.append(FollowUpRow(follow_up, follow_up.status(today, completed=response is not None), response))
    return rows


def worklist(
    *, today: date, status: str = "", physician_id: int | None = None, time_point: str = ""
) -> QuerySet[FollowUp]:
    """Follow-ups of active patients whose window has opened and that have no answer yet: due (up to the
    target date), overdue (after it, window still open) or missed (window closed); by default the open ones,
    due and overdue."""
    follow_ups = (
        FollowUp.objects.filter(window_start__lte=today, ablation__patient__is_active=True)
        .exclude(Exists(SurveyResponse.objects.filter(follow_up=OuterRef("pk"))))
        .select_related("ablation__patient", "ablation__nerve", "ablation__physician")
    )
    if status == Status.DUE:
        follow_ups = follow_ups.filter(target_date__gte=today)
    elif status == Status.OVERDUE:
        follow_ups = follow_ups.filter(target_date__lt=today, window_end__gte=today)
    elif status == Status.MISSED:
        follow_ups = follow_ups.filter(window_end__lt=today)
    else:
        follow_ups = follow_ups.filter(window_end__gte=today)
    if physician_id:
        follow_ups = follow_ups.filter(ablation__physician_id=physician_id)
    if time_point:
        follow_ups = follow_ups.filter(time_point=time_point)
    if status == Status.MISSED:
        return follow_ups.order_by("-window_end", "pk")
    return follow_ups.order_by("target_date", "pk")


def qualifying_block_notes(*, ablation: Cryoablation, protocol: Protocol) -> list[str]:
    """What staff should know about a qualifying block that the rule would not have chosen."""
    block = ablation.qualifying_block
    if block is None or ablation.qualifying_source != QualifyingSource.STAFF:
        return []
    notes = []
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
