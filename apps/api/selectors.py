"""The API's lists. Patients come from the search page's selector and follow-ups from the worklist's; blocks and
ablations have no list page, so their lists are here, with the same filters as the outcomes report (date range,
physician, nerve, side). Each list ends on the primary key, so pages do not overlap when sort keys tie."""

from __future__ import annotations

from datetime import date

from django.db.models import Model, QuerySet

from apps.blocks.models import DiagnosticBlock
from apps.clinic.rules import clinic_days_q
from apps.cryoablations.models import Cryoablation, FollowUp
from apps.cryoablations.selectors import worklist


def _procedure_filters[M: Model](
    items: QuerySet[M],
    *,
    prefix: str = "",
    physician_id: int | None = None,
    nerve_id: int | None = None,
    side: str | None = None,
) -> QuerySet[M]:
    if physician_id is not None:
        items = items.filter(**{f"{prefix}physician_id": physician_id})
    if nerve_id is not None:
        items = items.filter(**{f"{prefix}nerve_id": nerve_id})
    if side:
        items = items.filter(**{f"{prefix}side": side})
    return items


def block_list(
    *,
    date_from: date | None = None,
    date_to: date | None = None,
    physician_id: int | None = None,
    nerve_id: int | None = None,
    side: str | None = None,
    ordering: str = "-performed_at",
) -> QuerySet[DiagnosticBlock]:
    """Blocks performed on the clinic's dates date_from..date_to (bounds as instants, so an index can answer)."""
    blocks = _procedure_filters(DiagnosticBlock.objects.all(), physician_id=physician_id, nerve_id=nerve_id, side=side)
    blocks = blocks.filter(clinic_days_q("performed_at", date_from, date_to))
    return (
        blocks.select_related("patient", "nerve", "physician")
        .prefetch_related("diary_entries")
        .order_by(ordering, "pk")
    )


def ablation_list(
    *,
    date_from: date | None = None,
    date_to: date | None = None,
    physician_id: int | None = None,
    nerve_id: int | None = None,
    side: str | None = None,
    ordering: str = "-performed_on",
) -> QuerySet[Cryoablation]:
    ablations = _procedure_filters(Cryoablation.objects.all(), physician_id=physician_id, nerve_id=nerve_id, side=side)
    if date_from:
        ablations = ablations.filter(performed_on__gte=date_from)
    if date_to:
        ablations = ablations.filter(performed_on__lte=date_to)
    return ablations.select_related("patient", "nerve", "physician", "qualifying_block").order_by(ordering, "pk")


def follow_up_list(
    *,
    today: date,
    status: str = "",
    time_point: str = "",
    date_from: date | None = None,
    date_to: date | None = None,
    physician_id: int | None = None,
    nerve_id: int | None = None,
    side: str | None = None,
    ordering: str = "target_date",
) -> QuerySet[FollowUp]:
    """Follow-ups by target date. With a status: the worklist's unanswered follow-ups of active patients (`open`
    is the worklist's default, due and overdue); without: every follow-up."""
    if status:
        follow_ups = worklist(today=today, status="" if status == "open" else status, time_point=time_point)
    else:
        follow_ups = FollowUp.objects.all()
        if time_point:
            follow_ups = follow_ups.filter(time_point=time_point)
    follow_ups = _procedure_filters(
        follow_ups, prefix="ablation__", physician_id=physician_id, nerve_id=nerve_id, side=side
    )
    if date_from:
        follow_ups = follow_ups.filter(target_date__gte=date_from)
    if date_to:
        follow_ups = follow_ups.filter(target_date__lte=date_to)
    return follow_ups.select_related(
        "ablation__patient", "ablation__nerve", "ablation__physician", "counted_response"
    ).order_by(ordering, "pk")
