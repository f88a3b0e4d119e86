"""The derived rows the outcomes engine reads, kept by database triggers, always follow their source: the follow-up
facts (FollowUpFact) hold each follow-up's window, the scores of the answer it counts, its ablation's columns and its
qualifying block's peak relief, date and physician; the durability steps (DurabilityStep) hold where each ablation
stands in the durability estimate once its follow-ups up to each window end are closed. After ablations are recorded,
re-dated and corrected, answers recorded, superseded and corrected, qualifying blocks named and their diaries or
columns changed, follow-ups deleted, bulk inserts, and a new responder percent."""

from __future__ import annotations

import datetime as dt
import threading
import time
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, transaction
from django.utils import timezone

from apps.accounts.models import Role
from apps.blocks.models import BlockPeakRelief, DiaryEntry
from apps.blocks.services import block_update
from apps.clinic.models import Nerve
from apps.clinic.selectors import protocol_get
from apps.cryoablations.models import Cryoablation, FollowUp
from apps.demo.generator import seed_demo
from apps.reports.models import DurabilityStep, FollowUpFact, TreatmentFact
from apps.surveys.models import CollectedVia, SurveyResponse
from apps.surveys.services import ablation_update, counted_responses_refresh, response_record
from tests.factories import BlockFactory, PatientFactory, UserFactory, make_ablation

pytestmark = pytest.mark.django_db

NEW_YORK = ZoneInfo("America/New_York")
ABLATED_ON = dt.date(2025, 1, 10)


def source_rows() -> dict[int, tuple]:
    """What each follow-up's row must hold, read from the follow-ups, their ablations, counted answers and the
    qualifying blocks' peak relief."""
    peaks = {p.block_id: (p.peak_relief_percent, p.performed_at, p.physician_id) for p in BlockPeakRelief.objects.all()}
    rows = {}
    for f in FollowUp.objects.select_related("counted_response", "ablation"):
        r, a = f.counted_response, f.ablation
        answer = (r.pk, r.pain_average, r.pgic, r.completed_at) if r else (None, None, None, None)
        ablation = (a.physician_id, a.nerve_id, a.side, a.performed_on, a.baseline_nrs, a.qualifying_block_id)
        peak = peaks.get(a.qualifying_block_id, (None, None, None))
        rows[f.pk] = (f.ablation_id, f.time_point, f.window_end, *answer, *ablation, *peak, a.kind,
                      f.superseded_by_id is not None)  # fmt: skip
    return rows


def derived_rows() -> dict[int, tuple]:
    return {
        x.follow_up_id: (
            x.ablation_id, x.time_point, x.window_end, x.counted_response_id, x.pain_average, x.pgic, x.completed_at,
            x.physician_id, x.nerve_id, x.side, x.performed_on, x.baseline_nrs, x.qualifying_block_id,
            x.qualifying_peak_relief_percent, x.qualifying_block_performed_at, x.qualifying_block_physician_id,
            x.kind, x.superseded,
        )
        for x in FollowUpFact.objects.all()
    }  # fmt: skip


def source_steps() -> dict[int, tuple]:
    """The durability steps by outcome-definitions.md (Durability), from the follow-ups, their ablations and counted
    answers: per distinct window end of an ablation (on its follow-up with the lowest id), among the counted answers
    of its follow-ups closed by then with a baseline above 0, the first that is not a responder, else the last that is;
    with the next later window end and the ablation's columns."""
    percent = protocol_get().responder_percent
    follow_ups: dict[int, list[FollowUp]] = {}
    for f in FollowUp.objects.select_related("counted_response", "ablation").order_by("pk"):
        follow_ups.setdefault(f.ablation_id, []).append(f)
    steps = {}
    for ablation_follow_ups in follow_ups.values():
        a = ablation_follow_ups[0].ablation
        ends = sorted({f.window_end for f in ablation_follow_ups})
        for end, until in zip(ends, [*ends[1:], None], strict=True):
            closed = [f.counted_response for f in ablation_follow_ups if f.window_end <= end and f.counted_response]
            events, censored = [], []
            for r in closed:
                if a.baseline_nrs > 0:
                    responder = (a.baseline_nrs - r.pain_average) * 100 >= percent * a.baseline_nrs
                    (censored if responder else events).append(r.completed_at)
            if events or censored:
                first = min(f.pk for f in ablation_follow_ups if f.window_end == end)
                marker = min(events) if events else max(censored)
                steps[first] = (
                    a.pk,
                    end,
                    until,
                    marker,
                    bool(events),
                    a.physician_id,
                    a.nerve_id,
                    a.side,
                    a.performed_on,
                    a.kind,
                )
    return steps


