from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any
from typing import Protocol as TypingProtocol
from uuid import UUID

from django.db import models
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL
from django.shortcuts import get_object_or_404
from django.utils import timezone

from apps.accounts.models import User
from apps.blocks.models import DiagnosticBlock
from apps.clinic.models import Protocol
from apps.clinic.rules import percent_reduction
from apps.patients.models import Patient
from apps.patients.selectors import visible_to

from .models import KIND_DETAILS, Cryoablation, FollowUp, QualifyingSource, Status, window_range

WORKLIST_STATUSES = [Status.DUE, Status.OVERDUE, Status.MISSED]


def ablation_get(*, public_id: UUID | str, user: User) -> Cryoablation:
    """The treatment, if `user` may see its patient (apps.patients.selectors.visible_to); else 404."""
    return get_object_or_404(
        visible_to(
            Cryoablation.objects.select_related(
                "patient", "nerve", "physician", "qualifying_block__nerve", "qualifying_block__peak_relief"
            ),
            user=user,
        ),
        public_id=public_id,
    )


def patient_block_find(*, patient: Patient, public_id: str) -> DiagnosticBlock | None:
    """A block of this patient by its public id; None for anything else (another patient's, none, not an id)."""
    try:
        block_id = UUID(public_id)
    except ValueError:
        return None
    return DiagnosticBlock.objects.filter(patient=patient, public_id=block_id).select_related("nerve").first()


@dataclass(frozen=True)
class TreatmentChain:
    """Where a treatment stands among the repeats of its nerve and side (the view cryoablations_supersession,
    the rule's one home): the earlier treatments it repeats, and the later one that repeats it."""

    repeats: list[Cryoablation]
    repeated_by: Cryoablation | None


def with_repeated_by(treatments: QuerySet[Cryoablation]) -> QuerySet[Cryoablation]:
    """Each treatment with the later treatment that supersedes it, read from the view cryoablations_supersession
    (the repeat rule's one home) in the same query: `repeated_by_pk` and `repeated_by_public_id` (or None), and
    `repeat_on`, its date."""

    def supersession(column: str, output_field: models.Field[Any, Any]) -> RawSQL:
        # `column` is one of the three literals below, never input.
        return RawSQL(  # noqa: S611
            f"SELECT {column} FROM cryoablations_supersession s"  # noqa: S608
            " JOIN cryoablations_cryoablation later ON later.id = s.superseded_by_id"
            " WHERE s.ablation_id = cryoablations_cryoablation.id",
            [],
            output_field=output_field,
        )

    return treatments.annotate(
        repeated_by_pk=supersession("later.id", models.IntegerField()),
        repeated_by_public_id=supersession("later.public_id", models.UUIDField()),
        repeat_on=supersession("s.repeat_on", models.DateField()),
    )


def treatment_chains(*, treatments: list[Cryoablation]) -> dict[int, TreatmentChain]:
    """The chain of each treatment, by id, from treatments read with_repeated_by: all of a patient's, or all of
    one nerve and side (a repeat is of the same patient, nerve and side, so the list holds both ends)."""
    by_pk = {t.pk: t for t in treatments}
    repeats: dict[int, list[Cryoablation]] = {}
    for earlier in sorted(treatments, key=lambda t: (t.performed_on, t.pk)):
        later = getattr(earlier, "repeated_by_pk", None)
        if later is not None:
            repeats.setdefault(later, []).append(earlier)
    return {
        t.pk: TreatmentChain(
            repeats=repeats.get(t.pk, []), repeated_by=by_pk.get(getattr(t, "repeated_by_pk", None) or 0)
        )
        for t in treatments
    }


def treatment_chain(*, treatment: Cryoablation) -> TreatmentChain:
    """One treatment's chain, from the treatments of its patient, nerve and side."""
    siblings = with_repeated_by(
        Cryoablation.objects.filter(patient_id=treatment.patient_id, nerve_id=treatment.nerve_id, side=treatment.side)
    )
    return treatment_chains(treatments=list(siblings))[treatment.pk]


# How each detail reads on a page: its name and the unit after its value.
DETAIL_WORDS: dict[str, tuple[str, str]] = {
    "device": ("Device", ""),
    "probe": ("Probe", ""),
    "cycles": ("Freeze cycles", ""),
    "freeze_seconds": ("Freeze per cycle", " s"),
    "cannula_gauge": ("Cannula", " gauge"),
    "active_tip_mm": ("Active tip", " mm"),
    "temperature_c": ("Temperature", " °C"),
    "lesion_seconds": ("Time per lesion", " s"),
    "lesions": ("Lesions", ""),
    "leads": ("Leads", ""),
    "removed_on": ("Leads removed on", ""),
}


