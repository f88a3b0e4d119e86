"""Sites (issue 18): every way of creating a patient (the staff form, the API, the registry import) names the site in a
network of sites, and a single clinic's works as before sites."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from apps.clinic.models import Site
from apps.patients.models import Patient
from apps.registry.models import ImportRun
from apps.registry.services import registry_import
from tests.api.test_api import NEW_PATIENT, bearer
from tests.registry.test_bulk import _files
from tests.registry.test_import import GOOD, write

pytestmark = pytest.mark.django_db

VALID = {
    "mrn": "a100200",
    "first_name": "José",
    "last_name": "García",
    "date_of_birth": "1961-03-04",
    "sex": "M",
    "language": "es",
    "preferred_channel": "none",
    "timezone": "America/Chicago",
    "is_active": "on",
}


@pytest.fixture
def network(staff_user) -> tuple[Site, Site, Site]:
    """The registry's site (renamed South) and two more: the staff user works at South and North, not at West."""
    south = Site.objects.get()
    south.name = "South Clinic"
    south.save()
    north = Site.objects.create(name="North Clinic", time_zone="America/Los_Angeles")
    west = Site.objects.create(name="West Clinic")
    south.members.add(staff_user)
    north.members.add(staff_user)
    return south, north, west


# ---------------------------------------------------------------------------------------------------------------
# The staff form


def test_a_single_clinics_form_has_no_site_and_its_patient_is_at_the_only_site(staff_client):
    # given the registry's one site
    site = Site.objects.get()
    # when
    page = staff_client.get(reverse("patients:new"))
    response = staff_client.post(reverse("patients:new"), VALID)
    # then
    assert "site" not in page.context["form"].fields
    assert response.status_code == 302
    patient = Patient.objects.get()
    assert patient.site == site
    assert patient.timezone == "America/Chicago"
    detail = staff_client.get(reverse("patients:detail", args=[patient.public_id]))
    assert 'id="patient-site"' not in detail.text


def test_a_networks_form_lists_the_users_active_sites_and_requires_one(staff_client, network):
    # given a site the user works at that is closed
    south, north, west = network
    closed = Site.objects.create(name="Closed Clinic", is_active=False)
    closed.members.add(network[0].members.get())
    # when
    page = staff_client.get(reverse("patients:new"))
    response = staff_client.post(reverse("patients:new"), VALID)
    # then
    assert list(page.context["form"].fields["site"].queryset) == [north, south]
    assert response.status_code == 200
    assert "This field is required." in str(response.context["form"].errors["site"])
    assert not Patient.objects.exists()


def test_a_network_patient_is_saved_at_the_chosen_site_and_its_page_names_it(staff_client, network):
    # given
    south, north, west = network
    # when
    response = staff_client.post(reverse("patients:new"), {**VALID, "site": north.pk})
    # then
    assert response.status_code == 302
    patient = Patient.objects.get()
    assert patient.site == north
    detail = staff_client.get(reverse("patients:detail", args=[patient.public_id]))
    assert '<span id="patient-site">North Clinic</span>' in detail.text


def test_a_site_the_user_does_not_work_at_is_refused_naming_the_field(staff_client, network):
    # given
    south, north, west = network
    # when
    response = staff_client.post(reverse("patients:new"), {**VALID, "site": west.pk})
    # then
    assert response.status_code == 200
    assert response.context["form"].errors["site"] == ["Choose one of the sites you work at."]
    assert not Patient.objects.exists()


def test_a_patients_site_cannot_be_changed_to_one_the_user_does_not_work_at(staff_client, network):
    # given a patient at South, a site the user works at (another site's patient they would not find at all:
    # tests/patients/test_site_scope.py)
    south, north, west = network
    patient = Patient.objects.create(site=south, mrn="A1", first_name="A", last_name="B", date_of_birth="1970-01-01")
    url = reverse("patients:edit", args=[patient.public_id])
    # when a site the user does not work at, then their current one
    data = {**VALID, "mrn": "A1"}
    refused = staff_client.post(url, {**data, "site": west.pk})
    kept = staff_client.post(url, {**data, "site": south.pk})
    # then the patient keeps their site, and may be moved only to a site the user works at
    assert refused.context["form"].errors["site"] == ["Choose one of the sites you work at."]
    assert kept.status_code == 302
    patient.refresh_from_db()
    assert patient.site == south


def test_a_user_of_one_site_of_a_network_has_it_preselected(client, staff_user, network):
    # given the user works at North only
    south, north, west = network
    south.members.remove(staff_user)
    client.force_login(staff_user)
    # when
    page = client.get(reverse("patients:new"))
    # then the site, and its time zone as the patient's
    assert page.context["form"]["site"].value() == north.pk
    assert page.context["form"]["timezone"].value() == "America/Los_Angeles"


