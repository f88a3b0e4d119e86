"""The change history page and its CSV: what an admin finds about one patient, and how it reads."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.surveys.services import response_record
from tests.factories import BlockFactory, make_ablation

pytestmark = pytest.mark.django_db


def _csv_rows(client, **filters) -> list[list[str]]:
    response = client.get(reverse("audit:change_history_csv"), filters)
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))[1:]


def test_the_history_of_a_patient_holds_everything_changed_about_them(client, admin_user):
    # given a patient's block with its diary, an ablation with its follow-ups, and survey answers staff saved;
    # and another patient's records
    block = BlockFactory(diary=[(15, 2), (30, 1)])
    ablation = make_ablation(patient=block.patient)
    response_record(ablation=ablation, completed_at=timezone.now(), pain_average=3, collected_via="phone")
    other = BlockFactory(diary=[(15, 5)])
    other_ablation = make_ablation(patient=other.patient)
    response_record(ablation=other_ablation, completed_at=timezone.now(), pain_average=6, collected_via="phone")
    client.force_login(admin_user)
    # when
    rows = _csv_rows(client, patient=block.patient.mrn)
    # then
    types = {row[1] for row in rows}
    assert {"patient", "diagnosticblock", "diaryentry", "cryoablation", "followup", "surveyresponse"} <= types
    for object_type in ["diaryentry", "followup", "surveyresponse"]:
        of_type = _csv_rows(client, object_type=object_type)
        mine = [row for row in of_type if row in rows]
        assert mine and len(mine) < len(of_type), object_type  # the patient's own, and not the other patient's
        assert [row for row in rows if row[1] == object_type] == mine, object_type
