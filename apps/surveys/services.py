from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone

from apps.cryoablations.models import Cryoablation, FollowUp

from .models import SurveyResponse


def follow_up_for(*, ablation: Cryoablation, completed_at: datetime) -> FollowUp | None:
    """The follow-up whose window holds the completion date, counted in the clinic's time zone (a survey at
    23:30 local time belongs to that local date, whatever its UTC date). None: unscheduled."""
    local_date = timezone.localdate(completed_at)
    return ablation.follow_ups.filter(window_start__lte=local_date, window_end__gte=local_date).first()


@transaction.atomic
def response_record(*, ablation: Cryoablation, completed_at: datetime, **answers) -> SurveyResponse:
    response = SurveyResponse(
        ablation=ablation,
        completed_at=completed_at,
        follow_up=follow_up_for(ablation=ablation, completed_at=completed_at),
        **answers,
    )
    response.full_clean()
    response.save()
    if response.follow_up_id:
        counted_responses_refresh(follow_ups=FollowUp.objects.filter(pk=response.follow_up_id))
    return response


def responses_assign(*, ablation: Cryoablation) -> None:
    """Re-assign every answer of an ablation to the follow-up its completion date falls in."""
    for response in ablation.survey_responses.all():
        follow_up = follow_up_for(ablation=ablation, completed_at=response.completed_at)
        if follow_up != response.follow_up:
            response.follow_up = follow_up
            response.save(update_fields=["follow_up"])
    counted_responses_refresh(follow_ups=ablation.follow_ups.all())


def counted_responses_refresh(*, follow_ups: QuerySet[FollowUp]) -> int:
    """Point each follow-up at the answer it is judged by: of those inside its window, the one completed last,
    on equal times the one recorded last (outcome-definitions.md, Cryoablation and follow-up)."""
    counted = SurveyResponse.objects.filter(follow_up=OuterRef("pk")).order_by("-completed_at", "-recorded_at", "-pk")
    return follow_ups.update(counted_response=Subquery(counted.values("pk")[:1]))
