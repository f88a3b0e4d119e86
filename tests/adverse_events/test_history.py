"""Adverse events and the reviews of new problems in the change history, in words, found by the patient."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.adverse_events.services import adverse_event_create, adverse_event_update, problem_dismiss
from tests.adverse_events.conftest import TODAY, report_new_problem
from tests.audit.test_change_history import _page_rows
from tests.factories import BlockFactory

pytestmark = pytest.mark.django_db


def test_the_history_of_a_patient_shows_their_adverse_events_and_reviews_in_words(client, admin_user, treatment):
    # given: an event on the treatment, corrected; one on a block; a patient's new problem dismissed
    patient = treatment.patient
    event = adverse_event_create(
        treatment=treatment,
        occurred_on=TODAY - dt.timedelta(days=2),
        category="neuritis",
        severity="moderate",
        relatedness="probable",
    )
    adverse_event_update(event=event, severity="severe")
    # the block on the event's day, both from TODAY (a run that crosses midnight keeps them together)
    block = BlockFactory(
        patient=patient,
        performed_at=timezone.make_aware(dt.datetime.combine(TODAY - dt.timedelta(days=20), dt.time(10))),
    )
    adverse_event_create(
        block=block,
        occurred_on=TODAY - dt.timedelta(days=20),
        category="vasovagal",
        severity="mild",
        relatedness="definite",
    )
    problem_dismiss(response=report_new_problem(treatment), reason="Expected soreness", reviewed_by=admin_user)
    client.force_login(admin_user)

    # when
    page = client.get(reverse("audit:change_history"), {"patient": patient.mrn})

    # then
    rows = _page_rows(page)
    records = {row[1] for row in rows}
    assert f"Adverse event: Neuritis (new burning pain or dysesthesia), {TODAY - dt.timedelta(days=2)}" in records
    assert f"Adverse event: Vasovagal reaction, {TODAY - dt.timedelta(days=20)}" in records
    assert any(record.startswith("Review of a new problem: Dismissed, the ") for record in records)
    update = next(row for row in rows if row[2] == "Changed" and row[1].startswith("Adverse event"))
    assert "Severity: Moderate → Severe" in update[4]
    added = next(row for row in rows if row[2] == "Added" and "Neuritis" in row[1])
    assert "Related to the procedure: Probably related" in added[4]
    assert "neuritis" not in page.text.split("<tbody>")[1].replace("Neuritis", "")
