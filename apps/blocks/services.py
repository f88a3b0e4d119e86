from __future__ import annotations

from typing import Any

from django.db import transaction

from .models import DiagnosticBlock, DiaryEntry

Diary = list[tuple[int, int]]  # (minutes after injection, NRS)


@transaction.atomic
def block_create(*, diary: Diary, **fields: Any) -> DiagnosticBlock:
    block = DiagnosticBlock(**fields)
    block.full_clean()
    block.save()
    diary_set(block=block, diary=diary)
    return block


@transaction.atomic
def block_update(*, block: DiagnosticBlock, diary: Diary, **fields: Any) -> DiagnosticBlock:
    for name, value in fields.items():
        setattr(block, name, value)
    block.full_clean()
    block.save()
    diary_set(block=block, diary=diary)
    return block


def diary_set(*, block: DiagnosticBlock, diary: Diary) -> None:
    """Make the block's diary exactly `diary`; an unchanged entry keeps its source (staff or patient)."""
    wanted = dict(diary)
    existing = {e.minutes_after: e for e in block.diary_entries.all()}
    block.diary_entries.exclude(minutes_after__in=wanted).delete()
    for minutes, nrs in wanted.items():
        entry = existing.get(minutes)
        if entry is None:
            entry = DiaryEntry(block=block, minutes_after=minutes, nrs=nrs)
        elif entry.nrs == nrs:
            continue
        else:
            entry.nrs, entry.source = nrs, DiaryEntry.Source.STAFF
        entry.full_clean(exclude=["block"])
        entry.save()
    # The database has recomputed the block's peak relief from its new diary: drop what the instance had read.
    block.refresh_from_db()