def derived_steps() -> dict[int, tuple]:
    return {
        s.follow_up_id: (
            s.ablation_id, s.closed_after, s.until, s.marker_completed_at, s.event, s.physician_id, s.nerve_id,
            s.side, s.performed_on, s.kind,
        )
        for s in DurabilityStep.objects.all()
    }  # fmt: skip


def assert_derived_rows_follow_the_source() -> int:
    source = source_rows()
    assert derived_rows() == source
    assert derived_steps() == source_steps()
    return len(source)


def answer(ablation, *, day: int, pain: int, pgic: int | None = None, hour: int = 10):
    completed = dt.datetime.combine(ablation.performed_on + dt.timedelta(days=day), dt.time(hour), tzinfo=NEW_YORK)
    return response_record(
        ablation=ablation, completed_at=completed, pain_average=pain, pgic=pgic, collected_via=CollectedVia.PHONE
    )


def test_a_recorded_ablation_has_a_row_per_follow_up_without_an_answer():
    # when
    ablation = make_ablation(patient=PatientFactory(), performed_on=ABLATED_ON)
    # then
    assert assert_derived_rows_follow_the_source() == ablation.follow_ups.count() > 0
    assert not FollowUpFact.objects.filter(counted_response_id__isnull=False).exists()


def test_the_counted_answer_is_the_last_in_the_window_and_follows_corrections():
    # given
    ablation = make_ablation(patient=PatientFactory(), performed_on=ABLATED_ON)
    three_months = ablation.follow_ups.get(time_point="3m")
    # when an answer is recorded at 3 months
    first = answer(ablation, day=88, pain=4, pgic=2)
    # then
    assert FollowUpFact.objects.get(follow_up=three_months).counted_response_id == first.pk
    assert_derived_rows_follow_the_source()
    # when a later one in the same window supersedes it
    later = answer(ablation, day=95, pain=2, pgic=1)
    # then
    fact = FollowUpFact.objects.get(follow_up=three_months)
    assert (fact.counted_response_id, fact.pain_average, fact.pgic) == (later.pk, 2, 1)
    # when staff correct the counted answer's score and time
    SurveyResponse.objects.filter(pk=later.pk).update(pain_average=6, pgic=None)
    SurveyResponse.objects.filter(pk=later.pk).update(completed_at=later.completed_at + dt.timedelta(hours=2))
    # then
    fact = FollowUpFact.objects.get(follow_up=three_months)
    assert (fact.pain_average, fact.pgic) == (6, None)
    assert assert_derived_rows_follow_the_source() == ablation.follow_ups.count()


def test_correcting_an_answer_no_follow_up_counts_changes_nothing():
    ablation = make_ablation(patient=PatientFactory(), performed_on=ABLATED_ON)
    earlier = answer(ablation, day=80, pain=5)
    answer(ablation, day=90, pain=3)
    SurveyResponse.objects.filter(pk=earlier.pk).update(pain_average=0)
    assert_derived_rows_follow_the_source()


def test_an_answer_taken_away_from_a_follow_up():
    # given a counted answer
    ablation = make_ablation(patient=PatientFactory(), performed_on=ABLATED_ON)
    response = answer(ablation, day=90, pain=3)
    # when it is moved off the follow-up (unscheduled) and the counted answers refreshed
    SurveyResponse.objects.filter(pk=response.pk).update(follow_up=None)
    counted_responses_refresh(follow_ups=ablation.follow_ups.all())
    # then no answer counts any more
    assert not FollowUpFact.objects.filter(counted_response_id__isnull=False).exists()
    assert_derived_rows_follow_the_source()


