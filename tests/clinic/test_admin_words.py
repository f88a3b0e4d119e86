"""What an admin reads in the Django admin and on the patient page: names, not the codes programs use."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def test_the_nerve_catalog_lists_nerves_by_name_not_by_import_code(client, admin_user):
    # given the clinic's catalog (migrations)
    client.force_login(admin_user)
    # when
    listing = client.get(reverse("admin:clinic_nerve_changelist"))
    # then
    assert "Superior cluneal" in listing.text
    assert "superior_cluneal" not in listing.text.split('id="result_list"')[1]


def test_the_patient_page_shows_the_time_zone_as_people_read_it(client, staff_user):
    # given
    patient = PatientFactory(timezone="America/Los_Angeles")
    client.force_login(staff_user)
    # when
    page = client.get(reverse("patients:detail", args=[patient.public_id]))
    # then
    assert "America/Los Angeles" in page.text and "Los_Angeles" not in page.text
