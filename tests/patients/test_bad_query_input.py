"""Bad query parameters on the pages that list patients (search, worklist, drill-down, audit log): a message naming
the field or a 400, never a server error."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import Role
from tests.factories import PatientFactory, UserFactory, make_ablation

pytestmark = pytest.mark.django_db

HUGE_PAGE = "99999999999999999999"


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(role=Role.ADMIN, is_staff=True))
    return client


def test_a_nul_in_the_search_is_named_at_the_search_field(staff_client):
    # given
    PatientFactory(mrn="A0001")
    # when
    response = staff_client.get(reverse("patients:list"), {"q": "a\x00b"})
    # then
    assert response.status_code == 200
    assert "Search: Null characters are not allowed." in response.text
    assert "A0001" not in response.text


def test_a_nul_in_the_worklists_time_point_is_named_at_the_field(admin_client):
    # given a follow-up due today
    make_ablation(patient=PatientFactory(mrn="W0001"), performed_on=timezone.localdate() - dt.timedelta(days=14))
    # when
    response = admin_client.get(reverse("cryoablations:worklist"), {"time_point": "2w\x00"})
    # then
    assert response.status_code == 200
    assert "Choose a time point from the list." in response.text
    assert "W0001" not in response.text  # a list without the filter asked for would be read as the filtered one


def test_an_unknown_worklist_time_point_is_named_and_a_known_one_filters(admin_client):
    make_ablation(patient=PatientFactory(mrn="W0001"), performed_on=timezone.localdate() - dt.timedelta(days=14))
    unknown = admin_client.get(reverse("cryoablations:worklist"), {"time_point": "7y"})
    known = admin_client.get(reverse("cryoablations:worklist"), {"time_point": "2w"})
    assert "Choose a time point from the list." in unknown.text
    assert "W0001" in known.text and "Choose a time point" not in known.text


def test_a_nul_in_the_drill_downs_time_point_is_a_400_naming_it(admin_client):
    response = admin_client.get(reverse("reports:drill"), {"figure": "response", "time_point": "3m\x00"})
    assert response.status_code == 400
    assert "time_point" in response.text


@pytest.mark.parametrize("page", [HUGE_PAGE, "²", "-1", "1.5"])
@pytest.mark.parametrize("name", ["patients:list", "cryoablations:worklist", "audit:access_log"])
def test_a_page_number_past_any_end_or_not_a_number_shows_a_page(admin_client, name, page):
    # given
    PatientFactory(mrn="P0001")
    # when
    response = admin_client.get(reverse(name), {"page": page})
    # then
    assert response.status_code == 200


def test_a_superscript_digit_as_the_worklists_physician_lists_all(admin_client):
    response = admin_client.get(reverse("cryoablations:worklist"), {"physician": "²"})
    assert response.status_code == 200