@pytest.mark.parametrize(("chosen", "expected"), [("", "America/Los_Angeles"), ("America/Chicago", "America/Chicago")])
def test_a_new_patients_time_zone_left_at_its_default_is_the_sites(staff_client, network, settings, chosen, expected):
    # given North's own time zone
    south, north, west = network
    # when the form leaves the time zone at its default, or chooses one
    staff_client.post(reverse("patients:new"), {**VALID, "site": north.pk, "timezone": chosen or settings.TIME_ZONE})
    # then
    assert Patient.objects.get().timezone == expected


# ---------------------------------------------------------------------------------------------------------------
# The API


def test_the_api_creates_a_network_patient_at_the_site_it_names(staff_user, network):
    # given
    south, north, west = network
    client = bearer(staff_user)
    # when
    created = client.post(
        reverse("api:patient_list"), {**NEW_PATIENT, "site": north.pk}, content_type="application/json"
    )
    # then
    assert created.status_code == 201, created.json()
    assert created.json()["site"] == north.pk
    assert Patient.objects.get().site == north


@pytest.mark.parametrize(
    ("site", "message"), [(None, "This field is required."), ("west", "Choose one of the sites you work at.")]
)
def test_the_api_refuses_a_network_patient_without_a_site_or_at_another(staff_user, network, site, message):
    # given
    south, north, west = network
    body = dict(NEW_PATIENT) if site is None else {**NEW_PATIENT, "site": west.pk}
    # when
    response = bearer(staff_user).post(reverse("api:patient_list"), body, content_type="application/json")
    # then
    assert response.status_code == 400
    assert response.json()["site"] == [message]
    assert not Patient.objects.exists()


def test_the_api_of_a_single_clinic_needs_no_site(staff_user):
    # when
    created = bearer(staff_user).post(reverse("api:patient_list"), NEW_PATIENT, content_type="application/json")
    # then
    assert created.status_code == 201
    assert created.json()["site"] == Site.objects.get().pk


# ---------------------------------------------------------------------------------------------------------------
# The registry import


def test_the_command_imports_a_network_into_the_site_it_names(tmp_path: Path, network):
    # given
    south, north, west = network
    folder = write(tmp_path / "export", GOOD)
    # when
    call_command("import_registry", str(folder), "--site", "West Clinic", stdout=io.StringIO())
    # then the patient is at West, in West's time zone (the file gives none)
    patient = Patient.objects.get()
    assert (patient.site, patient.timezone) == (west, west.effective_time_zone)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            [],
            "This registry has several sites: name the one to import into (North Clinic, South Clinic, West Clinic). "
            "Use --site NAME.",
        ),
        (["--site", "Nowhere"], "No active site is named “Nowhere”"),
    ],
)
def test_the_command_refuses_a_network_import_without_a_known_site(tmp_path: Path, network, args, message):
    # given
    folder = write(tmp_path / "export", GOOD)
    # when / then
    with pytest.raises(CommandError, match=re.escape(message)):
        call_command("import_registry", str(folder), *args, stdout=io.StringIO())
    assert not Patient.objects.exists() and not ImportRun.objects.exists()


def test_a_single_clinics_import_needs_no_site(tmp_path: Path):
    # when
    result = registry_import(folder=write(tmp_path / "export", GOOD))
    # then
    assert result.ok
    assert Patient.objects.get().site == Site.objects.get()


def test_the_upload_page_of_a_network_requires_the_site_and_keeps_it_to_the_confirmation(admin_client, network):
    # given
    south, north, west = network
    # when without a site, then with one, then confirmed
    refused = admin_client.post(reverse("registry:import"), {"files": _files()})
    checked = admin_client.post(reverse("registry:import"), {"files": _files(), "site": north.pk})
    admin_client.post(reverse("registry:import_confirm"))
    # then
    assert refused.context["form"].errors["site"] == ["Choose the site to import into."]
    assert checked.context["result"].ok
    assert set(Patient.objects.values_list("site", flat=True)) == {north.pk}


def test_the_api_import_of_a_network_requires_the_site(admin_user, network):
    # given
    south, north, west = network
    client = bearer(admin_user)
    # when
    refused = client.post(reverse("api:registry_import"), {"files": _files(), "dry_run": "false"})
    imported = client.post(reverse("api:registry_import"), {"files": _files(), "dry_run": "false", "site": west.pk})
    # then
    assert refused.status_code == 400 and refused.json()["site"] == ["Choose the site to import into."]
    assert imported.status_code == 200, imported.json()
    assert set(Patient.objects.values_list("site", flat=True)) == {west.pk}
