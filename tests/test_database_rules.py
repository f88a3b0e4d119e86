"""The database itself refuses what the forms refuse, so no script can store it."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import ProtectedError
from django.utils import timezone

from apps.blocks.models import DiagnosticBlock, DiaryEntry
from apps.clinic.selectors import protocol_get
from apps.cryoablations.models import Cryoablation, FollowUp
from apps.patients.models import Patient
from apps.surveys.models import SurveyResponse
from tests.factories import BlockFactory, PatientFactory, make_ablation

pytestmark = pytest.mark.django_db


def refused(update):
    with pytest.raises(IntegrityError), transaction.atomic():
        update()


def test_pain_scores_outside_0_to_10_are_refused():
    block = BlockFactory(diary=[(30, 2)])
    ablation = make_ablation(patient=block.patient)
    refused(lambda: DiagnosticBlock.objects.filter(pk=block.pk).update(baseline_nrs=11))
    refused(lambda: DiaryEntry.objects.filter(block=block).update(nrs=11))
    refused(lambda: Cryoablation.objects.filter(pk=ablation.pk).update(baseline_nrs=11))
    refused(
        lambda: SurveyResponse.objects.create(
            ablation=ablation, completed_at=timezone.now(), pain_average=11, collected_via="phone"
        )
    )


def test_negative_diary_minutes_and_duplicate_minutes_are_refused():
    block = BlockFactory(diary=[(30, 2), (60, 2)])
    refused(lambda: DiaryEntry.objects.filter(block=block, minutes_after=30).update(minutes_after=-5))
    refused(lambda: DiaryEntry.objects.filter(block=block, minutes_after=30).update(minutes_after=60))


def test_procedures_in_the_future_are_refused():
    block = BlockFactory()
    ablation = make_ablation(patient=block.patient)
    refused(
        lambda: DiagnosticBlock.objects.filter(pk=block.pk).update(performed_at=timezone.now() + dt.timedelta(hours=1))
    )
    refused(
        lambda: Cryoablation.objects.filter(pk=ablation.pk).update(
            performed_on=timezone.localdate() + dt.timedelta(days=3)
        )
    )


def test_patient_rules():
    patient = PatientFactory()
    refused(lambda: Patient.objects.filter(pk=patient.pk).update(mobile_phone="555-0123"))
    refused(lambda: Patient.objects.filter(pk=patient.pk).update(date_of_birth=dt.date(1890, 1, 1)))
    refused(
        lambda: Patient.objects.filter(pk=patient.pk).update(date_of_birth=timezone.localdate() + dt.timedelta(days=5))
    )
    refused(lambda: PatientFactory(mrn=patient.mrn))


def test_one_follow_up_per_ablation_and_time_point():
    ablation = make_ablation(patient=PatientFactory())
    first = ablation.follow_ups.first()
    refused(
        lambda: FollowUp.objects.create(
            ablation=ablation,
            time_point=first.time_point,
            label="again",
            target_date=first.target_date,
            window_start=first.window_start,
            window_end=first.window_end,
        )
    )


def test_clinical_records_are_protected_from_deletion():
    block = BlockFactory()
    make_ablation(patient=block.patient)
    with pytest.raises(ProtectedError):
        block.patient.delete()


# ---------------------------------------------------------------------------------------------------------------
# The clinical rules the database defines once (SQL functions of the blocks, reports and clinic migrations), as any
# statement or script calls them


def sql_value(statement: str, params: list | None = None):
    with connection.cursor() as cursor:
        cursor.execute(statement, params or [])
        return cursor.fetchone()[0]


@pytest.mark.parametrize(
    ("baseline", "score", "percent", "responder"),
    [
        (10, 5, Decimal(50), True),  # exactly 50% counts
        (10, 6, Decimal(50), False),
        (8, 5, Decimal("37.5"), True),  # 37.5%, two decimals: integer arithmetic
        (8, 5, Decimal("37.51"), False),
        (3, 2, Decimal("33.333"), True),  # 33.33...% >= 33.333%: more decimals, numeric arithmetic
        (3, 2, Decimal("33.334"), False),
        (0, 0, Decimal(50), False),  # a baseline of 0 is never a responder
        (4, 6, Decimal(0), False),  # worse pain
    ],
)
def test_reports_responder_at_its_edges(baseline, score, percent, responder):
    assert sql_value("SELECT reports_responder(%s, %s, %s)", [baseline, score, percent]) is responder


def test_blocks_positive_at_the_threshold():
    assert sql_value("SELECT blocks_positive(%s, %s)", [Decimal(50), Decimal("50.00")]) is True
    assert sql_value("SELECT blocks_positive(%s, %s)", [Decimal("49.9999999999999999"), Decimal(50)]) is False


def test_clinic_protocol_is_the_protocol_as_saved():
    protocol = protocol_get()
    protocol.evaluation_window_minutes = 240
    protocol.save()
    assert sql_value("SELECT evaluation_window_minutes FROM clinic_protocol()") == 240
    assert sql_value("SELECT count(*) FROM clinic_protocol()") == 1


def test_the_rule_functions_the_report_calls_per_row_leave_it_free_to_run_in_parallel():
    # PostgreSQL's default (PARALLEL UNSAFE) keeps a whole statement off parallel workers, inlined or not.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT proname, proparallel FROM pg_proc WHERE proname IN ('blocks_positive', 'reports_responder')"
        )
        assert dict(cursor.fetchall()) == {"blocks_positive": "s", "reports_responder": "s"}