def test_a_re_dated_ablation_moves_its_windows_and_answers():
    # given an ablation with answers
    ablation = make_ablation(patient=PatientFactory(), performed_on=ABLATED_ON)
    answer(ablation, day=14, pain=5)
    answer(ablation, day=90, pain=2)
    # when its date is corrected a week earlier (the follow-ups are re-dated, the answers re-assigned)
    ablation_update(ablation=ablation, performed_on=ABLATED_ON - dt.timedelta(days=7))
    # then
    assert_derived_rows_follow_the_source()


def test_deleted_follow_ups_take_their_rows_with_them():
    ablation = make_ablation(patient=PatientFactory(), performed_on=ABLATED_ON)
    FollowUp.objects.filter(ablation=ablation, time_point="12m").delete()
    assert assert_derived_rows_follow_the_source() == ablation.follow_ups.count()
    assert not FollowUpFact.objects.filter(ablation_id=ablation.pk, time_point="12m").exists()


def test_the_demo_seeds_copy_and_bulk_refresh_keep_them():
    # given demo patients written with COPY, their counted answers set by one update per batch
    seed_demo(patients=30, batch_size=10)
    # then
    assert assert_derived_rows_follow_the_source() == FollowUp.objects.count() > 0
    assert Cryoablation.objects.exists()
    assert FollowUpFact.objects.filter(counted_response_id__isnull=False).exists()
    assert DurabilityStep.objects.filter(event=True).exists() and DurabilityStep.objects.filter(event=False).exists()


def test_an_ablation_corrected_in_every_copied_column_is_reflected_in_its_rows():
    # given an ablation with an answer
    ablation = make_ablation(patient=PatientFactory(), performed_on=ABLATED_ON)
    answer(ablation, day=90, pain=3)
    other_physician = UserFactory(role=Role.PHYSICIAN)
    other_nerve = Nerve.objects.exclude(pk=ablation.nerve_id).first()
    # when staff correct its physician, nerve, side, date and baseline, one at a time and then all at once
    for fields in [
        {"physician": other_physician},
        {"nerve": other_nerve},
        {"side": "right"},
        {"performed_on": ABLATED_ON + dt.timedelta(days=2)},
        {"baseline_nrs": 9},
    ]:
        ablation_update(ablation=ablation, **fields)
        # then
        assert_derived_rows_follow_the_source()
    Cryoablation.objects.filter(pk=ablation.pk).update(baseline_nrs=0)
    fact = FollowUpFact.objects.filter(ablation_id=ablation.pk).first()
    assert (fact.physician_id, fact.nerve_id, fact.side, fact.baseline_nrs) == (
        other_physician.pk,
        other_nerve.pk,
        "right",
        0,
    )
    assert fact.performed_on == ABLATED_ON + dt.timedelta(days=2)
    assert_derived_rows_follow_the_source()


def test_the_qualifying_block_s_peak_relief_date_and_physician_follow_the_block():
    # given a positive block and an ablation it qualifies
    patient = PatientFactory()
    block = BlockFactory(patient=patient, baseline_nrs=8, diary=[(30, 4)])
    ablation = make_ablation(patient=patient, performed_on=timezone.localdate() - dt.timedelta(days=3))
    assert ablation.qualifying_block_id == block.pk
    fact = FollowUpFact.objects.filter(ablation_id=ablation.pk).first()
    assert (fact.qualifying_block_id, fact.qualifying_peak_relief_percent) == (block.pk, 50)
    assert_derived_rows_follow_the_source()
    # when its diary gains a lower score inside the window
    DiaryEntry.objects.create(block=block, minutes_after=60, nrs=2)
    # then
    assert FollowUpFact.objects.filter(ablation_id=ablation.pk).first().qualifying_peak_relief_percent == 75
    assert_derived_rows_follow_the_source()
    # when its physician and time are corrected
    block_update(
        block=block,
        diary=[(e.minutes_after, e.nrs) for e in block.diary_entries.all()],
        physician=UserFactory(role=Role.PHYSICIAN),
        performed_at=block.performed_at - dt.timedelta(hours=3),
    )
    # then
    assert_derived_rows_follow_the_source()
    # when the diary loses every entry inside the window (the block is no longer evaluable)
    DiaryEntry.objects.filter(block=block).delete()
    # then the rows keep the block's id without a peak
    fact = FollowUpFact.objects.filter(ablation_id=ablation.pk).first()
    assert (fact.qualifying_block_id, fact.qualifying_peak_relief_percent) == (block.pk, None)
    assert_derived_rows_follow_the_source()