def treatment_details(*, treatment: Cryoablation) -> list[tuple[str, str]]:
    """The details of the treatment's kind (KIND_DETAILS) as (name, value with its unit), "Not recorded" when
    empty."""
    rows = []
    for name in KIND_DETAILS.get(treatment.kind, ()):
        label, unit = DETAIL_WORDS[name]
        value = getattr(treatment, name)
        if value in (None, ""):
            text = "Not yet removed" if name == "removed_on" else "Not recorded"
        elif isinstance(value, date):
            text = f"{value:%Y-%m-%d}"
        elif isinstance(value, Decimal):
            text = f"{value.normalize():f}{unit}"
        else:
            text = f"{value}{unit}"
        rows.append((label, text))
    return rows


def follow_up_get(*, public_id: UUID | str, user: User) -> FollowUp:
    """The follow-up, if `user` may see its patient (apps.patients.selectors.visible_to); else 404."""
    follow_ups = FollowUp.objects.select_related(
        "ablation__patient", "ablation__nerve", "ablation__physician", "superseded_by"
    )
    return get_object_or_404(visible_to(follow_ups, user=user), public_id=public_id)


class CountedAnswer(TypingProtocol):
    """What a row reads of its counted answer (a surveys.SurveyResponse)."""

    @property
    def pain_average(self) -> int: ...


@dataclass(frozen=True)
class FollowUpRow:
    follow_up: FollowUp
    status: Status
    # The counted answer (FollowUp.counted_response, a surveys.SurveyResponse: that app sits above this one).
    response: CountedAnswer | None

    @property
    def reduction_percent(self) -> Decimal | None:
        if self.response is None:
            return None
        return percent_reduction(self.follow_up.ablation.baseline_nrs, self.response.pain_average)


def follow_up_rows(*, follow_ups: list[FollowUp], today: date) -> list[FollowUpRow]:
    """Follow-ups with their status and counted answer (select_related "ablation", "counted_response" and
    "superseded_by", which a superseded row names)."""
    return [
        FollowUpRow(f, f.status(today, completed=f.counted_response_id is not None), f.counted_response)
        for f in follow_ups
    ]


def worklist(
    *, today: date, status: str = "", physician_id: int | None = None, time_point: str = ""
) -> QuerySet[FollowUp]:
    """Unanswered follow-ups of active patients, not superseded by a repeat treatment: due (window open, up to the
    target date), overdue (after it, window still open) or missed (window closed); by default the open
    ones, due and overdue."""
    follow_ups = FollowUp.objects.filter(
        counted_response__isnull=True, superseded_by__isnull=True, ablation__patient__is_active=True
    )
    if status == Status.MISSED:
        follow_ups = follow_ups.filter(window_end__lt=today).order_by("-window_end", "pk")
    else:
        # The stubs read the alias's lookup as a text field's: it is a daterange (window_range's output_field).
        follow_ups = follow_ups.alias(window=window_range()).filter(window__contains=today)  # type: ignore[misc]
        if status == Status.DUE:
            follow_ups = follow_ups.filter(target_date__gte=today)
        elif status == Status.OVERDUE:
            follow_ups = follow_ups.filter(target_date__lt=today)
        follow_ups = follow_ups.order_by("target_date", "pk")
    if physician_id:
        follow_ups = follow_ups.filter(ablation__physician_id=physician_id)
    if time_point:
        follow_ups = follow_ups.filter(time_point=time_point)
    return follow_ups.select_related("ablation__patient", "ablation__nerve", "ablation__physician")


def qualifying_block_notes(*, ablation: Cryoablation, protocol: Protocol) -> list[str]:
    """What staff should know about a qualifying block that the rule would not have chosen."""
    block = ablation.qualifying_block
    if block is None or ablation.qualifying_source != QualifyingSource.STAFF:
        return []
    notes: list[str] = []
    if not block.assess(protocol).is_positive:
        notes.append("This block is not positive under the protocol's threshold.")
    days = (ablation.performed_on - timezone.localdate(block.performed_at)).days
    if days < 0:
        notes.append(f"This block was performed {-days} days after the treatment.")
    elif days > protocol.qualifying_block_days:
        notes.append(
            f"This block was performed {days} days before the treatment, more than {protocol.qualifying_block_days}."
        )
    return notes
