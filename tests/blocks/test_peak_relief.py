"""The stored peak relief of each block (BlockPeakRelief, kept by database triggers from blocks_peak_relief_rule, the
rule's one definition) is always what outcome-definitions.md says of the block's diary: after diary inserts, updates
and deletes, a change of baseline, a change of the protocol's evaluation window, and bulk inserts. Where the expected
value is not written in the test (many blocks at once), it is read off the diary by `expected_peak`, the
definition's words in Python, independent of the database's."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.accounts.models import Role
from apps.blocks.models import BlockPeakRelief, DiagnosticBlock, DiaryEntry
from apps.blocks.services import block_update
from apps.clinic.models import Nerve
from apps.clinic.rules import percent_reduction
from apps.clinic.selectors import protocol_get
from apps.cryoablations.models import Cryoablation
from apps.demo.generator import seed_demo
from apps.surveys.services import patient_diary_entry_record
from tests.factories import BlockFactory, PatientFactory, UserFactory, make_ablation

pytestmark = pytest.mark.django_db

EXACT = Decimal("1e-12")  # the stored quotient has 16 decimals, Python's 28 digits: the same number


def stored(block: DiagnosticBlock) -> Decimal | None:
    return BlockPeakRelief.objects.filter(block=block).values_list("peak_relief_percent", flat=True).first()


def expected_peak(block: DiagnosticBlock) -> Decimal | None:
    """Peak relief as outcome-definitions.md words it: the largest reduction from the baseline among the diary
    entries 0..W minutes after injection, both ends included; none at a baseline of 0 or with no entry inside."""
    window = protocol_get().evaluation_window_minutes
    fresh = DiagnosticBlock.objects.get(pk=block.pk)
    scores = [e.nrs for e in fresh.diary_entries.all() if 0 <= e.minutes_after <= window]
    if not fresh.baseline_nrs or not scores:
        return None
    return percent_reduction(fresh.baseline_nrs, min(scores))


def assert_every_block_follows_the_rule() -> int:
    """Every block has its row: the rule's value (none where the rule gives none), the block's copied columns and
    whether an ablation names it; returns how many blocks have a value."""
    rows = {row.block_id: row for row in BlockPeakRelief.objects.all()}
    named = set(Cryoablation.objects.exclude(qualifying_block=None).values_list("qualifying_block_id", flat=True))
    for block in DiagnosticBlock.objects.all():
        expected = expected_peak(block)
        row = rows[block.pk]
        if expected is None:
            assert row.peak_relief_percent is None, block.pk
        else:
            assert abs(row.peak_relief_percent - expected) < EXACT, (block.pk, row.peak_relief_percent, expected)
        copied = (row.performed_at, row.physician_id, row.nerve_id, row.side)
        assert copied == (block.performed_at, block.physician_id, block.nerve_id, block.side), block.pk
        assert row.ablated == (block.pk in named), block.pk
    assert set(rows) == set(DiagnosticBlock.objects.values_list("pk", flat=True))
    return sum(row.peak_relief_percent is not None for row in rows.values())


def test_diary_entries_inserted_one_by_one_give_the_largest_reduction_inside_the_window():
    # given a block with baseline 8
    block = BlockFactory(baseline_nrs=8)
    assert stored(block) is None
    # when entries are added, one outside the window with the lowest score
    DiaryEntry.objects.create(block=block, minutes_after=30, nrs=4)
    assert stored(block) == Decimal(50)
    DiaryEntry.objects.create(block=block, minutes_after=120, nrs=3)
    DiaryEntry.objects.create(block=block, minutes_after=361, nrs=0)
    # then the peak is 62.5% (3 of 8), not 100% (the entry at 361 minutes is kept, not counted)
    assert stored(block) == Decimal("62.5")
    assert stored(block) == expected_peak(block)
    assert assert_every_block_follows_the_rule() == 1


def test_repeating_fractions_are_stored_as_the_rule_computes_them():
    # given baseline 3 and 9: 66.66...% and 77.77...%
    thirds = BlockFactory(baseline_nrs=3, diary=[(30, 1)])
    ninths = BlockFactory(baseline_nrs=9, diary=[(30, 2)])
    # then
    assert abs(stored(thirds) - expected_peak(thirds)) < EXACT
    assert stored(thirds) < Decimal("66.67")
    assert abs(stored(ninths) - expected_peak(ninths)) < EXACT


def test_worse_pain_is_a_negative_peak():
    block = BlockFactory(baseline_nrs=4, diary=[(30, 6)])
    assert stored(block) == Decimal(-50)


def test_no_row_for_a_block_with_baseline_0_or_without_an_entry_in_the_window():
    zero = BlockFactory(baseline_nrs=0, diary=[(30, 0)])
    outside = BlockFactory(baseline_nrs=8, diary=[(400, 1)])
    assert stored(zero) is None and expected_peak(zero) is None
    assert stored(outside) is None and expected_peak(outside) is None


def test_an_updated_entry_is_recomputed_and_one_moved_out_of_the_window_no_longer_counts():
    # given baseline 10, entries 5 (30 min) and 2 (60 min): 80%
    block = BlockFactory(baseline_nrs=10, diary=[(30, 5), (60, 2)])
    assert stored(block) == Decimal(80)
    # when the 60-minute score is corrected to 6
    DiaryEntry.objects.filter(block=block, minutes_after=60).update(nrs=6)
    # then the peak is the 30-minute entry's 50%
    assert stored(block) == Decimal(50)
    # when the 30-minute entry is moved past the window
    DiaryEntry.objects.filter(block=block, minutes_after=30).update(minutes_after=500)
    # then
    assert stored(block) == Decimal(40)
    assert stored(block) == expected_peak(block)


def test_an_entry_moved_to_another_block_is_recomputed_on_both():
    first = BlockFactory(baseline_nrs=10, diary=[(30, 1)])
    second = BlockFactory(baseline_nrs=10)
    DiaryEntry.objects.filter(block=first).update(block=second)
    assert stored(first) is None
    assert stored(second) == Decimal(90)


def test_deleted_entries_are_recomputed_and_the_last_one_removes_the_value():
    block = BlockFactory(baseline_nrs=8, diary=[(30, 2), (60, 4)])
    assert stored(block) == Decimal(75)
    DiaryEntry.objects.filter(block=block, minutes_after=30).delete()
    assert stored(block) == Decimal(50)
    DiaryEntry.objects.filter(block=block).delete()
    assert stored(block) is None


def test_the_diary_service_and_the_patient_diary_keep_it():
    # given a block edited through the service (which deletes, updates and inserts entries)
    block = BlockFactory(baseline_nrs=10, diary=[(15, 8), (30, 6)])
    block_update(block=block, diary=[(30, 4), (60, 3)])
    assert stored(block) == Decimal(70)
    # when the patient adds a score through the survey link's service
    patient_diary_entry_record(block_id=block.pk, minutes=240, nrs=1)
    # then
    assert stored(block) == Decimal(90)
    assert stored(block) == expected_peak(block)


def test_a_changed_baseline_is_recomputed():
    # given baseline 8 and a lowest score of 4: 50%
    block = BlockFactory(baseline_nrs=8, diary=[(30, 4)])
    # when the baseline is corrected to 10
    block_update(block=block, diary=[(30, 4)], baseline_nrs=10)
    # then 60%
    assert stored(block) == Decimal(60)
    # and a baseline corrected to 0 makes it not evaluable
    block_update(block=block, diary=[(30, 4)], baseline_nrs=0)
    assert stored(block) is None
    block_update(block=block, diary=[(30, 4)], baseline_nrs=5)
    assert stored(block) == Decimal(20)


def test_the_columns_the_reports_filter_by_follow_the_block():
    # given a block with a value
    block = BlockFactory(baseline_nrs=8, diary=[(30, 2)], side="left")
    other_physician = UserFactory(role=Role.PHYSICIAN)
    # when its date, physician, nerve and side are corrected
    block_update(
        block=block,
        diary=[(30, 2)],
        performed_at=block.performed_at - dt.timedelta(days=3),
        physician=other_physician,
        nerve=Nerve.objects.exclude(pk=block.nerve_id).first(),
        side="right",
    )
    # then the copies beside the value are the block's
    assert assert_every_block_follows_the_rule() == 1
    assert BlockPeakRelief.objects.get(block=block).physician_id == other_physician.pk


def test_a_changed_evaluation_window_recomputes_every_block():
    # given blocks whose best score is at 400 minutes (outside the default 360) and one with none inside 120
    late = BlockFactory(baseline_nrs=10, diary=[(30, 6), (400, 1)])
    early_only = BlockFactory(baseline_nrs=10, diary=[(200, 2)])
    assert stored(late) == Decimal(40)
    # when the protocol's window becomes 0..480 minutes
    protocol = protocol_get()
    protocol.evaluation_window_minutes = 480
    protocol.save()
    # then
    assert stored(late) == Decimal(90)
    assert assert_every_block_follows_the_rule() == 2
    # when it becomes 0..120 minutes
    protocol.evaluation_window_minutes = 120
    protocol.save()
    # then the block with nothing before 200 minutes has no value any more
    assert stored(late) == Decimal(40)
    assert stored(early_only) is None
    assert assert_every_block_follows_the_rule() == 1


def test_a_deleted_block_takes_its_value_with_it():
    block = BlockFactory(baseline_nrs=8, diary=[(30, 2)])
    pk = block.pk
    block.delete()
    assert not BlockPeakRelief.objects.filter(block_id=pk).exists()


def test_a_bulk_insert_of_many_blocks_entries_in_one_statement():
    # given 40 blocks and 6 entries each, inserted in one statement (as the registry import does)
    blocks = [BlockFactory(baseline_nrs=1 + i % 10) for i in range(40)]
    entries = [
        DiaryEntry(block=block, minutes_after=minutes, nrs=(i * 7 + minutes) % 11)
        for i, block in enumerate(blocks)
        for minutes in (0, 15, 90, 360, 361, 720)
    ]
    # when
    DiaryEntry.objects.bulk_create(entries)
    # then
    assert assert_every_block_follows_the_rule() == 40


def test_the_demo_seeds_copy_keeps_it():
    # given demo patients written with COPY (blocks and their diaries in one statement per table and batch)
    seed_demo(patients=30, batch_size=10)
    # then
    assert assert_every_block_follows_the_rule() > 0


def test_ablated_says_whether_an_ablation_names_the_block():
    # given two positive blocks of one patient, nerve and side
    patient = PatientFactory()
    older = BlockFactory(
        patient=patient, baseline_nrs=8, diary=[(30, 2)], performed_at=timezone.now() - dt.timedelta(days=9)
    )
    newer = BlockFactory(
        patient=patient, baseline_nrs=8, diary=[(30, 2)], performed_at=timezone.now() - dt.timedelta(days=5)
    )
    assert not BlockPeakRelief.objects.filter(ablated=True).exists()
    # when an ablation is recorded (the rule names the newer block)
    ablation = make_ablation(patient=patient, performed_on=timezone.localdate() - dt.timedelta(days=1))
    # then
    assert ablation.qualifying_block_id == newer.pk
    assert set(BlockPeakRelief.objects.filter(ablated=True).values_list("block_id", flat=True)) == {newer.pk}
    # when staff name the older one instead
    Cryoablation.objects.filter(pk=ablation.pk).update(qualifying_block=older, qualifying_source="staff")
    # then
    assert set(BlockPeakRelief.objects.filter(ablated=True).values_list("block_id", flat=True)) == {older.pk}
    assert_every_block_follows_the_rule()
    # when the ablation is deleted
    ablation.follow_ups.all().delete()
    Cryoablation.objects.filter(pk=ablation.pk).delete()
    # then
    assert not BlockPeakRelief.objects.filter(ablated=True).exists()
    assert_every_block_follows_the_rule()
