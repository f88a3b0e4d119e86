"""Report runs: asked for on the web, built by a real Celery worker on Redis into PDF, CSV and XLSX, downloaded
with an access event each; the monthly runs and their email."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from pathlib import Path

from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from apps.accounts.models import Role
from apps.audit.models import AccessEvent, Action
from apps.reports import services
from apps.reports.models import ReportRun
from tests.factories import UserFactory
from tests.helpers import wait_until

SAMPLE = Path(__file__).resolve().parent.parent / "fixtures" / "registry-sample"
WAIT_SECONDS = 60  # a generous ceiling; a run of the sample takes about a second


def test_a_report_asked_for_on_the_web_is_built_by_a_worker_and_downloaded(live_worker):
    # given the sample registry and a physician signed in
    call_command("import_registry", str(SAMPLE), stdout=io.StringIO())
    physician = UserFactory(role=Role.PHYSICIAN, email="doctor@example.org")
    client = Client()
    client.force_login(physician)

    # when they ask for the whole clinic's report
    response = client.post(reverse("reports:run_new"), {"physician": "", "nerve": "", "date_from": "", "date_to": ""})
    run = ReportRun.objects.get()
    assert response["Location"] == reverse("reports:run", args=[run.public_id])
    page = client.get(response["Location"])
    built = wait_until(lambda: ReportRun.objects.get().finished, seconds=WAIT_SECONDS)

    # then the page polls a passive status endpoint, the worker built three files, each download is logged
    assert b"js/report-progress.js" in page.content
    run.refresh_from_db()
    assert built and run.status == ReportRun.Status.DONE, (run.status, run.step)
    status = client.get(reverse("reports:run_status", args=[run.public_id]))
    assert status.json()["status"] == "done" and status.json()["progress"] == 100
    assert not status.cookies, "the status poll must not renew the session"
    last = AccessEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    files = {}
    for fmt in ("pdf", "csv", "xlsx"):
        download = client.get(reverse(f"reports:run_{fmt}", args=[run.public_id]))
        assert download.status_code == 200
        files[fmt] = b"".join(download.streaming_content)
    events = list(AccessEvent.objects.filter(id__gt=last).order_by("id"))
    assert [(e.action, e.detail.get("format")) for e in events] == [
        (Action.EXPORT, "pdf"),
        (Action.EXPORT, "csv"),
        (Action.EXPORT, "xlsx"),
    ]
    assert files["pdf"].startswith(b"%PDF")
    # the CSV holds the report's rows, as outcomes_report --format csv prints them
    out = io.StringIO()
    call_command("outcomes_report", "--format", "csv", "--as-of", run.as_of.isoformat(), stdout=out)
    assert files["csv"].decode() == out.getvalue()
    rows = list(csv.reader(io.StringIO(files["csv"].decode())))
    assert rows[0][:4] == ["section", "version", "as_of", "threshold_percent"]
    workbook = load_workbook(io.BytesIO(files["xlsx"]))
    assert workbook.sheetnames == [
        "funnel",
        "response",
        "threshold_bands",
        "durability",
        "repeat",
        "adverse_events",
        "instruments",
        "opioids",
    ]
    for sheet in workbook:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{sheet.title}!{cell.coordinate} is a formula"


def test_xlsx_never_writes_a_formula(db):
    # given a report whose text starts like a formula (a group named by a username, e.g. "=cmd")
    from apps.reports.exports import report_xlsx

    data = {
        "version": 2,
        "as_of": "2026-06-30",
        "threshold_percent": 50,
        "funnel": [{"group": "physician:=1+1", "blocks": 1}],
        "response": [{"group": "=HYPERLINK(1)", "time_point": "3m", "rate": None}],
        "threshold_bands": [],
        "durability": [{"group": "overall", "treatments": 0, "events": 0, "median_days": None}],
        "repeat": [],
        "adverse_events": [{"group": "@SUM(1)", "treatments": 1}],
        "instruments": [],
        "opioids": [],
    }
    # when
    workbook = load_workbook(io.BytesIO(report_xlsx(data)))
    # then
    assert workbook["response"]["E2"].value == "'=HYPERLINK(1)"
    assert workbook["adverse_events"]["E2"].value == "'@SUM(1)"
    assert all(c.data_type != "f" for s in workbook for r in s.iter_rows() for c in r)


def test_monthly_runs_one_per_physician_and_month_and_an_email_with_a_link_only(
    db, settings, monkeypatch, django_capture_on_commit_callbacks
):
    # given two active physicians and an inactive one; the build runs in this process (the worker is tested above)
    from celery import current_app

    settings.SITE_URL = "https://registry.example.org"

    def build_here(name, args):
        assert name == "apps.reports.tasks.report_run_build"
        services.report_run_build(run_id=args[0])

    monkeypatch.setattr(current_app, "send_task", build_here)
    doctors = [UserFactory(role=Role.PHYSICIAN, email=f"dr{n}@example.org") for n in range(2)]
    UserFactory(role=Role.PHYSICIAN, is_active=False)

    # when beat fires twice on 1 July
    with django_capture_on_commit_callbacks(execute=True):
        first = services.report_runs_monthly(today=dt.date(2026, 7, 1))
    with django_capture_on_commit_callbacks(execute=True):
        second = services.report_runs_monthly(today=dt.date(2026, 7, 1))

    # then one run per active physician for June: the procedures of the 12 months up to June, as of 1 July (so
    # with the time points closed by then), built and announced once, the email holding a link and no figures
    runs = ReportRun.objects.filter(kind=ReportRun.Kind.MONTHLY)
    assert len(first) == 2 and second == []
    assert sorted(runs.values_list("physician_id", flat=True)) == sorted(d.pk for d in doctors)
    assert set(runs.values_list("date_from", "date_to", "as_of")) == {
        (dt.date(2025, 7, 1), dt.date(2026, 6, 30), dt.date(2026, 7, 1))
    }
    assert all(r.status == ReportRun.Status.DONE and r.emailed_at for r in runs)
    assert sorted(m.to[0] for m in mail.outbox) == sorted(d.email for d in doctors)
    for message in mail.outbox:
        run = runs.get(physician__email=message.to[0])
        assert f"https://registry.example.org{reverse('reports:run', args=[run.public_id])}" in message.body
        assert "%" not in message.body and "MRN" not in message.body


def test_the_pdf_names_the_clinic_though_a_worker_builds_it_without_a_request(db, settings, monkeypatch):
    # given the clinic's name, and the HTML the PDF is made from captured
    import weasyprint

    from apps.reports import outcomes
    from apps.reports.exports import report_pdf

    settings.CLINIC_NAME = "Riverside Pain Clinic"
    rendered = []
    real_html = weasyprint.HTML
    monkeypatch.setattr(
        weasyprint, "HTML", lambda string, **kw: rendered.append(string) or real_html(string=string, **kw)
    )

    # when
    pdf = report_pdf(
        outcomes.dashboard_compute(filters=outcomes.outcomes_filters()), title="Outcomes report", context={}
    )

    # then
    assert pdf.startswith(b"%PDF")
    assert "Riverside Pain Clinic · time points closed before" in rendered[0]


def test_past_report_runs_are_listed_with_who_asked_their_filters_in_words_status_and_files(db, client):
    # given a physician's finished run of one nerve and side in a date range, and a monthly run still queued
    from apps.clinic.models import Nerve

    doctor = UserFactory(role=Role.PHYSICIAN, first_name="Ana", last_name="Hale")
    nerve = Nerve.objects.get(code="superior_cluneal")
    ready = services.report_run_request(
        requested_by=doctor, nerve=nerve, side="left", date_from=dt.date(2025, 1, 1), date_to=dt.date(2025, 12, 31)
    )
    ReportRun.objects.filter(pk=ready.pk).update(
        status=ReportRun.Status.DONE, pdf_file="x/report.pdf", csv_file="x/report.csv", xlsx_file="x/report.xlsx"
    )
    queued = services.report_run_request(requested_by=None, physician=doctor, kind=ReportRun.Kind.MONTHLY)
    client.force_login(doctor)

    # when they open the list of report runs, which the dashboard links to
    dashboard = client.get(reverse("reports:dashboard")).content.decode()
    response = client.get(reverse("reports:runs"))

    # then each run says who asked, its filters in words, its status, and the finished one's files
    assert reverse("reports:runs") in dashboard
    html = response.content.decode()
    rows = dict(re.findall(r'<tr data-run="([^"]+)">(.*?)</tr>', html, re.S))
    text = {run: re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)) for run, row in rows.items()}
    assert "Ana Hale" in text[str(ready.public_id)]
    assert (
        "Superior cluneal · left side · procedures from 1 January 2025 to 31 December 2025"
        in text[str(ready.public_id)]
    )
    assert "Ready" in text[str(ready.public_id)]
    for name in ("run_pdf", "run_csv", "run_xlsx"):
        assert reverse(f"reports:{name}", args=[ready.public_id]) in rows[str(ready.public_id)]
    assert "monthly schedule" in text[str(queued.public_id)] and "Ana Hale" in text[str(queued.public_id)]
    assert "Queued" in text[str(queued.public_id)]
    assert "report.pdf" not in rows[str(queued.public_id)]


def test_the_list_of_report_runs_is_paginated(db, client):
    # given more runs than a page holds
    doctor = UserFactory(role=Role.PHYSICIAN)
    for _ in range(30):
        services.report_run_request(requested_by=doctor)
    client.force_login(doctor)

    # when
    first = client.get(reverse("reports:runs")).content.decode()
    second = client.get(reverse("reports:runs"), {"page": "2"}).content.decode()
    bad = client.get(reverse("reports:runs"), {"page": "x\x00"})

    # then 25 on the first page, the other 5 on the second, and a page number that is no number shows the first
    assert first.count("<tr data-run=") == 25 and "?page=2" in first
    assert second.count("<tr data-run=") == 5
    assert bad.status_code == 200 and bad.content.decode().count("<tr data-run=") == 25


def test_staff_cannot_list_report_runs(db, client):
    client.force_login(UserFactory(role=Role.STAFF))
    assert client.get(reverse("reports:runs")).status_code == 403
