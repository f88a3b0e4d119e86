"""The audit pages and CSVs answer bad filters with field errors (never a 500, never a cut-off file), and name
patients and times as people read them."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
from django.http import StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone

from apps.audit.models import AccessEvent, Action, PatientEvent
from apps.audit.services import access_record
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

BAD_FILTERS = [
    ({"user": "nurse\0"}, "Null characters are not allowed."),
    ({"patient": "MRN\0"}, "Null characters are not allowed."),
    ({"date_from": "2026-13-45"}, "Enter a valid date."),
    ({"date_to": "\0"}, ""),
    ({"action": "nonsense"}, "Select a valid choice."),
    ({"patient": "NO-SUCH-MRN"}, "No patient has this MRN."),
]


@pytest.mark.parametrize(("filters", "message"), BAD_FILTERS)
@pytest.mark.parametrize("page", ["audit:access_log", "audit:change_history"])
def test_a_bad_filter_on_an_audit_page_is_a_field_error_with_no_rows(client, admin_user, page, filters, message):
    # given
    patient = PatientFactory()
    access_record(action=Action.VIEW, category="clinical", actor_label="nurse", patient_id=patient.pk)
    client.force_login(admin_user)
    events_before = AccessEvent.objects.count()
    # when
    response = client.get(reverse(page), filters)
    # then
    assert response.status_code == 400
    assert message in response.text
    assert "invalid-feedback" in response.text or "is-invalid" in response.text  # at the field
    assert patient.mrn not in response.text and "Correct the filter above" in response.text
    assert AccessEvent.objects.count() == events_before  # nothing was shown, so nothing was read


@pytest.mark.parametrize(("filters", "message"), BAD_FILTERS)
@pytest.mark.parametrize("export", ["audit:access_log_csv", "audit:change_history_csv"])
def test_a_bad_filter_on_an_audit_csv_is_refused_before_any_row(client, admin_user, export, filters, message):
    # given
    PatientFactory()
    client.force_login(admin_user)
    # when
    response = client.get(reverse(export), filters)
    # then
    assert response.status_code == 400
    assert not isinstance(response, StreamingHttpResponse)
    assert response.text.startswith("Invalid filter.") and message in response.text


def test_the_access_log_names_the_patient_by_mrn(client, admin_user):
    # given
    patient = PatientFactory(mrn="MRN-424242")
    access_record(action=Action.VIEW, category="clinical", actor_label="nurse", patient_id=patient.pk)
    client.force_login(admin_user)
    # when
    page = client.get(reverse("audit:access_log"), {"user": "nurse"})
    # then
    assert "<td>MRN-424242</td>" in page.text
    assert f"<td>{patient.pk}</td>" not in page.text
    assert "<td>Clinical</td>" in page.text


CLINIC_TIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$")


def _csv(client, name: str, **filters) -> list[list[str]]:
    response = client.get(reverse(name), filters)
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_the_audit_csvs_give_times_in_the_clinic_time_zone_with_the_offset(client, admin_user):
    # given an access event at 15:04 UTC, 10:04 in the clinic (New York, in December)
    AccessEvent.objects.create(
        actor_label="nurse",
        action=Action.VIEW,
        category="clinical",
        occurred_at=dt.datetime(2026, 12, 5, 15, 4, tzinfo=dt.UTC),
    )
    patient = PatientFactory()
    client.force_login(admin_user)
    # when
    access = _csv(client, "audit:access_log_csv", user="nurse")
    changes = _csv(client, "audit:change_history_csv", patient=patient.mrn)
    # then
    assert access[1][0] == "2026-12-05 10:04:00-05:00"
    changed_at = PatientEvent.objects.get(pgh_obj=patient).pgh_created_at
    assert changes[1][0] == timezone.localtime(changed_at).isoformat(sep=" ", timespec="seconds")
    assert CLINIC_TIME.match(changes[1][0]) and changes[1][1] == "patient"


def test_the_access_log_names_pages_records_and_system_actors_in_words(client, admin_user, staff_user):
    # given a staff member who listed the patients and opened one, and a patient who opened a survey link
    patient = PatientFactory()
    client.force_login(staff_user)
    client.get(reverse("patients:list"))
    client.get(reverse("patients:detail", args=[patient.public_id]))
    access_record(actor_label="patient:survey-link", action=Action.SURVEY_OPENED, category="survey")
    client.force_login(admin_user)
    # when
    page = client.get(reverse("audit:access_log"))
    listed = client.get(reverse("audit:access_log"), {"object_type": "patient_list"})
    # then
    table = page.text.split("<tbody>")[1]
    assert "Patient list" in table and "Patient (survey link)" in table
    assert "Patient <span" in table
    assert not re.search(r"\b[a-z]+_[a-z_]+\b|patient:", table), "an object type or actor code on the page"
    assert '<option value="patient_list">Patient list</option>' in page.text
    assert listed.status_code == 200 and "Patient list" in listed.text.split("<tbody>")[1]
    assert patient.mrn not in listed.text.split("<tbody>")[1]
