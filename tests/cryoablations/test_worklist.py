import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import Role
from apps.cryoablations.selectors import worklist
from apps.surveys.services import response_record
from tests.factories import PatientFactory, UserFactory, make_ablation

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


def ablated_days_ago(days, **fields):
    return make_ablation(
        patient=fields.pop("patient", None) or PatientFactory(), performed_on=TODAY - dt.timedelta(days=days), **fields
    )


def labels(follow_ups):
    return sorted((f.ablation.patient.mrn, f.time_point) for f in follow_ups)


def test_due_overdue_and_missed_follow_ups():
    # given ablations 12 days ago (2w due), 18 days ago (2w overdue) and 25 days ago (2w missed, 1m due)
    due = ablated_days_ago(12)
    overdue = ablated_days_ago(18)
    missed = ablated_days_ago(25)
    # then
    assert labels(worklist(today=TODAY, status="due")) == sorted([(due.patient.mrn, "2w"), (missed.patient.mrn, "1m")])
    assert labels(worklist(today=TODAY, status="overdue")) == [(overdue.patient.mrn, "2w")]
    assert labels(worklist(today=TODAY, status="missed")) == [(missed.patient.mrn, "2w")]
    assert len(worklist(today=TODAY)) == 3  # due and overdue by default


def test_answered_follow_ups_and_inactive_patients_leave_the_worklist():
    answered = ablated_days_ago(14)
    response_record(ablation=answered, completed_at=timezone.now(), pain_average=2, collected_via="phone")
    ablated_days_ago(14, patient=PatientFactory(is_active=False))
    assert list(worklist(today=TODAY)) == []


def test_filter_by_physician_and_time_point():
    mine = UserFactory(role=Role.PHYSICIAN)
    ablation = ablated_days_ago(14, physician=mine)
    ablated_days_ago(14)
    ablated_days_ago(30, physician=mine)
    assert labels(worklist(today=TODAY, physician_id=mine.pk, time_point="2w")) == [(ablation.patient.mrn, "2w")]


def test_worklist_page_shows_the_follow_ups_and_filters(staff_client):
    ablation = ablated_days_ago(14)
    page = staff_client.get(reverse("cryoablations:worklist"), {"time_point": "2w"})
    assert ablation.patient.mrn in page.text
    assert "Record answers" in page.text
    page = staff_client.get(reverse("cryoablations:worklist"), {"time_point": "3m"})
    assert ablation.patient.mrn not in page.text
