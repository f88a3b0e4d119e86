"""Sites (issue 18): in a network, users see and change only their sites' patients (apps.patients.selectors.
visible_to); another site's patient, and every record of theirs, answers 404 as an unknown id would. A single
clinic's registry filters nothing: whoever may read records reads them all."""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client
from django.urls import reverse

from apps.accounts.models import Role, User
from apps.clinic.models import Site
from apps.cryoablations.models import Cryoablation
from apps.patients.models import Patient
from apps.patients.selectors import patients_visible_to
from tests.factories import PatientFactory, UserFactory, make_ablation
from tests.test_urls_access import APP_ROUTES, build_url, make_objects

pytestmark = pytest.mark.django_db

UUID_CONVERTER = "UUIDConverter"


@pytest.fixture
def objects(db) -> dict:
    """One of each record a URL names by public id (tests/test_urls_access.py), all of one patient."""
    return make_objects()


@pytest.fixture
def site_b(objects) -> Site:
    """The registry's one site, holding one of each record of tests/test_urls_access.py (made before a second site
    exists: a patient needs no site while there is one)."""
    return Site.objects.get()


@pytest.fixture
def site_a(site_b) -> Site:
    """A second site: the registry becomes a network."""
    return Site.objects.create(name="Site A")


@pytest.fixture
def user_a(site_a) -> User:
    user = UserFactory(role=Role.STAFF)
    site_a.members.add(user)
    return user


@pytest.fixture
def client_a(user_a) -> Client:
    client = Client()
    client.force_login(user_a)
    return client


@pytest.fixture
def patient_a(site_a) -> Patient:
    """A patient of site A with a treatment, whose two-week follow-up is due today."""
    patient = PatientFactory(site=site_a)
    make_ablation(patient=patient)
    return patient


def _login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_another_sites_patient_and_records_are_404(client_a, objects, patient_a):
    # given site B's patient and records (objects), and a staff user of site A
    patient = objects["patient"]
    urls = [
        reverse("patients:detail", args=[patient.public_id]),
        reverse("patients:print", args=[patient.public_id]),
        reverse("patients:edit", args=[patient.public_id]),
        reverse("blocks:detail", args=[objects["block"].public_id]),
        reverse("blocks:edit", args=[objects["block"].public_id]),
        reverse("blocks:new", args=[patient.public_id]),
        reverse("cryoablations:detail", args=[objects["ablation"].public_id]),
        reverse("cryoablations:edit", args=[objects["ablation"].public_id]),
        reverse("cryoablations:new", args=[patient.public_id]),
        reverse("cryoablations:follow_up_answers", args=[objects["follow-up"].public_id]),
        reverse("adverse_events:edit", args=[objects["adverse event"].public_id]),
        reverse("medications:edit", args=[objects["opioid statement"].public_id]),
        reverse("sms:inbox_item", args=[objects["text message"].public_id]),
        reverse("api:patient_detail", args=[patient.public_id]),
        reverse("api:block_detail", args=[objects["block"].public_id]),
        reverse("api:treatment_detail", args=[objects["ablation"].public_id]),
        reverse("api:follow_up_detail", args=[objects["follow-up"].public_id]),
        reverse("api:adverse_event_detail", args=[objects["adverse event"].public_id]),
        reverse("fhir:patient_everything", args=[patient.public_id]),
    ]
    # then each is not found, as an id no record has
    assert {url: client_a.get(url).status_code for url in urls} == {url: 404 for url in urls}
    # and a change by POST finds nothing either
    assert client_a.post(reverse("patients:edit", args=[patient.public_id]), {}).status_code == 404
    # while site A's own patient opens
    assert client_a.get(reverse("patients:detail", args=[patient_a.public_id])).status_code == 200
    assert client_a.get(reverse("api:patient_detail", args=[patient_a.public_id])).status_code == 200


def test_lists_hold_only_the_users_sites_patients(client_a, objects, patient_a):
    # given a patient at each site, each with a follow-up due
    other = objects["patient"]
    make_ablation(patient=other)
    # when
    listed = client_a.get(reverse("patients:list")).context["page"]
    found = client_a.get(reverse("patients:list"), {"q": other.mrn}).context["page"]
    api = client_a.get(reverse("api:patient_list")).json()["results"]
    api_found = client_a.get(reverse("api:patient_list"), {"q": other.mrn}).json()["results"]
    worklist = client_a.get(reverse("cryoablations:worklist")).context["page"]
    treatments = client_a.get(reverse("api:treatment_list")).json()["results"]
    follow_ups = client_a.get(reverse("api:follow_up_list")).json()["results"]
    # then only site A's patient is in any of them
    assert [p.pk for p in listed] == [patient_a.pk]
    assert list(found) == [] and api_found == []
    assert [p["id"] for p in api] == [str(patient_a.public_id)]
    assert {f.ablation.patient_id for f in worklist} == {patient_a.pk}
    assert {t["id"] for t in treatments} == {str(t.public_id) for t in Cryoablation.objects.filter(patient=patient_a)}
    assert {f["patient"] for f in follow_ups} == {str(patient_a.public_id)}
    # and the API's filters know no patient of site B
    assert client_a.get(reverse("api:treatment_list"), {"patient": str(other.public_id)}).status_code == 400


