from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from apps.clinic.models import Protocol

from .models import Patient, search_key

MRN_LIKE = re.compile(r"^[A-Za-z]*\d[\w-]*$")


def patient_search(*, query: str = "") -> QuerySet[Patient]:
    """Patients whose MRN starts with the query, or whose names hold words starting with each of its terms,
    ignoring case and accents ("jose gar" finds José García)."""
    patients = Patient.objects.all()
    query = query.strip()
    if not query:
        return patients
    if MRN_LIKE.match(query):
        return patients.filter(mrn__startswith=query.upper())
    condition = Q()
    for term in search_key(query).split():
        condition &= Q(search_name__contains=" " + term)
    return patients.filter(condition)


def patient_get_or_404(*, public_id) -> Patient:
    return get_object_or_404(Patient, public_id=public_id)


@dataclass(frozen=True)
class TimelineEvent:
    """One line of a patient's timeline; `kind` is block, ablation, follow_up or response."""

    on: date
    at: datetime
    kind: str
    item: object
    extra: object = None


def patient_timeline(*, patient: Patient, protocol: Protocol, today: date) -> list[TimelineEvent]:
    """Blocks (with their result), ablations (with their qualifying block), follow-ups (status, due date,
    score) and survey answers of a patient, newest first, in a fixed number of queries however long the
    history."""
    from apps.blocks.models import DiagnosticBlock
    from apps.cryoablations.models import Cryoablation, FollowUp
    from apps.cryoablations.selectors import follow_up_rows
    from apps.surveys.models import SurveyResponse

    blocks = list(
        DiagnosticBlock.objects.filter(patient=patient)
        .select_related("nerve", "physician")
        .prefetch_related("diary_entries")
    )
    ablations = list(
        Cryoablation.objects.filter(patient=patient).select_related("nerve", "physician", "qualifying_block__nerve")
    )
    follow_ups = list(FollowUp.objects.filter(ablation__patient=patient).select_related("ablation", "counted_response"))
    responses = list(
        SurveyResponse.objects.filter(ablation__patient=patient).select_related("follow_up", "ablation__nerve")
    )
    zone = timezone.get_current_timezone()

    def start_of(day: date) -> datetime:
        return datetime.combine(day, time.min, tzinfo=zone)

    events = [
        TimelineEvent(timezone.localdate(b.performed_at), b.performed_at, "block", b, b.assess(protocol))
        for b in blocks
    ]
    events += [TimelineEvent(a.performed_on, start_of(a.performed_on), "ablation", a) for a in ablations]
    events += [
        TimelineEvent(row.follow_up.target_date, start_of(row.follow_up.target_date), "follow_up", row)
        for row in follow_up_rows(follow_ups=follow_ups, today=today)
    ]
    events += [TimelineEvent(timezone.localdate(r.completed_at), r.completed_at, "response", r) for r in responses]
    return sorted(events, key=lambda e: e.at, reverse=True)
