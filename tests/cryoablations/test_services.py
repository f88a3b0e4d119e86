import datetime as dt

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.cryoablations.models import Cryoablation, QualifyingSource
from apps.surveys.services import ablation_update, response_record
from tests.factories import BlockFactory, PatientFactory, make_ablation, nerve

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


def block_days_before(patient, days, *, diary=((30, 1),), **fields):
    at = timezone.make_aware(dt.datetime.combine(TODAY - dt.timedelta(days=days), dt.time(10, 0)))
    return BlockFactory(patient=patient, performed_at=at, diary=list(diary), **fields)


def test_the_latest_positive_block_of_the_same_nerve_and_side_qualifies():
    # given an older positive block, a newer positive one, a newer negative one and one of the other side
    patient = PatientFactory()
    block_days_before(patient, 60)
    latest_positive = block_days_before(patient, 30)
    block_days_before(patient, 20, diary=[(30, 7)])
    block_days_before(patient, 10, side="right")
    # when
    ablation = make_ablation(patient=patient, performed_on=TODAY)
    # then
    assert ablation.qualifying_block == latest_positive
    assert ablation.qualifying_source == QualifyingSource.RULE


def test_a_block_180_days_before_qualifies_and_181_does_not():
    patient = PatientFactory()
    block = block_days_before(patient, 180)
    assert make_ablation(patient=patient, performed_on=TODAY).qualifying_block == block

    other = PatientFactory()
    block_days_before(other, 181)
    assert make_ablation(patient=other, performed_on=TODAY).qualifying_block is None


def test_without_a_positive_block_the_ablation_has_none():
    patient = PatientFactory()
    block_days_before(patient, 10, diary=[(30, 8)])
    ablation = make_ablation(patient=patient, performed_on=TODAY)
    assert ablation.qualifying_block is None
    assert ablation.qualifying_source == ""


def test_staff_may_name_any_block_of_the_same_nerve_and_side():
    patient = PatientFactory()
    old_negative = block_days_before(patient, 400, diary=[(30, 8)])
    ablation = make_ablation(patient=patient, performed_on=TODAY, qualifying_block=old_negative)
    assert ablation.qualifying_block == old_negative
    assert ablation.qualifying_source == QualifyingSource.STAFF


def test_five_follow_ups_with_their_windows_are_scheduled_with_the_ablation():
    ablation = make_ablation(patient=PatientFactory(), performed_on=dt.date(2026, 1, 1))
    rows = list(ablation.follow_ups.values_list("time_point", "target_date", "window_start", "window_end"))
    assert rows == [
        ("2w", dt.date(2026, 1, 15), dt.date(2026, 1, 11), dt.date(2026, 1, 22)),
        ("1m", dt.date(2026, 1, 31), dt.date(2026, 1, 23), dt.date(2026, 2, 15)),
        ("3m", dt.date(2026, 4, 1), dt.date(2026, 3, 17), dt.date(2026, 5, 1)),
        ("6m", dt.date(2026, 7, 2), dt.date(2026, 5, 31), dt.date(2026, 7, 30)),
        ("12m", dt.date(2027, 1, 1), dt.date(2026, 11, 27), dt.date(2027, 2, 5)),
    ]


def test_correcting_the_date_re_dates_follow_ups_and_re_assigns_answers():
    # given an ablation with an answer in its 2-week window
    ablation = make_ablation(patient=PatientFactory(), performed_on=TODAY - dt.timedelta(days=40))
    answered_at = timezone.now() - dt.timedelta(days=15)
    response = response_record(ablation=ablation, completed_at=answered_at, pain_average=2, collected_via="phone")
    assert response.follow_up.time_point == "1m"
    # when the date was wrong by 10 days
    ablation_update(ablation=ablation, performed_on=TODAY - dt.timedelta(days=30))
    # then the follow-ups move and the answer lands in the 2-week window
    response.refresh_from_db()
    assert ablation.follow_ups.get(time_point="2w").target_date == TODAY - dt.timedelta(days=16)
    assert response.follow_up.time_point == "2w"
    assert ablation.follow_ups.count() == 5


def test_the_database_refuses_a_qualifying_block_of_another_patient_nerve_or_side():
    patient = PatientFactory()
    ablation = make_ablation(patient=patient, performed_on=TODAY)
    for block in [
        block_days_before(PatientFactory(), 5),
        block_days_before(patient, 5, side="right"),
        block_days_before(patient, 5, nerve=nerve("middle_cluneal")),
    ]:
        with pytest.raises(IntegrityError), transaction.atomic():
            Cryoablation.objects.filter(pk=ablation.pk).update(
                qualifying_block=block, qualifying_source=QualifyingSource.STAFF
            )
            # The composite foreign key is deferred to commit; check it now.
            with transaction.get_connection().cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
