"""The change history page and its CSV: what an admin finds about one patient, and how it reads."""

from __future__ import annotations

import csv
import io
import re

import pghistory
import pytest
from django.urls import reverse
from django.utils import timezone

from apps.surveys.services import response_record
from tests.factories import BlockFactory, PatientFactory, make_ablation

pytestmark = pytest.mark.django_db


def _csv_rows(client, **filters) -> list[list[str]]:
    response = client.get(reverse("audit:change_history_csv"), filters)
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))[1:]


def test_the_history_of_a_patient_holds_everything_changed_about_them(client, admin_user):
    # given a patient's block with its diary, an ablation with its follow-ups, and survey answers staff saved;
    # and another patient's records
    block = BlockFactory(diary=[(15, 2), (30, 1)])
    ablation = make_ablation(patient=block.patient)
    response_record(ablation=ablation, completed_at=timezone.now(), pain_average=3, collected_via="phone")
    other = BlockFactory(diary=[(15, 5)])
    other_ablation = make_ablation(patient=other.patient)
    response_record(ablation=other_ablation, completed_at=timezone.now(), pain_average=6, collected_via="phone")
    client.force_login(admin_user)
    # when
    rows = _csv_rows(client, patient=block.patient.mrn)
    # then
    types = {row[1] for row in rows}
    assert {"patient", "diagnosticblock", "diaryentry", "cryoablation", "followup", "surveyresponse"} <= types
    for object_type in ["diaryentry", "followup", "surveyresponse"]:
        of_type = _csv_rows(client, object_type=object_type)
        mine = [row for row in of_type if row in rows]
        assert mine and len(mine) < len(of_type), object_type  # the patient's own, and not the other patient's
        assert [row for row in rows if row[1] == object_type] == mine, object_type


def test_the_action_filter_offers_the_changes_in_words_and_filters_by_them(client, admin_user):
    # given a patient added, then changed
    patient = PatientFactory(last_name="Before")
    type(patient).objects.filter(pk=patient.pk).update(last_name="After")
    client.force_login(admin_user)
    # when
    page = client.get(reverse("audit:change_history"))
    updates = _csv_rows(client, patient=patient.mrn, action="update")
    # then
    assert '<option value="update">Changed</option>' in page.text
    assert '<option value="insert">Added</option>' in page.text and "Viewed" not in page.text
    assert [row[3] for row in updates] == ["update"]


def test_an_action_of_the_access_log_is_a_field_error_not_ignored(client, admin_user):
    # given
    patient = PatientFactory()
    client.force_login(admin_user)
    # when
    page = client.get(reverse("audit:change_history"), {"action": "view"})
    export = client.get(reverse("audit:change_history_csv"), {"action": "view"})
    # then
    assert page.status_code == 400
    assert "Select a valid choice. view is not one of the available choices." in page.text
    assert patient.mrn not in page.text and "Correct the filter above" in page.text
    assert export.status_code == 400 and "Action" in export.text


def test_who_made_each_change_is_said_in_words(client, admin_user, staff_user):
    # given changes made by the demo seeding, a registry import, a patient's survey link, a sign-in and a user
    with pghistory.context(command="seed_demo", actor="system:command:seed_demo"):
        PatientFactory(mrn="DEMO-1")
    with pghistory.context(command="import_registry", actor="system:command:import_registry"):
        PatientFactory(mrn="IMPORTED-1")
    with pghistory.context(username=None, method="POST", url=reverse("surveys:answer")):
        PatientFactory(mrn="SURVEY-1")
    with pghistory.context(username=None, method="POST", url=reverse("accounts:login")):
        PatientFactory(mrn="SIGNIN-1")
    with pghistory.context(username=staff_user.username, method="POST", url="/patients/new/"):
        PatientFactory(mrn="STAFF-1")
    client.force_login(admin_user)
    # when
    page = client.get(reverse("audit:change_history"), {"object_type": "patient", "action": "insert"})
    # then
    by = {}
    for row in re.findall(r"<tr><td[^>]*>.*?</tr>", page.text):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row)
        mrn = re.search(r"Patient: ([A-Z]+-1)", cells[1])
        if mrn:
            by[mrn.group(1)] = cells[3]
    assert by == {
        "DEMO-1": "Demo data",
        "IMPORTED-1": "Registry import",
        "SURVEY-1": "Patient (survey link)",
        "SIGNIN-1": "Sign-in",
        "STAFF-1": staff_user.username,
    }
    assert "{&quot;" not in page.text and '{"' not in page.text  # no raw JSON anywhere in the table


def _page_rows(page) -> list[list[str]]:
    return [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in re.findall(r"<tr><td[^>]*>.*?</tr>", page.text, re.S)]


def test_the_history_names_records_and_fields_in_words_as_the_pages_do(client, admin_user):
    # given a patient whose reminder channel changed, and a block of theirs with a diary entry
    block = BlockFactory(diary=[(30, 2)], patient=PatientFactory(mrn="WORDS-1", email="a@example.org"))
    patient = block.patient
    type(patient).objects.filter(pk=patient.pk).update(preferred_channel="email", timezone="America/Los_Angeles")
    client.force_login(admin_user)
    # when
    page = client.get(reverse("audit:change_history"), {"patient": patient.mrn})
    export = _csv_rows(client, patient=patient.mrn)
    # then a patient is named by MRN, a block by its nerve, side and date; fields by their labels, choices by theirs
    rows = _page_rows(page)
    records = {row[1] for row in rows}
    day = timezone.localdate(block.performed_at)
    assert "Patient: WORDS-1" in records
    assert f"Diagnostic block: Superior cluneal (left) block, {day}" in records
    assert f"Pain diary entry: 30 min after the Superior cluneal (left) block, {day}" in records
    update = next(row for row in rows if row[2] == "Changed")
    assert "Preferred channel: None (phone call) → Email" in update[4]
    assert "Time zone: America/New York → America/Los Angeles" in update[4]
    assert not re.search(r"\b[a-z]+_[a-z_]+\b", page.text.split("<tbody>")[1]), "a column name or code on the page"
    assert f"Patient {patient.pk}" not in page.text
    # and the CSV carries the same words after its own columns
    csv_update = next(row for row in export if row[3] == "update")
    assert csv_update[-3] == "Patient: WORDS-1"
    assert "Preferred channel: None (phone call) → Email" in csv_update[-1]