def test_naming_and_removing_a_qualifying_block_is_reflected_in_the_rows():
    # given an ablation without a qualifying block, and a positive block of the same patient, nerve and side
    patient = PatientFactory()
    ablation = make_ablation(patient=patient, performed_on=ABLATED_ON)
    assert ablation.qualifying_block_id is None
    block = BlockFactory(patient=patient, baseline_nrs=10, diary=[(30, 2)])
    # when staff name it, then take it away
    Cryoablation.objects.filter(pk=ablation.pk).update(qualifying_block=block, qualifying_source="staff")
    # then
    assert FollowUpFact.objects.filter(ablation_id=ablation.pk).first().qualifying_peak_relief_percent == 80
    assert_derived_rows_follow_the_source()
    Cryoablation.objects.filter(pk=ablation.pk).update(qualifying_block=None, qualifying_source="")
    assert not FollowUpFact.objects.filter(qualifying_block_id__isnull=False).exists()
    assert_derived_rows_follow_the_source()


def test_the_steps_follow_the_protocol_s_responder_percent():
    # given an ablation whose 3-month answer is 60% below baseline: a responder at the protocol's 50%
    ablation = make_ablation(patient=PatientFactory(), performed_on=ABLATED_ON, baseline_nrs=10)
    answer(ablation, day=90, pain=4)
    assert not DurabilityStep.objects.filter(event=True).exists()
    # when the clinic asks for 70%
    protocol = protocol_get()
    protocol.responder_percent = 70
    protocol.save()
    # then it has lost its response from the 3-month window end on
    assert DurabilityStep.objects.filter(ablation_id=ablation.pk).count() == 3  # 3, 6 and 12 months
    assert not DurabilityStep.objects.filter(event=False).exists()
    assert_derived_rows_follow_the_source()


@pytest.mark.django_db(transaction=True)
def test_two_answers_of_one_ablation_recorded_at_once_both_reach_the_steps():
    # given an ablation with its 3-month and 6-month windows closed
    ablation = make_ablation(patient=PatientFactory(), performed_on=ABLATED_ON, baseline_nrs=10)
    first_written = threading.Event()
    errors = []

    def record(day: int, pain: int, hold: bool):
        try:
            with transaction.atomic():
                answer(ablation, day=day, pain=pain)
                if hold:  # the first stays open while the second records its answer
                    first_written.set()
                    time.sleep(0.5)
                else:
                    first_written.wait(timeout=10)
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connection.close()

    # when a responding 3-month answer and a non-responding 6-month one are recorded at the same time
    first = threading.Thread(target=record, args=(90, 2, True))
    second = threading.Thread(target=lambda: (first_written.wait(timeout=10), record(182, 8, False)))
    first.start()
    second.start()
    first.join()
    second.join()
    # then both are saved, and the steps hold both: censored at 3 months, the event at 6
    assert errors == []
    assert [(s.closed_after, s.event) for s in DurabilityStep.objects.order_by("closed_after")] == [
        (f.window_end, f.time_point != "3m")
        for f in ablation.follow_ups.filter(time_point__in=["3m", "6m", "12m"]).order_by("window_end")
    ]
    assert_derived_rows_follow_the_source()


