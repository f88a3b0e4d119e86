"""Opioid statements and the review of a patient's list.

Every way in (the patient page, the API, the registry import, a shell) writes a statement through
medication_statement_create or medication_statement_update, so the checks (a known opioid, a dose above 0, no stop
before the start) hold for all of them, besides the database's own."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.accounts.models import User
from apps.patients.models import Patient

from .models import MedicationReview, MedicationStatement

logger = logging.getLogger(__name__)


@transaction.atomic
def medication_statement_create(
    *, patient: Patient, recorded_by: User | None = None, external_id: str | None = None, **fields: Any
) -> MedicationStatement:
    """A new opioid statement on the patient's list."""
    statement = MedicationStatement(patient=patient, recorded_by=recorded_by, external_id=external_id, **fields)
    statement.full_clean()
    statement.save()
    logger.info("medication statement %s recorded", statement.public_id)
    return statement


@transaction.atomic
def medication_statement_update(*, statement: MedicationStatement, **fields: Any) -> MedicationStatement:
    """Staff correct a statement (opioid, dose, dates) or stop it: its patient stays."""
    for name in ("patient", "recorded_by", "external_id"):
        if name in fields:
            raise ValueError(f"{name} is not changed by an edit")
    for name, value in fields.items():
        setattr(statement, name, value)
    statement.full_clean()
    statement.save()
    logger.info("medication statement %s updated", statement.public_id)
    return statement


@transaction.atomic
def medication_list_review(
    *, patient: Patient, reviewed_by: User | None, now: dt.datetime | None = None
) -> MedicationReview:
    """Staff went through the patient's opioid list with them: it is as recorded on this day."""
    review, _ = MedicationReview.objects.update_or_create(
        patient=patient, defaults={"reviewed_by": reviewed_by, "reviewed_at": now or timezone.now()}
    )
    logger.info("medication list of patient %s reviewed", patient.public_id)
    return review
