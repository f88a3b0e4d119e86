"""The instruments in the Django admin: the schedule (the clinic's setting), re-scoring with a newer version as an
explicit action, and the change history that records it, found by the patient."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.instruments.models import Instrument, InstrumentAnswer
from apps.instruments.services import instrument_answer_record, instrument_definition_load
from tests.audit.test_change_history import _page_rows
from tests.factories import PatientFactory, make_ablation
from tests.instruments.test_scoring import MADE_UP

pytestmark = pytest.mark.django_db


def test_the_schedule_is_edited_in_the_admin_and_unknown_time_points_are_refused(admin_client):
    # given
    gad2 = Instrument.objects.get(code="gad2")
    url = reverse("admin:instruments_instrument_change", args=[gad2.pk])

    # when an unknown time point is sent, then it is refused naming it, and nothing changes
    page = admin_client.post(url, {"time_points": "baseline,3m,9m", **_no_inline_versions()})
    assert page.status_code == 200
    assert "Not a time point of the protocol: 9m" in page.content.decode()
    gad2.refresh_from_db()
    assert gad2.time_points == ["baseline", "3m", "6m", "12m"]

    # when only known ones are, then they are the schedule
    admin_client.post(url, {"time_points": "baseline,12m", **_no_inline_versions()})
    gad2.refresh_from_db()
    assert gad2.time_points == ["baseline", "12m"]


def _no_inline_versions() -> dict[str, str]:
    return {
        "versions-TOTAL_FORMS": "0",
        "versions-INITIAL_FORMS": "0",
        "versions-MIN_NUM_FORMS": "0",
        "versions-MAX_NUM_FORMS": "1000",
    }


def test_rescoring_is_an_admin_action_recorded_in_the_change_history(admin_client):
    # given an answer scored with version 1 of a made-up instrument, and a corrected version 2
    data = json.loads(MADE_UP.read_text(encoding="utf-8"))
    instrument_definition_load(data=data)
    patient = PatientFactory()
    answer = instrument_answer_record(
        treatment=make_ablation(patient=patient),
        instrument="muf4",
        completed_at=timezone.now() - dt.timedelta(days=1),
        answers={"a1": 2, "a2": 2, "a3": 2, "a4": 1},
        collected_via="staff",
    )
    data["version"] = 2
    data["scoring"]["table"][3]["t"] = 35.0
    instrument_definition_load(data=data)

    # when the admin re-scores it
    response = admin_client.post(
        reverse("admin:instruments_instrumentanswer_changelist"),
        {"action": "rescore", "_selected_action": [answer.pk]},
        follow=True,
    )

    # then it holds the new score with the new version, and the history shows the change and who made it
    assert "1 answers re-scored" in response.content.decode()
    answer.refresh_from_db()
    assert (answer.version.version, answer.score_total) == (2, Decimal("35.0"))
    event = answer.change_events.order_by("pgh_id").last()
    assert event.pgh_label == "update" and event.pgh_context["username"]
    rows = _page_rows(admin_client.get(reverse("audit:change_history"), {"patient": patient.mrn}))
    changed = [row for row in rows if row[2] == "Changed" and row[1].startswith("Instrument answers")]
    assert changed, rows


def test_the_answers_admin_is_read_only(admin_client):
    answer = instrument_answer_record(
        treatment=make_ablation(patient=PatientFactory()),
        instrument="phq2",
        completed_at=timezone.now() - dt.timedelta(days=1),
        answers={"1": 1, "2": 2},
        collected_via="staff",
    )
    url = reverse("admin:instruments_instrumentanswer_change", args=[answer.pk])
    assert admin_client.get(url).status_code == 200
    admin_client.post(url, {"score_total": "0"})
    assert InstrumentAnswer.objects.get(pk=answer.pk).score_total == 3