def test_a_repeat_treatment_marks_the_superseded_follow_ups_and_a_kind_change_reaches_facts_and_steps():
    # given an RF treatment answered at 6 months (a responder)
    patient = PatientFactory()
    first = make_ablation(patient=patient, performed_on=ABLATED_ON, kind="rf_conventional", baseline_nrs=8)
    answer(first, day=180, pain=2)
    assert not FollowUpFact.objects.filter(superseded=True).exists()

    # when a cryoablation of the same nerve and side follows on day 100 (the 6- and 12-month windows start later)
    repeat = make_ablation(
        patient=patient, performed_on=ABLATED_ON + dt.timedelta(days=100), nerve=first.nerve, side=first.side
    )

    # then those facts are superseded, count no answer, and the steps follow
    superseded = dict(FollowUpFact.objects.filter(ablation_id=first.pk).values_list("time_point", "superseded"))
    assert superseded == {"2w": False, "1m": False, "3m": False, "6m": True, "12m": True}
    assert not FollowUpFact.objects.filter(superseded=True, counted_response_id__isnull=False).exists()
    assert FollowUpFact.objects.filter(ablation_id=repeat.pk, kind="cryoablation").count() == 5
    assert_derived_rows_follow_the_source()

    # when the first treatment's kind is corrected
    ablation_update(ablation=first, kind="rf_cooled")
    # then its facts and steps carry the new kind
    assert set(FollowUpFact.objects.filter(ablation_id=first.pk).values_list("kind", flat=True)) == {"rf_cooled"}
    assert_derived_rows_follow_the_source()

    # when the repeat moves past the 12-month window's start, nothing is superseded any more and the answer counts again
    ablation_update(ablation=repeat, performed_on=ABLATED_ON + dt.timedelta(days=400))
    assert not FollowUpFact.objects.filter(superseded=True).exists()
    assert FollowUpFact.objects.get(ablation_id=first.pk, time_point="6m").pain_average == 2
    assert_derived_rows_follow_the_source()


def assert_treatment_facts_follow_the_view() -> int:
    """Each treatment's row holds its columns and the view cryoablations_supersession's answer for it."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT t.id, t.kind, t.physician_id, t.nerve_id, t.side, t.performed_on, t.baseline_nrs, "
            "s.superseded_by_id, s.repeat_on FROM cryoablations_cryoablation t "
            "LEFT JOIN cryoablations_supersession s ON s.ablation_id = t.id"
        )
        source = {row[0]: row[1:] for row in cursor.fetchall()}
    derived = {
        x.ablation_id: (
            x.kind, x.physician_id, x.nerve_id, x.side, x.performed_on, x.baseline_nrs, x.superseded_by_id, x.repeat_on,
        )
        for x in TreatmentFact.objects.all()
    }  # fmt: skip
    assert derived == source
    return len(source)


def test_the_treatment_facts_follow_the_repeat_rule_through_inserts_corrections_and_deletes():
    # given a treatment, then a repeat of the same nerve and side on day 100
    patient = PatientFactory()
    first = make_ablation(patient=patient, performed_on=ABLATED_ON, kind="rf_conventional")
    assert assert_treatment_facts_follow_the_view() == 1
    repeat = make_ablation(
        patient=patient, performed_on=ABLATED_ON + dt.timedelta(days=100), nerve=first.nerve, side=first.side
    )
    assert assert_treatment_facts_follow_the_view() == 2
    assert TreatmentFact.objects.get(ablation_id=first.pk).repeat_on == repeat.performed_on

    # when the repeat's side is corrected, then put back and moved earlier than the first
    ablation_update(ablation=repeat, side="right")
    assert TreatmentFact.objects.get(ablation_id=first.pk).superseded_by_id is None
    ablation_update(ablation=repeat, side=first.side, performed_on=ABLATED_ON - dt.timedelta(days=30))
    # then the roles swap
    assert TreatmentFact.objects.get(ablation_id=repeat.pk).superseded_by_id == first.pk
    assert assert_treatment_facts_follow_the_view() == 2

    # when the first one's kind is corrected, and a treatment of another patient is recorded and deleted
    ablation_update(ablation=first, kind="rf_cooled")
    other = make_ablation(patient=PatientFactory(), performed_on=ABLATED_ON)
    assert assert_treatment_facts_follow_the_view() == 3
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM cryoablations_followup WHERE ablation_id = %s", [other.pk])
    Cryoablation.objects.filter(pk__in=[other.pk, first.pk]).delete()
    # then the rows follow, and the remaining treatment is superseded by nothing
    assert assert_treatment_facts_follow_the_view() == 1
    assert TreatmentFact.objects.get().superseded_by_id is None
