"""Sites, the second guard (issue 18): PostgreSQL's row-level security (apps.clinic.row_security). As the role
painreg_scoped with painreg.sites set, a query that names no site still finds only those sites' patients and
records, and cannot write another site's; a network's signed-in request runs so, and leaves its connection as it
found it."""

from __future__ import annotations

import datetime as dt
from functools import reduce
from operator import or_

import pytest
from django.db import DatabaseError, connection, transaction
from django.db.models import Model, Q
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import Role, User
from apps.adverse_events.models import AdverseEvent
from apps.api.services import token_issue
from apps.blocks.models import DiagnosticBlock, DiaryEntry
from apps.clinic import row_security
from apps.clinic.models import Site
from apps.clinic.row_security import connection_scope, connection_unscope
from apps.cryoablations.models import Cryoablation, FollowUp
from apps.medications.models import MedicationStatement
from apps.patients import selectors
from apps.patients.models import Patient
from apps.patients.selectors import patients_visible_to
from apps.reminders.models import Kind, Message, MessageStatus
from apps.sms.models import InboundSms
from apps.surveys.models import SurveyLink, SurveyResponse
from apps.surveys.services import response_record
from tests.factories import BlockFactory, PatientFactory, UserFactory, make_ablation, make_survey_link
from tests.patients.test_sites_patients import VALID
from tests.test_urls_access import make_objects

pytestmark = pytest.mark.django_db

# Each clinical table the policies guard, and the model that reads it.
GUARDED = [
    Patient,
    DiagnosticBlock,
    DiaryEntry,
    Cryoablation,
    FollowUp,
    SurveyResponse,
    SurveyLink,
    AdverseEvent,
    MedicationStatement,
    InboundSms,
    Message,
]


@pytest.fixture
def objects(db) -> dict:
    """Site B's patient with one of each record (tests/test_urls_access.py) and an invitation sent with its link, made
    while it is the only site."""
    objects = make_objects()
    follow_up = objects["follow-up"]
    link, _ = make_survey_link(follow_up=follow_up)
    Message.objects.create(
        patient=objects["patient"],
        follow_up=follow_up,
        kind=Kind.INVITATION,
        due_at=timezone.now(),
        status=MessageStatus.SENT,
        sent_at=timezone.now(),
        channel="email",
        link=link,
    )
    return objects


@pytest.fixture
def site_b(objects) -> Site:
    return Site.objects.get()


@pytest.fixture
def site_a(site_b) -> Site:
    """A second site: the registry becomes a network."""
    return Site.objects.create(name="Site A")


@pytest.fixture
def patient_a(site_a) -> Patient:
    """Site A's patient, with a block (and its diary), a treatment (its follow-ups) and a survey answer."""
    patient = PatientFactory(site=site_a)
    BlockFactory(patient=patient, diary=[(15, 3)])
    ablation = make_ablation(patient=patient)
    response_record(
        ablation=ablation, completed_at=timezone.now() - dt.timedelta(days=12), pain_average=4, collected_via="phone"
    )
    return patient


@pytest.fixture
def user_a(site_a) -> User:
    user = UserFactory(role=Role.STAFF)
    site_a.members.add(user)
    return user


