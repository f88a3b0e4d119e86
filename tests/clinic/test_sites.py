"""Sites (issue 18): a single-clinic registry has one site and works as before; a network names each patient's site,
and each patient's messages come from their site."""

from __future__ import annotations

import datetime as dt
import importlib
from typing import NamedTuple

import pytest
from django.apps import apps
from django.contrib.auth.models import Group
from django.core import mail
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import Role, User
from apps.clinic.models import Site
from apps.clinic.selectors import protocol_get
from apps.patients.models import Patient
from apps.registry import bulk
from apps.reminders.models import Message, MessageStatus
from apps.reminders.services import messages_send
from tests.factories import PatientFactory, UserFactory, make_ablation, make_reachable_patient
from tests.reminders.conftest import fake_sms  # noqa: F401 - the fake SMS transport fixture
from tests.sms.test_services import reply

pytestmark = pytest.mark.django_db

ONE_SITE_ONLY = "clinic_only_site: the registry has 2 sites; name the site of the patient"


class CopiedPatient(NamedTuple):
    mrn: str
    first_name: str
    last_name: str
    date_of_birth: dt.date


def site_create(*args) -> None:
    importlib.import_module("apps.clinic.migrations.0006_site").site_create(*args)


@pytest.fixture
def no_quiet_hours():
    protocol = protocol_get()
    protocol.quiet_start_hour = protocol.quiet_end_hour = 0
    protocol.save()


def invitation_sent(patient: Patient) -> Message:
    """A treatment done two weeks ago and its 2-week invitation sent, by the patient's channel."""
    now = timezone.now()
    ablation = make_ablation(patient=patient, performed_on=timezone.localdate(now) - dt.timedelta(days=14))
    message = Message.objects.create(
        patient=patient, follow_up=ablation.follow_ups.get(time_point="2w"), kind="invitation", due_at=now
    )
    messages_send(message_ids=[message.pk], now=now)
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT, message.detail
    return message


# ---------------------------------------------------------------------------------------------------------------
# The migration and the database's default


def test_the_migration_made_the_one_site_from_the_settings(settings):
    # given the migrated database
    # when
    sites = list(Site.objects.all())
    # then
    assert [(s.name, s.time_zone, s.is_active) for s in sites] == [(settings.CLINIC_NAME, settings.TIME_ZONE, True)]


def test_the_migration_makes_every_existing_user_a_member():
    # given users of a registry before sites
    Site.objects.all().delete()
    users = [UserFactory(), UserFactory()]
    # when
    site_create(apps, None)
    # then
    site = Site.objects.get()
    assert set(site.members.all()) == set(users)


def test_a_patient_created_without_a_site_is_in_the_only_site():
    # given the registry's one site
    site = Site.objects.get()
    # when
    patient = PatientFactory()
    # then
    assert patient.site == site
    assert Patient.objects.get(pk=patient.pk).site_id == site.pk


def test_the_bulk_writers_copy_leaves_the_site_to_the_databases_default():
    # given the registry's one site
    site = Site.objects.get()
    # when
    ids = bulk.rows_copy(Patient, [CopiedPatient("B1", "Ana", "Diaz", dt.date(1970, 1, 2))])
    # then
    assert Patient.objects.get(pk=ids[0]).site == site


def test_in_a_network_a_patient_without_a_site_is_refused_with_the_functions_message():
    # given a second site
    north = Site.objects.create(name="North Clinic")
    # when / then
    with transaction.atomic(), pytest.raises(IntegrityError, match=ONE_SITE_ONLY):
        PatientFactory()
    # and naming the site is enough
    assert PatientFactory(site=north).site == north


def test_with_no_site_at_all_a_patient_without_a_site_is_refused():
    # given
    Site.objects.all().delete()
    # when / then
    with transaction.atomic(), pytest.raises(IntegrityError, match="the registry has 0 sites"):
        PatientFactory()


def test_a_site_is_not_deleted_while_it_has_patients():
    # given
    patient = PatientFactory()
    # when / then
    with transaction.atomic(), pytest.raises(ProtectedError):
        patient.site.delete()


# ---------------------------------------------------------------------------------------------------------------
# Messages follow the patient's site


