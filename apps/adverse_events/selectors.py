from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from uuid import UUID

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from apps.accounts.models import User
from apps.patients.selectors import visible_to
from apps.surveys.models import SurveyResponse

from .models import AdverseEvent

EVENT_RELATED = (
    "treatment__patient",
    "treatment__nerve",
    "block__patient",
    "block__nerve",
    "source_response",
    "recorded_by",
)


def adverse_event_get(*, public_id: UUID | str, user: User) -> AdverseEvent:
    """The event, if `user` may see its patient (apps.patients.selectors.visible_to); else 404."""
    events = AdverseEvent.objects.select_related(*EVENT_RELATED)
    return get_object_or_404(visible_to(events, user=user), public_id=public_id)


def adverse_events_on(*, treatment_ids: list[int], block_ids: list[int]) -> QuerySet[AdverseEvent]:
    """The events on these treatments and blocks (a patient's, read already), newest first. By ids, each side reads
    its own index; an OR across the two joined tables would read every event, treatment and block of the clinic."""
    return (
        AdverseEvent.objects.filter(Q(treatment_id__in=treatment_ids) | Q(block_id__in=block_ids))
        .select_related(*EVENT_RELATED)
        .order_by("-occurred_on", "-id")
    )


def new_problems_waiting(*, user: User) -> QuerySet[SurveyResponse]:
    """Answers in which the patient reported a new problem that no one has reviewed yet (made an adverse event of,
    or dismissed), the longest waiting first. A problem reported about a treatment later superseded still waits:
    a harm is not a follow-up and does not stop being one."""
    waiting = SurveyResponse.objects.filter(new_problem=True, problem_review__isnull=True, adverse_event__isnull=True)
    return (
        visible_to(waiting, user=user)
        .select_related("ablation__patient", "ablation__nerve", "follow_up")
        .order_by("recorded_at", "pk")
    )


def new_problem_get(*, public_id: UUID | str, user: User) -> SurveyResponse:
    """An answer that reported a new problem, reviewed or not (the services refuse a second review), if `user` may
    see its patient (apps.patients.selectors.visible_to); else 404."""
    responses = SurveyResponse.objects.filter(new_problem=True).select_related(
        "ablation__patient", "ablation__nerve", "follow_up", "problem_review", "adverse_event"
    )
    return get_object_or_404(visible_to(responses, user=user), public_id=public_id)


def days_waiting(*, response: SurveyResponse, today: date | None = None) -> int:
    """Whole days, counted in the clinic's time zone, since the answer reached the registry."""
    today = today or timezone.localdate()
    return max((today - timezone.localdate(response.recorded_at)).days, 0)


@dataclass(frozen=True)
class WaitingProblem:
    response: SurveyResponse
    days_waiting: int


def new_problem_rows(*, responses: list[SurveyResponse], today: date) -> list[WaitingProblem]:
    return [WaitingProblem(r, days_waiting(response=r, today=today)) for r in responses]
