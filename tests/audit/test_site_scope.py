"""Sites (issue 18) on the audit pages: in a network, an admin of site A reads the access events and changes about
site A's patients and those about no patient (sign-ins, accounts, configuration), never site B's patients'; the
patient filter answers site B's MRN as an unknown one. With one site, every admin reads every event."""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.accounts.models import Role, User
from apps.audit.models import Action
from apps.audit.services import access_record
from apps.clinic.models import Site
from apps.clinic.selectors import site_network
from apps.patients.models import Patient
from tests.factories import BlockFactory, PatientFactory, UserFactory, make_ablation

pytestmark = pytest.mark.django_db

AUDIT_URLS = ["audit:access_log", "audit:access_log_csv", "audit:change_history", "audit:change_history_csv"]


@pytest.fixture
def patient_b(db) -> Patient:
    """A patient of the registry's one site (site B), with a block and an ablation, made before a second site
    exists (a patient needs no site while there is one)."""
    block = BlockFactory(patient=PatientFactory(last_name="Bsite"))
    make_ablation(patient=block.patient)
    return block.patient


@pytest.fixture
def site_a(patient_b) -> Site:
    """A second site: the registry becomes a network."""
    return Site.objects.create(name="Site A")


@pytest.fixture
def patient_a(site_a) -> Patient:
    block = BlockFactory(patient=PatientFactory(site=site_a, last_name="Asite"))
    make_ablation(patient=block.patient)
    return block.patient


@pytest.fixture
def admin_a(site_a) -> User:
    user = UserFactory(role=Role.ADMIN, is_staff=True)
    site_a.members.add(user)
    return user


def _csv(client, name: str, **filters) -> list[list[str]]:
    response = client.get(reverse(name), filters)
    assert response.status_code == 200, response.content
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))[1:]


def _views_of(patient: Patient, *, actor: str) -> None:
    access_record(action=Action.VIEW, category="clinical", actor_label=actor, patient_id=patient.pk)


def test_the_access_log_of_a_sites_admin_holds_its_patients_events_and_those_of_no_patient(
    client, admin_a, patient_a, patient_b
):
    # given a view of each site's patient, and a sign-in (about no patient)
    _views_of(patient_a, actor="nurse-a")
    _views_of(patient_b, actor="nurse-b")
    access_record(action=Action.SIGN_IN, category="authentication", actor_label="nurse-c")
    client.force_login(admin_a)
    # when
    page = client.get(reverse("audit:access_log"))
    rows = _csv(client, "audit:access_log_csv")
    # then site A's patient's view and the sign-in are listed, site B's patient's view is not
    assert page.status_code == 200
    listed = {(e.actor_label, e.patient_id) for e in page.context["events"]}
    assert {("nurse-a", patient_a.pk), ("nurse-c", None)} <= listed
    assert patient_b.pk not in {patient for _, patient in listed} and "nurse-b" not in page.text
    assert patient_a.mrn in page.text and patient_b.mrn not in page.text
    # and the CSV holds the same (its patient_id column)
    assert {row[8] for row in rows} == {str(patient_a.pk), ""}
    assert {"nurse-a", "nurse-c"} <= {row[1] for row in rows} and "nurse-b" not in {row[1] for row in rows}


def test_the_change_history_of_a_sites_admin_holds_its_patients_records_and_those_of_no_patient(
    client, admin_a, patient_a, patient_b
):
    # given each site's patient with a block and an ablation (its follow-ups), and the admin's account, made
    client.force_login(admin_a)
    # when
    page = client.get(reverse("audit:change_history"))
    rows = {(row[1], row[2]) for row in _csv(client, "audit:change_history_csv")}
    # then site A's patient and records are there, and the account (about no patient)
    a_rows = {(row[1], row[2]) for row in _csv(client, "audit:change_history_csv", patient=patient_a.mrn)}
    assert {"patient", "diagnosticblock", "cryoablation", "followup"} <= {kind for kind, _ in a_rows}
    assert a_rows <= rows
    assert ("user", str(admin_a.pk)) in rows
    # and no record of site B's patient, found as an admin of both sites finds them
    both = UserFactory(role=Role.ADMIN, is_staff=True)
    for site in Site.objects.all():
        site.members.add(both)
    client.force_login(both)
    b_rows = {(row[1], row[2]) for row in _csv(client, "audit:change_history_csv", patient=patient_b.mrn)}
    assert {"patient", "diagnosticblock", "cryoablation", "followup"} <= {kind for kind, _ in b_rows}
    assert not (rows & b_rows)
    # and the page names site A's patient, never site B's
    assert page.status_code == 200
    assert patient_a.mrn in page.text and patient_b.mrn not in page.text


