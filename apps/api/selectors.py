"""The API's lists. Patients come from the search page's selector and follow-ups from the worklist's; blocks and
ablations have no list page, so their lists are here, with the same filters as the outcomes report (date range,
physician, nerve, side). Each list ends on the primary key, so pages do not overlap when sort keys tie."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from django.db.models import Model, Q, QuerySet
from django.shortcuts import get_object_or_404

from apps.accounts.models import User
from apps.adverse_events.models import AdverseEvent
from apps.adverse_events.selectors import EVENT_RELATED
from apps.blocks.models import DiagnosticBlock
from apps.clinic.rules import clinic_days_q
from apps.cryoablations.models import Cryoablation, FollowUp, Kind
from apps.cryoablations.selectors import with_repeated_by, worklist
from apps.instruments.models import InstrumentAnswer
from apps.medications.models import MedicationStatement
from apps.patients.selectors import visible_to


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
    """The version 1 list of ablations: cryoablation treatments only (its fields are cryoablation's)."""
    return treatment_list(
        date_from=date_from,
        date_to=date_to,
        physician_id=physician_id,
        nerve_id=nerve_id,
        side=side,
        kind=Kind.CRYOABLATION,
        ordering=ordering,
    )


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
        "ablation__patient", "ablation__nerve", "ablation__physician", "counted_response", "superseded_by"
    ).order_by(ordering, "pk")


def treatment_list(
    *,
    date_from: date | None = None,
    date_to: date | None = None,
    physician_id: int | None = None,
    nerve_id: int | None = None,
    side: str | None = None,
    kind: str | None = None,
    patient_id: int | None = None,
    ordering: str = "-performed_on",
) -> QuerySet[Cryoablation]:
    """Treatments of every kind (or of `kind`): performed from date_from to date_to, of a physician, nerve, side or
    patient."""
    treatments = _procedure_filters(Cryoablation.objects.all(), physician_id=physician_id, nerve_id=nerve_id, side=side)
    if date_from:
        treatments = treatments.filter(performed_on__gte=date_from)
    if date_to:
        treatments = treatments.filter(performed_on__lte=date_to)
    if kind:
        treatments = treatments.filter(kind=kind)
    if patient_id is not None:
        treatments = treatments.filter(patient_id=patient_id)
    return treatments.select_related("patient", "nerve", "physician", "qualifying_block").order_by(ordering, "pk")


def treatment_get(*, public_id: UUID | str, user: User) -> Cryoablation:
    """The treatment, if `user` may see its patient (apps.patients.selectors.visible_to); else 404."""
    treatments = Cryoablation.objects.select_related("patient", "nerve", "physician", "qualifying_block")
    return get_object_or_404(with_repeated_by(visible_to(treatments, user=user)), public_id=public_id)


def adverse_event_list(
    *,
    treatment_id: int | None = None,
    block_id: int | None = None,
    patient_id: int | None = None,
    ordering: str = "-occurred_on",
) -> QuerySet[AdverseEvent]:
    """Adverse events, on treatments and blocks alike: of one treatment, one block, or one patient (whichever
    procedure they are recorded on)."""
    events = AdverseEvent.objects.all()
    if treatment_id is not None:
        events = events.filter(treatment_id=treatment_id)
    if block_id is not None:
        events = events.filter(block_id=block_id)
    if patient_id is not None:
        events = events.filter(Q(treatment__patient_id=patient_id) | Q(block__patient_id=patient_id))
    return events.select_related(*EVENT_RELATED).order_by(ordering, "pk")


def medication_statement_list(
    *, patient_id: int | None = None, ordering: str = "-started_on"
) -> QuerySet[MedicationStatement]:
    """Opioid statements, of every patient or of one."""
    statements = MedicationStatement.objects.all()
    if patient_id is not None:
        statements = statements.filter(patient_id=patient_id)
    return statements.select_related("patient", "recorded_by").order_by(ordering, "pk")


def instrument_answer_list(
    *,
    patient_id: int | None = None,
    treatment_id: int | None = None,
    instrument: str | None = None,
    ordering: str = "-completed_at",
) -> QuerySet[InstrumentAnswer]:
    """Instrument answers (PEG-3, PHQ-2, GAD-2, loaded ones), of every patient, one patient, one treatment or one
    instrument, with the version each was scored with."""
    answers = InstrumentAnswer.objects.all()
    if patient_id is not None:
        answers = answers.filter(treatment__patient_id=patient_id)
    if treatment_id is not None:
        answers = answers.filter(treatment_id=treatment_id)
    if instrument is not None:
        answers = answers.filter(instrument__code=instrument)
    return answers.select_related("treatment__patient", "instrument", "version", "recorded_by").order_by(ordering, "pk")