def test_a_sites_messages_carry_its_name_and_leave_from_its_address_and_number(no_quiet_hours, fake_sms):  # noqa: F811
    # given a network whose second site has its own name and senders
    north = Site.objects.create(name="North Clinic", email_from="north@example.org", sms_from="+12125550177")
    by_email = make_reachable_patient(site=north)
    by_sms = make_reachable_patient(site=north, preferred_channel="sms", mobile_phone="+12125550101")
    # when
    invitation_sent(by_email)
    invitation_sent(by_sms)
    # then
    email, sms = mail.outbox[-1], fake_sms.sent[-1]
    assert email.from_email == "north@example.org" and email.subject.startswith("North Clinic:")
    assert sms.sender == "+12125550177" and sms.body.startswith("North Clinic ")


def test_a_sites_blank_senders_are_the_settings(settings, no_quiet_hours, fake_sms):  # noqa: F811
    # given the one site, its senders left blank
    settings.DEFAULT_FROM_EMAIL, settings.TWILIO_FROM_NUMBER = "registry@example.org", "+12125550100"
    Site.objects.update(name="Cluneal Clinic")
    # when
    invitation_sent(make_reachable_patient())
    invitation_sent(make_reachable_patient(preferred_channel="sms", mobile_phone="+12125550101"))
    # then
    email, sms = mail.outbox[-1], fake_sms.sent[-1]
    assert email.from_email == "registry@example.org" and "Cluneal Clinic" in email.body
    assert sms.sender == "+12125550100" and "Cluneal Clinic" in sms.body


def test_a_text_from_an_unknown_number_is_answered_from_the_only_site(fake_sms):  # noqa: F811
    # given
    Site.objects.update(name="Cluneal Clinic", sms_from="+12125550177")
    # when
    reply("+12125550999", "HELP")
    # then
    assert fake_sms.sent[-1].sender == "+12125550177" and "Cluneal Clinic" in fake_sms.sent[-1].body


def test_a_patients_text_is_answered_from_their_sites_number(fake_sms):  # noqa: F811
    # given a network, and a patient of its second site
    north = Site.objects.create(name="North Clinic", sms_from="+12125550177")
    make_reachable_patient(site=north, preferred_channel="sms", mobile_phone="+12125550101")
    # when
    reply("+12125550101", "STOP")
    # then
    assert fake_sms.sent[-1].sender == "+12125550177" and fake_sms.sent[-1].body.startswith("North Clinic:")


# ---------------------------------------------------------------------------------------------------------------
# Users


def user_add(client, **fields) -> object:
    data = {"username": "new.nurse", "password1": "a-long-passphrase-9", "password2": "a-long-passphrase-9"}
    data.update({"usable_password": "true", **fields})
    return client.post(reverse("admin:accounts_user_add"), data)


def test_a_new_user_joins_the_only_site(client, admin_user):
    # given a single-clinic registry, whose user form has no sites to choose
    client.force_login(admin_user)
    assert "sites" not in client.get(reverse("admin:accounts_user_add")).context["adminform"].form.fields
    # when
    response = user_add(client)
    # then
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert list(User.objects.get(username="new.nurse").sites.all()) == [Site.objects.get()]


def test_in_a_network_the_user_form_requires_the_users_sites(client, admin_user):
    # given a network
    north = Site.objects.create(name="North Clinic")
    client.force_login(admin_user)
    # when no site is chosen
    refused = user_add(client)
    # then
    assert "sites" in refused.context["adminform"].form.errors
    assert not User.objects.filter(username="new.nurse").exists()
    # when one is
    response = user_add(client, sites=[north.pk])
    # then
    assert response.status_code == 302
    assert list(User.objects.get(username="new.nurse").sites.all()) == [north]


def test_in_a_network_the_user_form_changes_the_users_sites(client, admin_user):
    # given a network and a member of its first site
    north = Site.objects.create(name="North Clinic")
    nurse = UserFactory(role=Role.STAFF)
    Site.objects.exclude(pk=north.pk).get().members.add(nurse)
    client.force_login(admin_user)
    # when
    data = {
        "username": nurse.username,
        "is_active": "on",
        "groups": [Group.objects.get(name=Role.STAFF).pk],
        "date_joined_0": "2026-01-05",
        "date_joined_1": "09:00:00",
        "sites": [north.pk],
    }
    response = client.post(reverse("admin:accounts_user_change", args=[nurse.pk]), data)
    # then
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert list(nurse.sites.all()) == [north]
