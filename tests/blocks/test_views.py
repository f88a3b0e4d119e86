import datetime as dt
import re

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from apps.blocks.models import DiagnosticBlock
from apps.clinic.models import Protocol
from tests.factories import PatientFactory, nerve

pytestmark = pytest.mark.django_db


def block_form(physician, **overrides):
    data = {
        "performed_at": (timezone.localtime() - dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
        "physician": physician.pk,
        "suspected_diagnosis": "superior_cluneal",
        "nerve": nerve().pk,
        "side": "left",
        "guidance": "ultrasound",
        "drug": "lidocaine",
        "concentration_percent": "2",
        "volume_ml": "1",
        "needle": "25-gauge spinal",
        "baseline_nrs": "8",
        "diary-TOTAL_FORMS": "3",
        "diary-INITIAL_FORMS": "3",
        "diary-0-minutes_after": "15",
        "diary-0-nrs": "2",
        "diary-1-minutes_after": "30",
        "diary-1-nrs": "1",
        "diary-2-minutes_after": "",
        "diary-2-nrs": "",
    }
    return data | overrides


def test_a_block_is_saved_with_its_diary_and_shown_positive(staff_client, physician):
    patient = PatientFactory()
    response = staff_client.post(reverse("blocks:new", args=[patient.public_id]), block_form(physician))
    block = DiagnosticBlock.objects.get()
    assert response["Location"] == reverse("blocks:detail", args=[block.public_id])
    assert list(block.diary_entries.values_list("minutes_after", "nrs")) == [(15, 2), (30, 1)]
    page = staff_client.get(response["Location"])
    assert "Positive" in page.text
    assert "87.5%" in page.text


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"baseline_nrs": "11"}, "Pre-block pain (NRS): Ensure this value is less than or equal to 10."),
        ({"baseline_nrs": "7.5"}, "Pre-block pain (NRS): Enter a whole number."),
        ({"diary-0-nrs": "11"}, "Pain diary, row 1: Pain (NRS 0–10): Ensure this value is less than or equal to 10."),
        ({"diary-1-nrs": "2.5"}, "Pain diary, row 2: Pain (NRS 0–10): Enter a whole number."),
        ({"diary-0-minutes_after": "-5"}, "Pain diary, row 1: Minutes after injection: Ensure this value is greater"),
        ({"diary-1-minutes_after": "15"}, "Pain diary, row 2: Minutes after injection: There is already a score at 15"),
        ({"diary-2-minutes_after": "60"}, "Pain diary, row 3: Pain (NRS 0–10): Enter the pain score for this time."),
        ({"performed_at": "2999-01-01T10:00"}, "Date and time: It cannot be in the future."),
    ],
)
def test_bad_block_input_is_refused_naming_the_field(staff_client, physician, overrides, expected):
    patient = PatientFactory()
    data = block_form(physician, **overrides)
    response = staff_client.post(reverse("blocks:new", args=[patient.public_id]), data)
    assert response.status_code == 200
    assert expected in response.content.decode()
    for value in overrides.values():
        assert f'value="{value}"' in response.content.decode()
    assert not DiagnosticBlock.objects.exists()


def test_the_new_block_form_starts_with_now_and_the_protocols_diary_times(staff_client):
    # given: the clinic has its own diary times
    Protocol.objects.update(diary_minutes=[20, 45, 90])
    patient = PatientFactory()

    # when
    with time_machine.travel(dt.datetime(2026, 3, 10, 15, 7, 33, tzinfo=dt.UTC), tick=False):
        page = staff_client.get(reverse("blocks:new", args=[patient.public_id])).text

    # then: the clinic's local time, to the minute, and one diary row per protocol time, then blank rows
    expected = timezone.localtime(dt.datetime(2026, 3, 10, 15, 7, tzinfo=dt.UTC)).strftime("%Y-%m-%dT%H:%M")
    assert f'name="performed_at" value="{expected}"' in page
    minutes = re.findall(r'name="diary-\d+-minutes_after" id="[^"]+" value="(\d*)"', page)
    assert minutes[:4] == ["20", "45", "90", ""]


def test_prefilled_diary_times_left_without_a_score_are_not_saved(staff_client, physician):
    # given: the form as it came, a score typed at two of the protocol's times
    patient = PatientFactory()
    rows = {"diary-TOTAL_FORMS": "5", "diary-INITIAL_FORMS": "5"}
    for index, minutes in enumerate([30, 60, 120, 240, 360]):
        rows |= {f"diary-{index}-minutes_after": str(minutes), f"diary-{index}-nrs": ""}
    rows |= {"diary-0-nrs": "2", "diary-1-nrs": "3"}

    # when
    response = staff_client.post(reverse("blocks:new", args=[patient.public_id]), block_form(physician, **rows))

    # then
    block = DiagnosticBlock.objects.get()
    assert response.status_code == 302
    assert list(block.diary_entries.values_list("minutes_after", "nrs")) == [(30, 2), (60, 3)]
