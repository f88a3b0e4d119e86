from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from apps.surveys.models import CollectedVia
from apps.surveys.services import response_record
from tests.factories import BlockFactory, make_ablation, make_reachable_patient

TODAY = timezone.localdate()


@pytest.fixture
def treatment(db):
    """A treatment 14 days ago (its 2-week follow-up's window holds today)."""
    return make_ablation(patient=make_reachable_patient(first_name="Rosa"), performed_on=TODAY - dt.timedelta(days=14))


@pytest.fixture
def block(db):
    return BlockFactory()


def report_new_problem(treatment, *, words="Burning skin where the probe went in", when=None, **answers):
    """A patient's answer saying yes to "Any new problem since the procedure?"."""
    fields = {"pain_average": 4, "collected_via": CollectedVia.PATIENT_LINK, **answers}
    return response_record(
        ablation=treatment,
        completed_at=when or timezone.now(),
        new_problem=True,
        new_problem_text=words,
        **fields,
    )
