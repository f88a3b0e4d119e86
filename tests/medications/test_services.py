"""Opioid statements, the list's review and the MME rule (the database's medications_mme), against PostgreSQL."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from apps.medications.models import MedicationReview, MedicationStatement
from apps.medications.selectors import factor_table, mme_on, opioid_list_get
from apps.medications.services import (
    medication_list_review,
    medication_statement_create,
    medication_statement_update,
)
from tests.factories import PatientFactory, UserFactory

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 3, 1)


def _take(patient, opioid, dose, started=DAY, stopped=None):
    return medication_statement_create(
        patient=patient, opioid=opioid, daily_dose=Decimal(dose), started_on=started, stopped_on=stopped
    )


@pytest.mark.parametrize(
    ("opioid", "dose", "mme"),
    [
        # The CDC 2022 guideline's worked examples.
        ("hydrocodone", "20", Decimal("20")),  # 5 mg four times a day
        ("oxycodone", "20", Decimal("30")),  # 10 mg twice a day
        ("fentanyl_transdermal", "25", Decimal("60")),  # a 25 mcg/h patch
        ("codeine", "30", Decimal("4.5")),
        ("hydromorphone", "4", Decimal("20")),
        ("methadone", "10", Decimal("47")),
        ("morphine", "30", Decimal("30")),
        ("oxymorphone", "10", Decimal("30")),
        ("tapentadol", "100", Decimal("40")),
        ("tramadol", "50", Decimal("10")),
    ],
)
def test_mme_is_the_daily_dose_times_the_cdc_2022_factor(opioid, dose, mme):
    # given
    patient = PatientFactory()
    _take(patient, opioid, dose)

    # when
    got = mme_on(patient=patient, day=DAY)

    # then
    assert got.value == mme
    assert got.factor_table.version == "CDC-2022"
    assert "Dowell 2022" in got.factor_table.name


def test_mme_sums_the_statements_active_that_day_and_buprenorphine_is_listed_flagged_and_adds_0():
    # given: morphine 30 ongoing, oxycodone 10 stopped on DAY (same-day handover to tramadol 50), buprenorphine 8
    patient = PatientFactory()
    _take(patient, "morphine", "30", started=DAY - dt.timedelta(days=30))
    _take(patient, "oxycodone", "10", started=DAY - dt.timedelta(days=10), stopped=DAY)
    _take(patient, "tramadol", "50.5", started=DAY)
    _take(patient, "buprenorphine", "8", started=DAY - dt.timedelta(days=5))

    # then: the day before holds morphine and oxycodone; on DAY morphine and tramadol; buprenorphine never adds
    assert mme_on(patient=patient, day=DAY - dt.timedelta(days=1)).value == Decimal("45")
    assert mme_on(patient=patient, day=DAY).value == Decimal("40.1")
    assert mme_on(patient=patient, day=DAY - dt.timedelta(days=31)).value == 0
    listing = opioid_list_get(patient=patient, today=DAY)
    assert len(listing.statements) == 4
    assert [s.opioid for s in listing.flagged] == ["buprenorphine"]
    assert listing.mme_today.value == Decimal("40.1")


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"daily_dose": Decimal("0")}, "daily_dose", "above 0"),
        ({"daily_dose": Decimal("-5")}, "daily_dose", "above 0"),
        ({"stopped_on": DAY - dt.timedelta(days=1)}, "stopped_on", "cannot be before the start"),
        ({"opioid": "heroin"}, "opioid", "not a valid choice"),
    ],
)
def test_bad_input_is_refused_naming_the_field_and_nothing_is_written(fields, field, message):
    # given
    patient = PatientFactory()
    values = {"opioid": "morphine", "daily_dose": Decimal("10"), "started_on": DAY, **fields}

    # when
    with pytest.raises(ValidationError) as refused:
        medication_statement_create(patient=patient, **values)

    # then
    assert message in " ".join(refused.value.message_dict[field])
    assert not MedicationStatement.objects.exists()


@pytest.mark.parametrize(
    ("column", "value"), [("daily_dose", 0), ("opioid", "'heroin'"), ("stopped_on", "started_on - 1")]
)
def test_the_database_refuses_what_the_service_refuses(column, value):
    # given
    statement = _take(PatientFactory(), "morphine", "10")

    # when / then
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE medications_medicationstatement SET {column} = {value} WHERE id = %s",  # noqa: S608
            [statement.pk],
        )


def test_stopping_a_statement_by_an_edit_changes_the_mme_from_the_stop_day():
    # given
    patient = PatientFactory()
    statement = _take(patient, "oxycodone", "20", started=DAY - dt.timedelta(days=10))

    # when
    medication_statement_update(statement=statement, stopped_on=DAY)

    # then
    assert mme_on(patient=patient, day=DAY - dt.timedelta(days=1)).value == Decimal("30")
    assert mme_on(patient=patient, day=DAY).value == 0


def test_a_review_records_who_and_when_and_a_later_one_moves_it_forward():
    # given
    patient, nurse = PatientFactory(), UserFactory()
    first = timezone.now() - dt.timedelta(days=40)

    # when
    medication_list_review(patient=patient, reviewed_by=nurse, now=first)
    medication_list_review(patient=patient, reviewed_by=nurse)

    # then
    review = MedicationReview.objects.get()
    assert review.reviewed_by == nurse and review.reviewed_at > first


def test_the_factor_table_is_named_once_in_the_database():
    table = factor_table()
    assert (table.version, table.name.startswith("CDC 2022")) == ("CDC-2022", True)
