"""The patient page's opioid list: add, edit, stop, "Reviewed today", today's MME with the factor table's version
and the last review date beside it."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.medications.models import MedicationReview, MedicationStatement
from apps.medications.services import medication_statement_create
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


def text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


def form(**overrides):
    data = {"opioid": "oxycodone", "daily_dose": "20", "started_on": (TODAY - dt.timedelta(days=10)).isoformat()}
    return data | {"stopped_on": ""} | overrides


def test_staff_add_an_opioid_and_the_patient_page_shows_it_with_todays_mme(staff_client):
    # given
    patient = PatientFactory()

    # when
    response = staff_client.post(reverse("medications:new", args=[patient.public_id]), form())

    # then
    assert response.status_code == 302
    statement = MedicationStatement.objects.get()
    assert (statement.opioid, statement.daily_dose, statement.stopped_on) == ("oxycodone", Decimal("20"), None)
    page = text(staff_client.get(reverse("patients:detail", args=[patient.public_id])))
    assert "Medications (opioids)" in page
    assert "Oxycodone 20 mg/day" in page or ("Oxycodone" in page and "20 mg/day" in page)
    assert "Today's MME: 30 mg morphine equivalents a day" in page
    assert "table version CDC-2022" in page
    assert "List last reviewed: never" in page


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"daily_dose": "0"}, "Daily dose (mg a day; fentanyl patch: mcg an hour): The daily dose must be above 0."),
        ({"daily_dose": "-3"}, "Daily dose (mg a day; fentanyl patch: mcg an hour): The daily dose must be above 0."),
        ({"stopped_on": (TODAY - dt.timedelta(days=11)).isoformat()}, "Stopped on: The stop date cannot be before"),
        ({"opioid": "heroin"}, "Opioid: Choose an opioid from the list."),
    ],
)
def test_bad_input_names_the_field_and_nothing_is_saved(staff_client, overrides, message):
    # given
    patient = PatientFactory()

    # when
    response = staff_client.post(reverse("medications:new", args=[patient.public_id]), form(**overrides))

    # then
    assert response.status_code == 200
    assert message in text(response)
    assert not MedicationStatement.objects.exists()


def test_staff_stop_and_edit_a_statement(staff_client):
    # given
    patient = PatientFactory()
    statement = medication_statement_create(
        patient=patient, opioid="morphine", daily_dose=Decimal("30"), started_on=TODAY - dt.timedelta(days=30)
    )

    # when: the dose is corrected, then it is stopped today
    staff_client.post(reverse("medications:edit", args=[statement.public_id]), form(opioid="morphine", daily_dose="15"))
    staff_client.post(reverse("medications:stop", args=[statement.public_id]), {"stopped_on": TODAY.isoformat()})

    # then
    statement.refresh_from_db()
    assert (statement.daily_dose, statement.stopped_on) == (Decimal("15"), TODAY)
    page = text(staff_client.get(reverse("patients:detail", args=[patient.public_id])))
    assert "Today's MME: 0 mg morphine equivalents a day" in page


def test_reviewed_today_records_who_and_the_page_shows_the_date(staff_client, staff_user):
    # given
    patient = PatientFactory()
    medication_statement_create(patient=patient, opioid="buprenorphine", daily_dose=Decimal("8"), started_on=TODAY)

    # when
    staff_client.post(reverse("medications:reviewed", args=[patient.public_id]))

    # then
    review = MedicationReview.objects.get()
    assert review.reviewed_by == staff_user
    page = text(staff_client.get(reverse("patients:detail", args=[patient.public_id])))
    assert f"List last reviewed: {TODAY:%Y-%m-%d}" in page
    assert "No MME factor: not counted" in page
    assert "Today's MME: 0 mg" in page


def test_reviewed_today_is_post_only(staff_client):
    patient = PatientFactory()
    assert staff_client.get(reverse("medications:reviewed", args=[patient.public_id])).status_code == 405
    assert not MedicationReview.objects.exists()
