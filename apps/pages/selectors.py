from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.utils import timezone

from apps.adverse_events.selectors import adverse_events_on
from apps.blocks.models import DiagnosticBlock
from apps.clinic.models import Protocol
from apps.clinic.rules import clinic_day_start
from apps.cryoablations.models import Cryoablation, FollowUp
from apps.cryoablations.selectors import follow_up_rows, treatment_chains, with_repeated_by
from apps.patients.models import Patient
from apps.surveys.models import SurveyResponse


@dataclass(frozen=True)
class TimelineEvent:
    """One line of a patient's timeline; `kind` is block, ablation (a treatment of any kind: `extra` is its
    TreatmentChain, the repeats it is part of), follow_up, response or adverse_event."""

    on: date
    at: datetime
    kind: str
    item: object
    extra: object = None


def patient_timeline(*, patient: Patient, protocol: Protocol, today: date) -> list[TimelineEvent]:
    """Blocks (with their result), ablations (with their qualifying block), follow-ups (status, due date,
    score) and survey answers of a patient, newest first, in a fixed number of queries however long the
    history."""
    blocks = list(DiagnosticBlock.objects.filter(patient=patient).select_related("nerve", "physician"))
    ablations = list(
        with_repeated_by(Cryoablation.objects.filter(patient=patient)).select_related(
            "nerve", "physician", "qualifying_block__nerve"
        )
    )
    follow_ups = list(FollowUp.objects.filter(ablation__patient=patient))
    responses = list(SurveyResponse.objects.filter(ablation__patient=patient))
    # Each record read once and shared: a follow-up's treatment, counted answer and superseding treatment, an
    # answer's follow-up and treatment are all the patient's, read above (one object each, not one per reference).
    ablations_by_pk = {a.pk: a for a in ablations}
    follow_ups_by_pk = {f.pk: f for f in follow_ups}
    responses_by_pk = {r.pk: r for r in responses}
    for f in follow_ups:
        f.ablation = ablations_by_pk[f.ablation_id]
        if f.counted_response_id:
            f.counted_response = responses_by_pk[f.counted_response_id]
        if f.superseded_by_id:
            f.superseded_by = ablations_by_pk[f.superseded_by_id]
    for r in responses:
        r.ablation = ablations_by_pk[r.ablation_id]
        if r.follow_up_id:
            r.follow_up = follow_ups_by_pk[r.follow_up_id]
    events = [
        TimelineEvent(timezone.localdate(b.performed_at), b.performed_at, "block", b, b.assess(protocol))
        for b in blocks
    ]
    chains = treatment_chains(treatments=ablations)
    events += [
        TimelineEvent(a.performed_on, clinic_day_start(a.performed_on), "ablation", a, chains[a.pk]) for a in ablations
    ]
    events += [
        TimelineEvent(row.follow_up.target_date, clinic_day_start(row.follow_up.target_date), "follow_up", row)
        for row in follow_up_rows(follow_ups=follow_ups, today=today)
    ]
    events += [TimelineEvent(timezone.localdate(r.completed_at), r.completed_at, "response", r) for r in responses]
    events += [
        TimelineEvent(e.occurred_on, clinic_day_start(e.occurred_on), "adverse_event", e)
        for e in adverse_events_on(treatment_ids=[a.pk for a in ablations], block_ids=[b.pk for b in blocks])
    ]
    return sorted(events, key=lambda e: e.at, reverse=True)