@pytest.mark.parametrize("name", AUDIT_URLS)
def test_another_sites_mrn_in_the_patient_filter_is_refused_as_an_unknown_one(
    client, admin_a, patient_a, patient_b, name
):
    # given an admin of site A
    client.force_login(admin_a)
    # when they filter by site B's patient's MRN, and by an MRN no patient has
    other = client.get(reverse(name), {"patient": patient_b.mrn})
    unknown = client.get(reverse(name), {"patient": "NO-SUCH-MRN"})
    own = client.get(reverse(name), {"patient": patient_a.mrn})
    # then both are the same field error, and their own patient's MRN is a filter
    assert other.status_code == unknown.status_code == 400
    assert "No patient has this MRN." in other.content.decode()
    assert _without_csrf(other).replace(patient_b.mrn, "NO-SUCH-MRN") == _without_csrf(unknown)
    assert own.status_code == 200


def _without_csrf(response) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", response.content.decode())


def _queries(client, name: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse(name))
        assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("name", ["audit:access_log", "audit:change_history"])
def test_the_scoped_pages_read_as_many_queries_whatever_their_patients(client, admin_a, site_a, patient_b, name):
    # given one patient of site A, viewed
    _views_of(PatientFactory(site=site_a), actor="nurse-a")
    client.force_login(admin_a)
    client.get(reverse(name))  # the session's and the caches' first reads
    one = _queries(client, name)
    # when four more are, and site B's patient too
    for _ in range(4):
        _views_of(PatientFactory(site=site_a), actor="nurse-a")
    _views_of(patient_b, actor="nurse-b")
    # then the page reads no more
    assert _queries(client, name) == one


def test_with_one_site_an_admin_of_no_site_reads_every_event(client, admin_user):
    # given the registry's one site, two patients viewed, and an admin who is no site's member
    first, second = PatientFactory(), PatientFactory()
    _views_of(first, actor="nurse")
    _views_of(second, actor="nurse")
    assert not site_network() and not Site.objects.filter(members=admin_user).exists()
    client.force_login(admin_user)
    # when
    access = _csv(client, "audit:access_log_csv", user="nurse")
    changes = {(row[1], row[2]) for row in _csv(client, "audit:change_history_csv", object_type="patient")}
    filtered = client.get(reverse("audit:access_log"), {"patient": second.mrn})
    # then every patient's events are read, and either patient is a filter
    assert {row[8] for row in access} == {str(first.pk), str(second.pk)}
    assert {("patient", str(first.pk)), ("patient", str(second.pk))} <= changes
    assert filtered.status_code == 200 and [e.patient_id for e in filtered.context["events"]] == [second.pk]


def test_a_deleted_patients_events_stay_on_the_audit_pages_of_the_site_they_had(client, admin_a, site_a, patient_b):
    # given a patient of site A, viewed, then deleted (from the shell: no page deletes a patient)
    gone = PatientFactory(site=site_a)
    gone_id = gone.pk
    _views_of(gone, actor="nurse-a")
    gone.delete()
    admin_b = UserFactory(role=Role.ADMIN, is_staff=True)
    patient_b.site.members.add(admin_b)
    # when site A's admin and site B's read the access log and the change history
    client.force_login(admin_a)
    a_access = {row[8] for row in _csv(client, "audit:access_log_csv", user="nurse-a")}
    a_changes = {(row[1], row[2], row[3]) for row in _csv(client, "audit:change_history_csv", object_type="patient")}
    client.force_login(admin_b)
    b_access = {row[8] for row in _csv(client, "audit:access_log_csv", user="nurse-a")}
    b_changes = {(row[1], row[2]) for row in _csv(client, "audit:change_history_csv", object_type="patient")}
    # then site A's admin reads the view and the patient's addition and deletion; site B's reads none of them
    assert a_access == {str(gone_id)}
    assert {("patient", str(gone_id), "insert"), ("patient", str(gone_id), "delete")} <= a_changes, a_changes
    assert b_access == set() and ("patient", str(gone_id)) not in b_changes
