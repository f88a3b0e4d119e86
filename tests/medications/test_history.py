"""Opioid statements and reviews of the list in the change history, in words, found by the patient."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from apps.medications.services import (
    medication_list_review,
    medication_statement_create,
    medication_statement_update,
)
from tests.audit.test_change_history import _page_rows
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def test_the_history_of_a_patient_shows_their_opioid_statements_and_reviews(client, admin_user):
    # given: a statement, its dose changed, and a review of the list
    patient = PatientFactory()
    statement = medication_statement_create(
        patient=patient, opioid="oxycodone", daily_dose=Decimal("20"), started_on=dt.date(2026, 1, 5)
    )
    medication_statement_update(statement=statement, daily_dose=Decimal("10"))
    medication_list_review(patient=patient, reviewed_by=admin_user)
    client.force_login(admin_user)

    # when
    page = client.get(reverse("audit:change_history"), {"patient": patient.mrn})

    # then
    rows = _page_rows(page)
    records = {row[1] for row in rows}
    assert "Opioid: Oxycodone 10 mg/day" in records
    assert any(record.startswith("Review of the opioid list: reviewed ") for record in records)
    update = next(row for row in rows if row[2] == "Changed" and row[1].startswith("Opioid"))
    assert "Daily dose: 20 → 10" in update[4]
