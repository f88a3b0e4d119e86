from decimal import Decimal

import pytest
from django.urls import reverse

from apps.blocks.selectors import dual_block_status
from apps.clinic.models import Protocol
from apps.clinic.selectors import protocol_get
from tests.factories import BlockFactory

pytestmark = pytest.mark.django_db


def protocol_form(**overrides):
    protocol = protocol_get()
    data = {
        "block_threshold_percent": "80",
        "evaluation_window_minutes": "360",
        "qualifying_block_days": "180",
        "responder_percent": "50",
        "invitation_hour": "10",
        "reminder_days": "2,5",
        "quiet_start_hour": "21",
        "quiet_end_hour": "8",
        "diary_minutes": "30,60,120,240,360",
        "diary_sms_mode": "link",
        "survey_sms_mode": "link",
        "tp-TOTAL_FORMS": str(protocol.time_points.count()),
        "tp-INITIAL_FORMS": str(protocol.time_points.count()),
    }
    for i, tp in enumerate(protocol.time_points.all()):
        data |= {
            f"tp-{i}-id": tp.pk,
            f"tp-{i}-protocol": protocol.pk,
            f"tp-{i}-code": tp.code,
            f"tp-{i}-label": tp.label,
            f"tp-{i}-target_day": tp.target_day,
            f"tp-{i}-window_start_day": tp.window_start_day,
            f"tp-{i}-window_end_day": tp.window_end_day,
        }
    return data | overrides


def test_the_default_protocol_follows_the_outcome_definitions():
    protocol = protocol_get()
    assert protocol.block_threshold_percent == 50
    assert protocol.evaluation_window_minutes == 360
    assert [(t.code, t.target_day, t.window_start_day, t.window_end_day) for t in protocol.time_points.all()] == [
        ("2w", 14, 10, 21),
        ("1m", 30, 22, 45),
        ("3m", 90, 75, 120),
        ("6m", 182, 150, 210),
        ("12m", 365, 330, 400),
    ]


def test_an_admin_sets_a_strict_threshold_and_block_results_follow(client, admin_user):
    block = BlockFactory(baseline_nrs=10, diary=[(30, 3)])  # 70% relief
    assert block.assess(protocol_get()).is_positive
    client.force_login(admin_user)
    response = client.post(reverse("clinic:protocol"), protocol_form())
    assert response.status_code == 302
    assert Protocol.objects.get().block_threshold_percent == Decimal(80)
    assert not block.assess(protocol_get()).is_positive


def test_a_time_point_whose_target_is_outside_its_window_is_refused(client, admin_user):
    client.force_login(admin_user)
    response = client.post(reverse("clinic:protocol"), protocol_form(**{"tp-0-target_day": "30"}))
    assert response.status_code == 200
    assert "The target day must lie inside the window" in response.text
    assert protocol_get().time_points.get(code="2w").target_day == 14


def test_an_admin_sets_the_reminder_cadence(client, admin_user):
    client.force_login(admin_user)
    form = protocol_form(invitation_hour="9", reminder_days="3,7", quiet_start_hour="20", diary_minutes="30,90")
    response = client.post(reverse("clinic:protocol"), form)
    assert response.status_code == 302
    protocol = protocol_get()
    assert (protocol.invitation_hour, protocol.reminder_days, protocol.quiet_start_hour, protocol.diary_minutes) == (
        9,
        [3, 7],
        20,
        [30, 90],
    )


def test_staff_cannot_change_the_protocol(staff_client):
    assert staff_client.get(reverse("clinic:protocol")).status_code == 403


def test_the_dual_block_rule_asks_for_a_second_concordant_positive_block():
    protocol = protocol_get()
    protocol.require_dual_blocks = True
    first = BlockFactory(diary=[(30, 1)])
    assert not dual_block_status(block=first, protocol=protocol).met
    second = BlockFactory(patient=first.patient, diary=[(30, 2)])
    status = dual_block_status(block=second, protocol=protocol)
    assert status.required and status.confirmed_by == first


def test_the_time_point_table_names_each_column_once_in_the_same_words(client, admin_user):
    # given
    client.force_login(admin_user)

    # when
    page = client.get(reverse("clinic:protocol")).text

    # then: the header names the columns; each row's controls carry the same words, not a label of their own
    table = page[page.index('id="time-points"') :]
    header = table[: table.index("</thead>")]
    for words in ("Code", "Label", "Target day", "Window from day", "Window to day", "Remove"):
        assert f">{words}</th>" in header
        assert table.count(f">{words}<") == 1
        assert f'aria-label="{words}"' in table
    assert "Window start day" not in page
    assert "Delete" not in table


def test_an_admin_chooses_reply_by_number_for_diary_text_messages(client, admin_user):
    client.force_login(admin_user)
    response = client.post(reverse("clinic:protocol"), protocol_form(diary_sms_mode="reply"))
    assert response.status_code == 302
    protocol = protocol_get()
    assert (protocol.diary_sms_mode, protocol.survey_sms_mode) == ("reply", "link")
