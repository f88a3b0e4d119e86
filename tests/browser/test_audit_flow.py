"""The compliance question in a real browser: an admin signs in with a one-time code, finds who opened a given
patient last week, and downloads that part of the access log as CSV; the download is itself in the access log."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from apps.accounts.models import Role
from apps.audit.db import verify_chains
from apps.audit.models import AccessEvent, Action, Category
from tests.browser.conftest import PASSWORD, field, one_time_code
from tests.factories import PatientFactory, UserFactory

pytestmark = pytest.mark.browser

ABORTED = "net::ERR_ABORTED"


def _open_patient_page(user, patient, when: dt.datetime) -> None:
    """`user` opens the patient's page at `when`, through the view: the audit decorator writes the event (and the
    hash-chain trigger chains it) exactly as on that day."""
    with time_machine.travel(when, tick=False):
        client = Client()
        client.force_login(user)
        response = client.get(reverse("patients:detail", args=[patient.public_id]))
        assert response.status_code == 200


def test_admin_finds_who_opened_a_patient_last_week_and_downloads_the_csv(page):
    # given: a patient that a nurse opened last week, someone else opened a month ago, and another patient
    admin = UserFactory(role=Role.ADMIN, is_staff=True, username="ada.admin", first_name="Ada", last_name="Admin")
    device = TOTPDevice.objects.create(user=admin, name="authenticator", confirmed=True)
    nurse = UserFactory(role=Role.STAFF, username="nora.nurse", first_name="Nora", last_name="Nurse")
    other = UserFactory(role=Role.STAFF, username="otto.other", first_name="Otto", last_name="Other")
    patient = PatientFactory(first_name="Rosa", last_name="Quintana")
    someone_else = PatientFactory()
    today = timezone.localdate()
    last_monday = today - dt.timedelta(days=today.weekday() + 7)
    last_sunday = last_monday + dt.timedelta(days=6)
    tuesday_10am = timezone.make_aware(dt.datetime.combine(last_monday + dt.timedelta(days=1), dt.time(10, 0)))
    _open_patient_page(nurse, patient, tuesday_10am)
    _open_patient_page(other, patient, tuesday_10am - dt.timedelta(days=30))
    _open_patient_page(other, someone_else, tuesday_10am + dt.timedelta(hours=1))

    # when: the admin signs in with password and a code from the authenticator
    page.goto("/")
    field(page, "Username").fill(admin.username)
    field(page, "Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Enter your sign-in code")).to_be_visible()
    field(page, "Code").fill(one_time_code(device))
    page.get_by_role("button", name="Verify").click()

    # and filters the access log by the patient and last week
    page.get_by_role("navigation", name="Main").get_by_role("button", name="Administration").click()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Audit").click()
    expect(page.get_by_role("heading", name="Access log")).to_be_visible()
    field(page, "Patient MRN").fill(patient.mrn)
    field(page, "From").fill(last_monday.isoformat())
    field(page, "To").fill(last_sunday.isoformat())
    page.get_by_role("button", name="Filter").click()

    # then: the nurse is the one who opened it last week; the earlier and the other patient's views are not shown
    rows = page.locator("table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(nurse.username)
    expect(rows.first).to_contain_text("Viewed")
    expect(page.locator("table")).not_to_contain_text(other.username)

    # when: the admin downloads that CSV
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download CSV").click()
    download = download_info.value

    # then: its rows name the nurse and the patient, and nothing else
    assert download.suggested_filename.startswith("access-log-") and download.suggested_filename.endswith(".csv")
    with open(download.path(), encoding="utf-8", newline="") as file:
        rows = list(csv.DictReader(io.StringIO(file.read())))
    assert len(rows) == 1, rows
    assert rows[0]["actor_label"] == nurse.username
    assert rows[0]["action"] == Action.VIEW
    assert rows[0]["patient_id"] == str(patient.pk)
    assert rows[0]["object_id"] == str(patient.public_id)
    assert rows[0]["occurred_at"].startswith(tuesday_10am.strftime("%Y-%m-%d %H:%M"))

    # and the export itself is in the access log, by the admin, about that patient, with the filters used
    exports = AccessEvent.objects.filter(action=Action.EXPORT, category=Category.AUDIT, object_type="access_log")
    assert exports.count() == 1
    export = exports.get()
    assert (export.actor_id, export.actor_label, export.patient_id) == (admin.pk, admin.username, patient.pk)
    assert last_monday.isoformat() in export.detail["filters"]
    # The admin's own steps are there too (sign-in, the filtered page), and the chain is still whole.
    assert AccessEvent.objects.filter(actor=admin, action=Action.SIGN_IN).exists()
    assert AccessEvent.objects.filter(actor=admin, action=Action.LIST, patient_id=patient.pk).exists()
    problems, _ = verify_chains()
    assert not problems, problems
    # Chromium reports a navigation that became a download as aborted: that is the download, not a failure.
    download_url = download.url
    bad = [line for line in page.bad_responses if "/favicon.ico" not in line and line != f"{download_url}: {ABORTED}"]
    assert not bad, bad
