"""Admin audit pages and CSV exports, and the one formula-neutralising rule for CSV and XLSX cells."""

from __future__ import annotations

import csv
import datetime as dt
import io

import openpyxl
import pytest
from django.urls import reverse
from hypothesis import given, settings
from hypothesis import strategies as st

from apps.audit.csvsafe import FORMULA_STARTS, csv_stream, xlsx_append
from apps.audit.models import AccessEvent, Action
from apps.audit.services import access_record
from tests.factories import PatientFactory, UserFactory

pytestmark = pytest.mark.django_db


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(), min_size=1, max_size=5))
def test_no_csv_cell_starts_with_a_formula_character(values):
    # when
    text = "".join(csv_stream(["h"] * len(values), [values]))
    # then
    rows = list(csv.reader(io.StringIO(text, newline="")))
    for cell in rows[1]:
        assert not cell.startswith(FORMULA_STARTS), cell


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(), min_size=1, max_size=5))
def test_xlsx_files_hold_no_formula_cells(values):
    # given
    book = openpyxl.Workbook()
    xlsx_append(book.active, values)
    buffer = io.BytesIO()
    book.save(buffer)
    # when
    sheet = openpyxl.load_workbook(io.BytesIO(buffer.getvalue())).active
    # then
    for cell in sheet[1]:
        assert cell.data_type != "f"
        assert not (isinstance(cell.value, str) and cell.value.startswith(FORMULA_STARTS))


def test_an_admin_finds_who_opened_a_patient_and_downloads_the_csv(client, admin_user):
    # given
    patient = PatientFactory()
    nurse = UserFactory(username="nurse.jones", role="staff")
    viewer = PatientFactory()
    access_record(actor=nurse, action=Action.VIEW, category="clinical", object_type="patient", patient_id=patient.pk)
    access_record(actor=nurse, action=Action.VIEW, category="clinical", object_type="patient", patient_id=viewer.pk)
    access_record(actor_label="=cmd|' /C calc'!A0", action=Action.SIGN_IN_FAILED, category="authentication")
    client.force_login(admin_user)
    # when
    page = client.get(reverse("audit:access_log"), {"patient": patient.mrn})
    export = client.get(reverse("audit:access_log_csv"), {"patient": patient.mrn, "action": "view"})
    # then
    assert "nurse.jones" in page.text
    body = b"".join(export.streaming_content).decode("utf-8")
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0][:2] == ["occurred_at", "actor_label"]
    assert [r[1] for r in rows[1:]] == ["nurse.jones"]
    assert rows[1][8] == str(patient.pk)
    # the export itself is in the access log
    assert AccessEvent.objects.filter(action=Action.EXPORT, actor=admin_user, patient_id=patient.pk).count() == 1


def test_formula_text_in_the_access_log_is_neutralised_in_the_export(client, admin_user):
    access_record(actor_label='=HYPERLINK("x")', action=Action.SIGN_IN_FAILED, category="authentication")
    client.force_login(admin_user)
    body = b"".join(client.get(reverse("audit:access_log_csv"), {"action": "sign_in_failed"}).streaming_content)
    assert "'=HYPERLINK" in body.decode()


def test_the_change_history_export_has_before_and_after(client, admin_user):
    # given
    patient = PatientFactory(last_name="Old")
    type(patient).objects.filter(pk=patient.pk).update(last_name="New")
    client.force_login(admin_user)
    # when
    response = client.get(reverse("audit:change_history_csv"), {"patient": patient.mrn})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    # then
    update = next(r for r in rows[1:] if r[3] == "update")
    assert '"last_name": "Old"' in update[6] and '"last_name": "New"' in update[7]


def test_admins_see_who_looked_at_a_patient_on_the_patient_page(client, admin_user, staff_user):
    # given
    patient = PatientFactory()
    client.force_login(staff_user)
    client.get(reverse("patients:detail", args=[patient.public_id]))
    staff_page = client.get(reverse("patients:detail", args=[patient.public_id]))
    # when
    client.force_login(admin_user)
    admin_page = client.get(reverse("patients:detail", args=[patient.public_id]))
    # then
    assert "Who looked at this patient" not in staff_page.text
    assert "Who looked at this patient" in admin_page.text
    assert staff_user.username in admin_page.text


def test_date_range_filter(client, admin_user):
    old = access_record(actor_label="old", action=Action.VIEW, category="clinical")
    AccessEvent.objects.filter(pk=old.pk)  # rows cannot be updated: create a dated one instead
    AccessEvent.objects.create(
        actor_label="lastweek",
        action=Action.VIEW,
        category="clinical",
        occurred_at=dt.datetime(2026, 1, 5, tzinfo=dt.UTC),
    )
    client.force_login(admin_user)
    page = client.get(reverse("audit:access_log"), {"date_from": "2026-01-04", "date_to": "2026-01-06"})
    assert "lastweek" in page.text and ">old<" not in page.text
