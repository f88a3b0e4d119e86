from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.db import connection, transaction

from apps.blocks.models import DiagnosticBlock
from apps.blocks.selectors import qualifying_block_pick
from apps.clinic.models import Protocol, TimePoint
from apps.clinic.selectors import protocol_for, time_points_for

from .models import Cryoablation, FollowUp, QualifyingSource


def follow_up_dates(performed_on: date, time_point: TimePoint) -> tuple[date, date, date]:
    """(target date, window start, window end) of a time point for an ablation performed on `performed_on`."""
    return (
        performed_on + timedelta(days=time_point.target_day),
        performed_on + timedelta(days=time_point.window_start_day),
        performed_on + timedelta(days=time_point.window_end_day),
    )


def ablation_create(*, qualifying_block: DiagnosticBlock | None = None, **fields: Any) -> Cryoablation:
    """Record an ablation, its qualifying block (the rule's pick unless staff name one) and its follow-ups,
    all in one transaction."""
    return ablation_save(ablation=Cryoablation(), qualifying_block=qualifying_block, **fields)


@transaction.atomic
def ablation_save(
    *, ablation: Cryoablation, qualifying_block: DiagnosticBlock | None = None, **fields: Any
) -> Cryoablation:
    """Save an ablation's fields; the qualifying block is chosen again (by the rule unless staff name one) and
    the follow-ups re-dated, since the date, nerve or side may have changed. The answers already recorded are the
    survey app's, above this one: an ablation that may have some is edited with surveys.services.ablation_update,
    which calls this and then re-assigns them to the follow-ups' new windows."""
    for name, value in fields.items():
        setattr(ablation, name, value)
    site_id = ablation.patient.site_id  # the protocol is that of the patient's site (protocol_for)
    _set_qualifying_block(ablation, qualifying_block, protocol_for(site_id))
    ablation.full_clean()
    ablation.save()
    follow_ups_schedule(ablation=ablation, time_points=time_points_for(site_id))
    supersession_refresh(patient_ids=[ablation.patient_id])
    return ablation


def supersession_refresh(*, patient_ids: list[int]) -> None:
    """Copy the repeat-treatment rule's result (the view cryoablations_followup_supersession, migration 0005) into
    the follow-ups of these patients: each follow-up's superseding treatment, or none. A superseded follow-up counts
    no answer, so its counted answer is dropped here; one no longer superseded (a repeat's date moved later) gets
    its answer back from surveys.services.counted_responses_refresh, which the survey app's ablation_update runs."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE cryoablations_followup f
            SET superseded_by_id = rule.superseded_by_id,
                counted_response_id = CASE WHEN rule.superseded_by_id IS NULL THEN f.counted_response_id END
            FROM (
                SELECT theirs.id, s.superseded_by_id
                FROM cryoablations_followup theirs
                JOIN cryoablations_cryoablation t ON t.id = theirs.ablation_id
                LEFT JOIN cryoablations_followup_supersession s ON s.follow_up_id = theirs.id
                WHERE t.patient_id = ANY(%s)
            ) rule
            WHERE f.id = rule.id AND f.superseded_by_id IS DISTINCT FROM rule.superseded_by_id
            """,
            [list(patient_ids)],
        )


def _set_qualifying_block(ablation: Cryoablation, named: DiagnosticBlock | None, protocol: Protocol) -> None:
    if named is not None:
        ablation.qualifying_block, ablation.qualifying_source = named, QualifyingSource.STAFF
        return
    picked = qualifying_block_pick(
        patient=ablation.patient,
        nerve=ablation.nerve,
        side=ablation.side,
        performed_on=ablation.performed_on,
        protocol=protocol,
    )
    ablation.qualifying_block = picked
    ablation.qualifying_source = QualifyingSource.RULE if picked else ""


def follow_ups_schedule(*, ablation: Cryoablation, time_points: list[TimePoint]) -> list[FollowUp]:
    """One follow-up per time point (the protocol's of the patient's site: clinic.selectors.time_points_for), dated
    from the ablation; existing ones are re-dated (the ablation's date may have been corrected;
    surveys.services.ablation_update then re-assigns its answers)."""
    existing = {f.time_point: f for f in ablation.follow_ups.all()}
    follow_ups = []
    for time_point in time_points:
        target, start, end = follow_up_dates(ablation.performed_on, time_point)
        follow_up = existing.get(time_point.code) or FollowUp(ablation=ablation, time_point=time_point.code)
        follow_up.label, follow_up.target_date, follow_up.window_start, follow_up.window_end = (
            time_point.label,
            target,
            start,
            end,
        )
        follow_up.save()
        follow_ups.append(follow_up)
    return follow_ups