def _csv(client, name: str, **filters) -> list[list[str]]:
    response = client.get(reverse(name), filters)
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))[1:]


def test_the_audit_pages_hold_none_of_another_sites_patients_events(site_a, site_b, objects, patient_a, admin_user):
    # given site B's patient with one of each record, viewed by a user of site B; and an admin of site A
    other = objects["patient"]
    site_b.members.add(admin_user)
    _login(admin_user).get(reverse("patients:detail", args=[other.public_id]))
    admin_a = UserFactory(role=Role.ADMIN, is_staff=True)
    site_a.members.add(admin_a)
    client = _login(admin_a)
    client.get(reverse("patients:detail", args=[patient_a.public_id]))
    # (site B's patient's changes, as an admin of site B finds them with the patient filter)
    of_b = {(row[1], row[2]) for row in _csv(_login(admin_user), "audit:change_history_csv", patient=other.mrn)}
    assert {"patient", "diagnosticblock", "surveyresponse", "adverseevent", "medicationstatement", "inboundsms"} <= {
        kind for kind, _ in of_b
    }
    # when the admin of site A reads the audit pages and their CSVs
    pages = [client.get(reverse(name)) for name in ("audit:access_log", "audit:change_history")]
    access = _csv(client, "audit:access_log_csv")
    changes = {(row[1], row[2]) for row in _csv(client, "audit:change_history_csv")}
    # then none of site B's patient's events is there, and site A's patient's are
    assert all(page.status_code == 200 and other.mrn not in page.text for page in pages)
    assert str(other.pk) not in {row[8] for row in access} and str(patient_a.pk) in {row[8] for row in access}
    assert not (changes & of_b) and ("patient", str(patient_a.pk)) in changes
    # and the patient filter knows no patient of site B
    for name in ("audit:access_log", "audit:change_history_csv"):
        assert client.get(reverse(name), {"patient": other.mrn}).status_code == 400


def test_a_user_of_both_sites_sees_both(site_a, site_b, objects, patient_a):
    # given
    user = UserFactory(role=Role.STAFF)
    site_a.members.add(user)
    site_b.members.add(user)
    client = _login(user)
    # then
    assert set(patients_visible_to(user)) == {patient_a, objects["patient"]}
    for patient in (patient_a, objects["patient"]):
        assert client.get(reverse("patients:detail", args=[patient.public_id])).status_code == 200
    listed = client.get(reverse("patients:list")).context["page"]
    assert {p.pk for p in listed} == {patient_a.pk, objects["patient"].pk}


def test_a_user_of_no_site_and_of_an_inactive_site_sees_none(site_a, site_b, objects, patient_a):
    # given a user of no site, and one of a site no longer active
    nobody = UserFactory(role=Role.STAFF)
    closed = UserFactory(role=Role.STAFF)
    site_b.members.add(closed)
    Site.objects.filter(pk=site_b.pk).update(is_active=False)
    # then
    assert not patients_visible_to(nobody).exists()
    assert not patients_visible_to(closed).exists()
    assert _login(closed).get(reverse("patients:detail", args=[objects["patient"].public_id])).status_code == 404


def test_a_single_clinic_filters_nothing(objects):
    # given the registry's one site and a superuser who is no site's member (createsuperuser)
    superuser = UserFactory(role=Role.ADMIN, is_superuser=True, is_staff=True)
    other = PatientFactory()
    assert not Site.objects.filter(members=superuser).exists()
    client = _login(superuser)
    # then every patient is seen
    assert set(patients_visible_to(superuser)) == {objects["patient"], other}
    assert client.get(reverse("patients:detail", args=[objects["patient"].public_id])).status_code == 200
    assert {p.pk for p in client.get(reverse("patients:list")).context["page"]} == {objects["patient"].pk, other.pk}


# ---------------------------------------------------------------------------------------------------------------
# The walk: every URL naming a record by public id, built with site B's records, refused to a user of site A

UUID_ROUTES = sorted(
    name
    for name, route in APP_ROUTES.items()
    if any(conv == UUID_CONVERTER for _, conv in route.params) and not name.startswith("admin:")
)


def test_the_walk_finds_record_urls():
    assert {"patients:detail", "blocks:edit", "cryoablations:follow_up_answers", "api:patient_detail"} <= set(
        UUID_ROUTES
    )


@pytest.mark.parametrize("name", UUID_ROUTES)
def test_no_url_opens_another_sites_record(name, objects, site_b, client_a, admin_user):
    # given the URL built with site B's records (found by a user of site B)
    site_b.members.add(admin_user)
    url = build_url(APP_ROUTES[name], objects=objects, probe=_login(admin_user))
    # when a user of site A asks for it
    response = client_a.get(url)
    # then it is not shown (404; 403, 405 or a redirect where the role or the method is refused first)
    assert response.status_code != 200, f"GET {url} ({name}) as a user of another site"
    assert response.status_code in (301, 302, 403, 404, 405), f"GET {url} ({name}): {response.status_code}"
