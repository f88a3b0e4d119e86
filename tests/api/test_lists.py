"""Lists: paginated, filtered by date range, physician, nerve and side, ordered on a whitelist; one access event
per page read; a bad parameter comes back named."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.audit.models import Action, Category
from apps.cryoablations.models import FollowUp
from tests.api.test_api import bearer, events_after, last_event_id
from tests.factories import BlockFactory, PatientFactory, UserFactory, make_ablation, nerve

pytestmark = pytest.mark.django_db


def _ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def _at(day: dt.date, hour: int = 10) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


def test_patients_are_ordered_and_paginated(staff_user):
    # given
    PatientFactory(last_name="Baker", mrn="M0000003")
    PatientFactory(last_name="Adams", mrn="M0000002")
    PatientFactory(last_name="Carter", mrn="M0000001")
    client = bearer(staff_user)
    url = reverse("api:patient_list")

    # when
    by_name = client.get(url, {"page_size": 2}).json()
    by_mrn_desc = client.get(url, {"ordering": "-mrn"}).json()

    # then
    assert [p["last_name"] for p in by_name["results"]] == ["Adams", "Baker"]
    assert by_name["count"] == 3 and by_name["next"] is not None
    assert [p["mrn"] for p in by_mrn_desc["results"]] == ["M0000003", "M0000002", "M0000001"]


@pytest.mark.parametrize("query", ["WLK-0001", "wlk-0001", "WLK"])
def test_the_api_search_finds_an_mrn_with_hyphens_as_the_page_does(staff_user, query):
    # given
    patient = PatientFactory(mrn="WLK-0001")
    PatientFactory(mrn="WLX-0001")
    # when
    response = bearer(staff_user).get(reverse("api:patient_list"), {"q": query})
    # then
    assert _ids(response) == [str(patient.public_id)]


def test_search_results_are_in_name_order_too(staff_user):
    # given
    PatientFactory(last_name="Garcia", first_name="Zoe")
    PatientFactory(last_name="Garcia", first_name="Ana")
    PatientFactory(last_name="Garces", first_name="Luz")
    PatientFactory(last_name="Smith")
    client = bearer(staff_user)
    # when
    ascending = client.get(reverse("api:patient_list"), {"q": "garc"}).json()["results"]
    descending = client.get(reverse("api:patient_list"), {"q": "garc", "ordering": "-last_name"}).json()["results"]
    # then
    names = [(p["last_name"], p["first_name"]) for p in ascending]
    assert names == [("Garces", "Luz"), ("Garcia", "Ana"), ("Garcia", "Zoe")]
    assert [(p["last_name"], p["first_name"]) for p in descending] == names[::-1]


def test_blocks_filter_by_date_physician_nerve_and_side(staff_user):
    # given
    today = timezone.localdate()
    doctor = UserFactory(role="physician", username="dr_who")
    wanted = BlockFactory(performed_at=_at(today - dt.timedelta(days=10)), physician=doctor, side="right")
    BlockFactory(performed_at=_at(today - dt.timedelta(days=40)), physician=doctor, side="right")  # before `from`
    BlockFactory(performed_at=_at(today - dt.timedelta(days=10)), side="right")  # another physician
    BlockFactory(performed_at=_at(today - dt.timedelta(days=10)), physician=doctor, side="left")
    BlockFactory(
        performed_at=_at(today - dt.timedelta(days=10)), physician=doctor, side="right", nerve=nerve("medial_branch")
    )
    client = bearer(staff_user)
    params = {
        "from": (today - dt.timedelta(days=30)).isoformat(),
        "to": today.isoformat(),
        "physician": "dr_who",
        "nerve": "superior_cluneal",
        "side": "right",
    }
    last = last_event_id()

    # when
    response = client.get(reverse("api:block_list"), params)

    # then
    assert _ids(response) == [str(wanted.public_id)]
    row = response.json()["results"][0]
    assert (row["physician"], row["nerve"], row["side"]) == (doctor.get_full_name(), "superior_cluneal", "right")
    assert "diary" not in row
    [event] = events_after(last)
    assert (event.action, event.category, event.object_type) == (Action.LIST, Category.CLINICAL, "block_list")
    assert event.detail["listed"] == [wanted.patient_id]


def test_block_dates_are_the_clinics_calendar_days(staff_user):
    # given a block late in the evening of the `to` day
    day = timezone.localdate() - dt.timedelta(days=3)
    late = BlockFactory(performed_at=_at(day, hour=23))
    # when
    response = bearer(staff_user).get(reverse("api:block_list"), {"from": day.isoformat(), "to": day.isoformat()})
    # then
    assert _ids(response) == [str(late.public_id)]


def test_ablations_filter_and_order(staff_user):
    # given
    today = timezone.localdate()
    patient = PatientFactory()
    older = make_ablation(patient=patient, performed_on=today - dt.timedelta(days=60), baseline_nrs=9)
    newer = make_ablation(patient=patient, performed_on=today - dt.timedelta(days=20), baseline_nrs=6)
    make_ablation(patient=patient, performed_on=today - dt.timedelta(days=20), side="right")
    client = bearer(staff_user)
    url = reverse("api:ablation_list")

    # when
    default = client.get(url, {"side": "left"})
    by_baseline = client.get(url, {"side": "left", "ordering": "-baseline_nrs"})
    recent = client.get(url, {"side": "left", "from": (today - dt.timedelta(days=30)).isoformat()})

    # then
    assert _ids(default) == [str(newer.public_id), str(older.public_id)]
    assert _ids(by_baseline) == [str(older.public_id), str(newer.public_id)]
    assert _ids(recent) == [str(newer.public_id)]
    assert "follow_ups" not in default.json()["results"][0]


def test_follow_ups_by_status_as_on_the_worklist(staff_user):
    # given an ablation 14 days ago: its 2-week follow-up is due, the later ones upcoming
    ablation = make_ablation(patient=PatientFactory(), performed_on=timezone.localdate() - dt.timedelta(days=14))
    two_weeks = ablation.follow_ups.get(time_point="2w")
    client = bearer(staff_user)
    url = reverse("api:follow_up_list")

    # when
    everything = client.get(url, {"nerve": "superior_cluneal"})
    open_ones = client.get(url, {"status": "open"})
    three_months = client.get(url, {"time_point": "3m"})

    # then
    assert len(_ids(everything)) == FollowUp.objects.filter(ablation=ablation).count()
    assert _ids(open_ones) == [str(two_weeks.public_id)]
    assert open_ones.json()["results"][0]["status"] == "due"
    assert [r["time_point"] for r in three_months.json()["results"]] == ["3m"]


@pytest.mark.parametrize(
    ("url_name", "params", "field"),
    [
        ("api:block_list", {"from": "2026-02-30"}, "from"),
        ("api:block_list", {"side": "middle"}, "side"),
        ("api:ablation_list", {"ordering": "patient__last_name"}, "ordering"),
        ("api:ablation_list", {"nerve": "sciatic_nerve_x"}, "nerve"),
        ("api:follow_up_list", {"status": "completed"}, "status"),
        ("api:follow_up_list", {"to": "soon"}, "to"),
        ("api:patient_list", {"ordering": "search_name"}, "ordering"),
    ],
)
def test_a_bad_filter_value_is_named(staff_user, url_name, params, field):
    # given
    last = last_event_id()
    # when
    response = bearer(staff_user).get(reverse(url_name), params)
    # then
    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert events_after(last) == []


def test_a_page_past_the_last_is_404(staff_user):
    # given
    PatientFactory()
    # when
    response = bearer(staff_user).get(reverse("api:patient_list"), {"page": 9})
    # then
    assert response.status_code == 404


def test_a_user_without_a_role_cannot_list():
    # given
    client = bearer(UserFactory())
    # when
    statuses = [
        client.get(reverse(name)).status_code for name in ("api:block_list", "api:ablation_list", "api:follow_up_list")
    ]
    # then
    assert statuses == [403, 403, 403]


def test_list_queries_do_not_grow_with_the_page(staff_user, django_assert_max_num_queries):
    # given
    for _ in range(8):
        BlockFactory(diary=[(15, 2), (60, 3)])
        make_ablation(patient=PatientFactory())
    client = bearer(staff_user)
    client.get(reverse("api:block_list"))  # the token's last-used time written once

    # when / then: token, count, page, prefetch, audit, ... but not one per row
    for name in ("api:block_list", "api:ablation_list", "api:follow_up_list", "api:patient_list"):
        with django_assert_max_num_queries(12):
            assert client.get(reverse(name)).status_code == 200


@pytest.mark.parametrize("page_size", ["0", "201", "ten"])
def test_a_page_size_out_of_range_is_named(staff_user, page_size):
    # when
    response = bearer(staff_user).get(reverse("api:patient_list"), {"page_size": page_size})
    # then: refused, not silently replaced by another size
    assert response.status_code == 400
    assert list(response.json()) == ["page_size"]


def test_an_empty_filter_is_named_not_ignored(staff_user):
    # when
    response = bearer(staff_user).get(reverse("api:block_list"), {"from": ""})
    # then
    assert response.status_code == 400
    assert list(response.json()) == ["from"]
