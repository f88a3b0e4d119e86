"""The Django admin shows clinical records but cannot add, change or delete them: saving a row there would skip
the services that give it its derived data (an ablation's follow-ups and qualifying block, a block's diary, a
follow-up's counted answer), so the record would differ from one made on the page, the API or the import."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.blocks.models import DiagnosticBlock
from apps.cryoablations.models import Cryoablation, FollowUp
from apps.patients.models import Patient
from apps.surveys.models import SurveyResponse
from apps.surveys.services import response_record
from tests.factories import BlockFactory, PatientFactory, make_ablation, nerve

# Diary entries are shown within their block (an inline), not on pages of their own.
CLINICAL = [Patient, DiagnosticBlock, Cryoablation, FollowUp, SurveyResponse]


def _admin_url(model, action: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{action}", args=args)


def test_an_ablation_cannot_be_added_in_the_admin(client, admin_user):
    # given an admin in the Django admin, and a patient with a block that would qualify
    client.force_login(admin_user)
    patient = PatientFactory()
    BlockFactory(patient=patient)
    today = timezone.localdate()

    # when they post the add form of an ablation
    response = client.post(
        _admin_url(Cryoablation, "add"),
        {
            "patient": patient.pk,
            "performed_on": today.isoformat(),
            "physician": admin_user.pk,
            "nerve": nerve().pk,
            "side": "left",
            "guidance": "ultrasound",
            "baseline_nrs": 8,
            "cycles": 2,
            "freeze_seconds": 120,
            "follow_ups-TOTAL_FORMS": 0,
            "follow_ups-INITIAL_FORMS": 0,
        },
    )

    # then it is refused and no ablation (without follow-ups) was recorded
    assert response.status_code == 403
    assert not Cryoablation.objects.exists()


@pytest.mark.parametrize("model", CLINICAL, ids=lambda m: m._meta.model_name)
def test_clinical_records_are_read_only_in_the_admin(client, admin_user, model):
    # given one of each clinical record, made by the services
    client.force_login(admin_user)
    ablation = make_ablation(patient=PatientFactory(), performed_on=timezone.localdate() - dt.timedelta(days=40))
    BlockFactory(patient=ablation.patient, diary=[(30, 2)])
    response_record(ablation=ablation, completed_at=timezone.now(), pain_average=3, collected_via="clinic")
    row = model.objects.first()
    before = model.objects.count()

    # then the admin lists and shows them, but offers no add, change or delete
    assert client.get(_admin_url(model, "changelist")).status_code == 200
    page = client.get(_admin_url(model, "change", row.pk))
    assert page.status_code == 200 and b'name="_save"' not in page.content
    assert client.get(_admin_url(model, "add")).status_code == 403
    assert client.post(_admin_url(model, "change", row.pk), {}).status_code == 403
    assert client.post(_admin_url(model, "delete", row.pk), {"post": "yes"}).status_code == 403
    assert model.objects.count() == before
