"""Single use under parallel submits: two requests racing with the same link store one answer."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection
from django.utils import timezone

from apps.surveys.models import SurveyResponse
from apps.surveys.services import LinkNotUsable, link_answer
from tests.factories import make_ablation, make_reachable_patient, make_survey_link


@pytest.mark.django_db(transaction=True)
def test_two_submits_at_once_store_one_answer():
    # given
    patient = make_reachable_patient()
    ablation = make_ablation(patient=patient, performed_on=timezone.localdate() - dt.timedelta(days=14))
    link, _ = make_survey_link(follow_up=ablation.follow_ups.get(time_point="2w"))
    barrier = threading.Barrier(2)
    outcomes = []

    def submit():
        barrier.wait()
        try:
            link_answer(link=link, answers={"pain_average": 4})
            outcomes.append("stored")
        except LinkNotUsable:
            outcomes.append("refused")
        finally:
            connection.close()

    # when
    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # then
    assert sorted(outcomes) == ["refused", "stored"]
    assert SurveyResponse.objects.count() == 1
