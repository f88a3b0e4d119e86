from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from uuid import UUID

from django.db.models import QuerySet
from django.db.models.expressions import RawSQL
from django.shortcuts import get_object_or_404
from django.utils import timezone

from apps.accounts.models import User
from apps.clinic.models import Nerve, Protocol
from apps.patients.models import Patient
from apps.patients.selectors import visible_to

from .models import DiagnosticBlock


def block_get(*, public_id: UUID | str, user: User) -> DiagnosticBlock:
    """The block, if `user` may see its patient (apps.patients.selectors.visible_to); else 404."""
    return get_object_or_404(
        visible_to(DiagnosticBlock.objects.select_related("patient", "nerve", "physician"), user=user),
        public_id=public_id,
    )


def blocks_of_procedure(*, patient: Patient, nerve: Nerve, side: str) -> QuerySet[DiagnosticBlock]:
    """The blocks of one patient, nerve and side, newest first (with their stored peak relief), diaries prefetched."""
    return (
        DiagnosticBlock.objects.filter(patient=patient, nerve=nerve, side=side)
        .select_related("nerve")
        .prefetch_related("diary_entries")
        .order_by("-performed_at", "-id")
    )


def qualifying_block_pick(
    *, patient: Patient, nerve: Nerve, side: str, performed_on: date, protocol: Protocol
) -> DiagnosticBlock | None:
    """The latest positive block (under the protocol's threshold) of the same patient, nerve and side performed 0..N
    days (the protocol's qualifying_block_days, default 180) before the ablation date, in the clinic's time zone: the
    rule as the database defines it (blocks_qualifying_block, migration 0005), which the registry import calls too."""
    rule = RawSQL(
        "blocks_qualifying_block(%s, %s, %s, %s, %s, %s, %s)",
        [
            patient.pk,
            nerve.pk,
            side,
            performed_on,
            protocol.qualifying_block_days,
            protocol.block_threshold_percent,
            timezone.get_current_timezone_name(),
        ],
    )
    return DiagnosticBlock.objects.filter(pk=rule).select_related("nerve").first()


@dataclass(frozen=True)
class DualBlockStatus:
    required: bool
    confirmed_by: DiagnosticBlock | None

    @property
    def met(self) -> bool:
        return self.confirmed_by is not None


def dual_block_status(*, block: DiagnosticBlock, protocol: Protocol) -> DualBlockStatus:
    """Whether another positive block of the same patient, nerve and side concords with this positive one."""
    if not protocol.require_dual_blocks or not block.assess(protocol).is_positive:
        return DualBlockStatus(required=protocol.require_dual_blocks, confirmed_by=None)
    others = blocks_of_procedure(patient=block.patient, nerve=block.nerve, side=block.side).exclude(pk=block.pk)
    partner = next((b for b in others if b.assess(protocol).is_positive), None)
    return DualBlockStatus(required=True, confirmed_by=partner)
