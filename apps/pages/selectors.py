from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.utils import timezone

from apps.adverse_events.selectors import adverse_events_for_patient
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
    blocks = list(
        DiagnosticBlock.objects.filter(patient=patient)
        .select_related("nerve", "physician")
        .prefetch_related("diary_entries")
    )
    ablations = list(
        with_repeated_by(Cryoablation.objects.filter(patient=patient)).select_related(
            "nerve", "physician", "qualifying_block__nerve"
        )
    )
    follow_ups = list(
        FollowUp.objects.filter(ablation__patient=patient).select_related(
            "ablation", "counted_response", "superseded_by"
        )
    )
    responses = list(
        SurveyResponse.objects.filter(ablation__patient=patient).select_related("follow_up", "ablation__nerve")
    )
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
        for e in adverse_events_for_patient(patient=patient)
    ]
    return sorted(events, key=lambda e: e.at, reverse=True)