def _login(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _of_site(model: type[Model], site: Site) -> int:
    """The rows of `model` whose patient is at `site`, counted as the application's rule does (patient_paths)."""
    paths = {DiaryEntry: ("block__patient__",)}.get(model) or getattr(model, "patient_paths", ("patient__",))
    return model._default_manager.filter(reduce(or_, (Q(**{f"{path}site": site}) for path in paths))).count()


def _raw_counts() -> dict[str, int]:
    """A raw count of each guarded table: no site named anywhere."""
    counts = {}
    with connection.cursor() as cursor:
        for model in GUARDED:
            cursor.execute(f"SELECT count(*) FROM {model._meta.db_table}")  # noqa: S608 (a model's table name)
            counts[model._meta.db_table] = cursor.fetchone()[0]
    return counts


def _role_and_sites() -> tuple[bool, str | None]:
    """Whether the connection runs as its own user, and its painreg.sites."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user = session_user, current_setting('painreg.sites', true)")
        return cursor.fetchone()


def test_a_raw_query_as_a_sites_scope_counts_only_its_rows(objects, site_a, site_b, patient_a):
    # given a patient of each site with their records, and each table's rows per site, as the application counts them
    expected = {model._meta.db_table: _of_site(model, site_a) for model in GUARDED}
    of_b = {model._meta.db_table: _of_site(model, site_b) for model in GUARDED}
    everything = _raw_counts()
    assert all(of_b.values()), of_b
    assert {t: n for t, n in expected.items() if not n} == {
        "adverse_events_adverseevent": 0,
        "medications_medicationstatement": 0,
        "sms_inboundsms": 0,
        "reminders_message": 0,
        "surveys_surveylink": 0,
    }
    # when the connection is scoped to site A
    connection_scope(connection, [site_a.pk])
    try:
        scoped = _raw_counts()
    finally:
        connection_unscope(connection)
    # then each raw count is site A's, none of site B's
    assert scoped == expected
    # and with no scope, every row again
    assert _raw_counts() == everything
    assert everything == {t: expected[t] + of_b[t] for t in everything}


def test_as_the_role_with_no_sites_set_every_row_is_seen(objects, site_a, patient_a):
    # given the registry's rows, counted as the application's user
    everything = _raw_counts()
    # when the connection runs as painreg_scoped with no painreg.sites (empty: a request's, put back; or never set)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL ROLE painreg_scoped")
        cursor.execute("SELECT current_user, coalesce(current_setting('painreg.sites', true), '')")
        assert cursor.fetchone() == ("painreg_scoped", "")
        # then every row is seen
        assert _raw_counts() == everything


def test_a_user_of_no_site_sees_no_patient(objects, site_a, patient_a):
    # when scoped to no site
    connection_scope(connection, [])
    try:
        counts = _raw_counts()
    finally:
        connection_unscope(connection)
    # then no patient nor record, but the texts from numbers no patient has (none here)
    assert set(counts.values()) == {0}


def test_another_sites_patient_can_be_neither_given_a_block_nor_changed(objects, site_a, patient_a):
    # given site B's patient, and a physician
    other = objects["patient"]
    physician = UserFactory(role=Role.PHYSICIAN)
    connection_scope(connection, [site_a.pk])
    try:
        # when a block is written for site B's patient
        with pytest.raises(DatabaseError, match="row-level security"), transaction.atomic():
            BlockFactory(patient=other, physician=physician)
        # and site B's patient is changed, and moved to site A
        renamed = Patient.objects.filter(pk=other.pk).update(last_name="Changed")
        # while site A's patient gets their block
        BlockFactory(patient=patient_a, physician=physician)
        # then nothing of site B's was written
        with pytest.raises(DatabaseError, match="row-level security"), transaction.atomic():
            Patient.objects.filter(pk=patient_a.pk).update(site=objects["patient"].site)
    finally:
        connection_unscope(connection)
    assert renamed == 0
    assert DiagnosticBlock.objects.filter(patient=other).count() == 1
    assert Patient.objects.get(pk=other.pk).last_name == other.last_name
    assert DiagnosticBlock.objects.filter(patient=patient_a).count() == 2


def test_a_networks_request_leaves_its_connection_unscoped(objects, site_a, patient_a, user_a):
    # when a user of site A opens a page
    response = _login(user_a).get(reverse("patients:list"))
    # then the connection is back to its own user, with no scope
    assert response.status_code == 200
    assert _role_and_sites() == (True, "")


def test_a_streamed_csv_is_scoped_until_its_last_row_and_then_put_back(objects, site_a, patient_a):
    # given an admin of site A
    admin_a = UserFactory(role=Role.ADMIN, is_staff=True)
    site_a.members.add(admin_a)
    # when they download the change history, a streamed CSV
    response = _login(admin_a).get(reverse("audit:change_history_csv"))
    # then while it streams, the connection is scoped to site A
    assert response.streaming
    assert _role_and_sites() == (False, str(site_a.pk))
    rows = b"".join(response.streaming_content).decode()
    # and once it is read, it is put back
    assert _role_and_sites() == (True, "")
    assert objects["patient"].mrn not in rows


def test_a_failing_request_is_put_back_too(objects, site_a, patient_a, user_a, monkeypatch):
    # given a patient list that fails
    def fail(**kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr("apps.patients.views.patient_search", fail)
    client = _login(user_a)
    client.raise_request_exception = False
    # when a user of site A opens it
    response = client.get(reverse("patients:list"))
    # then the error page is shown and the connection is back to its own user, with no scope
    assert response.status_code == 500
    assert _role_and_sites() == (True, "")


def test_a_single_clinic_and_an_anonymous_request_are_never_scoped(objects, monkeypatch, staff_user):
    # given the registry's one site, and a record of each scoping
    scoped = []
    monkeypatch.setattr(row_security, "connection_scope", lambda connection, site_ids: scoped.append(site_ids))
    # when a signed-in user opens a page, and a visitor the sign-in page
    assert _login(staff_user).get(reverse("patients:list")).status_code == 200
    assert Client().get(reverse("accounts:login")).status_code == 200
    # then no request was scoped
    assert scoped == []


def test_a_forgotten_filter_still_shows_no_other_sites_patient(objects, site_a, patient_a, user_a, monkeypatch):
    # given the application's site rule forgotten: visible_to filters nothing
    monkeypatch.setattr(selectors, "visible_to", lambda rows, *, user: rows)
    other = objects["patient"]
    assert set(patients_visible_to(user_a)) == {other, patient_a}
    client = _login(user_a)
    # when a user of site A lists, searches and opens patients
    listed = client.get(reverse("patients:list")).context["page"]
    found = client.get(reverse("patients:list"), {"q": other.mrn}).context["page"]
    opened = client.get(reverse("patients:detail", args=[other.public_id]))
    # then the database shows them site A's patient only
    assert [p.pk for p in listed] == [patient_a.pk]
    assert list(found) == []
    assert opened.status_code == 404
    assert client.get(reverse("patients:detail", args=[patient_a.public_id])).status_code == 200


def test_a_bearer_tokens_request_is_scoped_too(objects, site_a, patient_a, user_a, monkeypatch):
    # given the application's site rule forgotten, and a token of a user of site A
    monkeypatch.setattr(selectors, "visible_to", lambda rows, *, user: rows)
    _, raw = token_issue(user=user_a, name="tests", expires_at=timezone.now() + dt.timedelta(days=1))
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    # when it lists the patients
    listed = client.get(reverse("api:patient_list")).json()["results"]
    # then only site A's patient is there, and the connection is put back
    assert [p["id"] for p in listed] == [str(patient_a.public_id)]
    assert _role_and_sites() == (True, "")


def test_another_sites_mrn_is_refused_at_the_form_naming_no_patient(objects, site_a, user_a):
    # given site B's patient's MRN
    other = objects["patient"]
    data = {**VALID, "site": site_a.pk, "mrn": other.mrn}
    # when a user of site A creates a patient with it
    response = _login(user_a).post(reverse("patients:new"), data)
    # then the form says the MRN is taken, without naming or linking the patient of site B
    assert response.status_code == 200
    assert f"MRN {other.mrn} already belongs to a patient of another site." in response.text
    assert other.last_name not in response.text
    assert Patient.objects.filter(mrn=other.mrn).count() == 1
