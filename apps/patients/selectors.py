from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import CharField, F, Func, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from apps.clinic.models import Protocol
from apps.clinic.rules import clinic_day_start

from .models import Patient, search_key

# ordering -> the columns it sorts by. Only orders an index answers over the whole registry (patient_name_order,
# the MRN's unique index): a page of 100,000 patients sorted on another column is a full sort on each request.
PATIENT_ORDERINGS = {"last_name": ("last_name", "first_name"), "mrn": ("mrn",)}


class _Unindexed(Func):
    """A text column as an expression no index answers: same values, same collation, same order."""

    template = "(%(expressions)s || '')"
    output_field = CharField()


def patient_search(*, query: str = "", ordering: str = "last_name") -> QuerySet[Patient]:
    """Patients whose MRN starts with the query, or whose names hold words starting with each of its terms,
    ignoring case and accents ("jose gar" finds José García), in `ordering` (a key of PATIENT_ORDERINGS, `-` for
    descending), the primary key last. The page and the API both search here.

    Every query is tried as both: an MRN may hold letters, hyphens, dots or spaces (`WLK-0001`), so no pattern can
    tell an MRN from a name. The MRN is stored upper case (PatientForm.clean_mrn), so its prefix is too; the MRN's
    varchar_pattern_ops index answers the prefix and the trigram index the names, the two OR-ed in one bitmap scan.

    With a search term, the sort is over the matching rows (found through those indexes), not a walk of the
    name index until a page of matches turns up: the planner prefers that walk for a LIMIT, and it reads most of
    the registry when the term is rare."""
    patients = Patient.objects.all()
    query = query.strip()
    if query:
        names = Q()
        for term in search_key(query).split():
            names &= Q(search_name__contains=" " + term)
        patients = patients.filter(Q(mrn__startswith=query.upper()) | names)
    descending = ordering.startswith("-")
    keys = [_Unindexed(F(c)) if query else F(c) for c in PATIENT_ORDERINGS[ordering.lstrip("-")]] + [F("pk")]
    return patients.order_by(*(key.desc() if descending else key.asc() for key in keys))


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
    events = [
        TimelineEvent(timezone.localdate(b.performed_at), b.performed_at, "block", b, b.assess(protocol))
        for b in blocks
    ]
    events += [TimelineEvent(a.performed_on, clinic_day_start(a.performed_on), "ablation", a) for a in ablations]
    events += [
        TimelineEvent(row.follow_up.target_date, clinic_day_start(row.follow_up.target_date), "follow_up", row)
        for row in follow_up_rows(follow_ups=follow_ups, today=today)
    ]
    events += [TimelineEvent(timezone.localdate(r.completed_at), r.completed_at, "response", r) for r in responses]
    return sorted(events, key=lambda e: e.at, reverse=True)
