"""Writes of the reports app: report runs asked for, built, and announced."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

from celery import current_app
from django.conf import settings
from django.core.mail import EmailMessage
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import Role, User
from apps.clinic.models import Nerve
from apps.clinic.replica import replica_reads

from . import exports, outcomes
from .channels import channel_figures
from .models import ReportRun
from .presentation import channel_rows

logger = logging.getLogger(__name__)

# A run left "running" this long was lost with its worker (acks_late hands it to another one): build it again.
STALE_AFTER = dt.timedelta(minutes=10)
MONTHLY_MONTHS = 12  # a monthly report covers the procedures of the last 12 months up to the end of last month


def report_files_root() -> Path:
    return Path(settings.REPORT_FILES_ROOT)


def report_run_request(
    *,
    requested_by: User | None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    physician: User | None = None,
    nerve: Nerve | None = None,
    side: str = "",
    treatment_kind: str = "",
    site_ids: tuple[int, ...] | None = None,
    as_of: dt.date | None = None,
    kind: str = ReportRun.Kind.REQUESTED,
) -> ReportRun:
    """A queued run (as of today unless `as_of` says otherwise); its build is enqueued once the row is committed
    (the worker must find it)."""
    run = ReportRun.objects.create(
        requested_by=requested_by,
        kind=kind,
        as_of=as_of or timezone.localdate(),
        date_from=date_from,
        date_to=date_to,
        physician=physician,
        nerve=nerve,
        side=side,
        treatment_kind=treatment_kind,
        site_ids=list(site_ids) if site_ids is not None else None,
    )
    # By the task's registered name: tasks.py calls this module, so importing it here would close an import cycle.
    transaction.on_commit(lambda: current_app.send_task("apps.reports.tasks.report_run_build", args=[run.pk]))
    logger.info("report run %s queued", run.pk)
    return run


def _progress(run_id: int, progress: int, step: str) -> None:
    ReportRun.objects.filter(pk=run_id).update(progress=progress, step=step)


def report_run_build(*, run_id: int) -> None:
    """Build the run's PDF, CSV and XLSX. Claimed by a conditional update, so a run reaching two workers (a
    redelivery) is built once; a run lost mid-build is taken again after STALE_AFTER."""
    now = timezone.now()
    claimed = (
        ReportRun.objects.filter(pk=run_id)
        .filter(_claimable(now))
        .update(status=ReportRun.Status.RUNNING, started_at=now, progress=5, step="Computing the figures")
    )
    if not claimed:
        return
    run = ReportRun.objects.select_related("physician", "nerve").get(pk=run_id)
    try:
        # The figures from the replica when there is one (apps.clinic.replica); the run's own row, claimed and
        # read above and updated below, on the primary.
        with replica_reads():
            filters = outcomes.outcomes_filters(
                as_of=run.as_of,
                date_from=run.date_from,
                date_to=run.date_to,
                physician_id=run.physician_id,
                nerve_id=run.nerve_id,
                side=run.side or None,
                kind=run.treatment_kind or None,
                site_ids=tuple(run.site_ids) if run.site_ids is not None else None,
            )
            dashboard = outcomes.dashboard_compute(filters=filters)
            channels = channel_rows(channel_figures(filters=dashboard.filters))
        data = dashboard.report.to_json()
        folder = report_files_root() / str(run.public_id)
        folder.mkdir(parents=True, exist_ok=True)
        _progress(run_id, 30, "Writing the PDF")
        pdf = exports.report_pdf(dashboard, title=report_title(run), context={"run": run, "channel_rows": channels})
        (folder / "report.pdf").write_bytes(pdf)
        _progress(run_id, 70, "Writing the CSV")
        (folder / "report.csv").write_bytes(exports.report_csv(data))
        _progress(run_id, 85, "Writing the spreadsheet")
        (folder / "report.xlsx").write_bytes(exports.report_xlsx(data))
    except Exception:
        logger.exception("report run %s failed", run_id)
        ReportRun.objects.filter(pk=run_id).update(
            status=ReportRun.Status.FAILED, finished_at=timezone.now(), step="Failed"
        )
        raise
    ReportRun.objects.filter(pk=run_id).update(
        status=ReportRun.Status.DONE,
        progress=100,
        step="Ready",
        finished_at=timezone.now(),
        pdf_file=f"{run.public_id}/report.pdf",
        csv_file=f"{run.public_id}/report.csv",
        xlsx_file=f"{run.public_id}/report.xlsx",
    )
    logger.info("report run %s built", run_id)
    if run.kind == ReportRun.Kind.MONTHLY:
        report_run_announce(run_id=run_id)


def _claimable(now: dt.datetime) -> Q:
    return Q(status=ReportRun.Status.QUEUED) | Q(status=ReportRun.Status.RUNNING, started_at__lt=now - STALE_AFTER)


def report_title(run: ReportRun) -> str:
    parts = ["Outcomes report"]
    if run.physician:
        parts.append(run.physician.display_name)
    if run.nerve:
        parts.append(run.nerve.name)
    if run.side:
        parts.append(f"{run.get_side_display()} side")
    if run.treatment_kind:
        parts.append(run.get_treatment_kind_display())
    if run.date_from or run.date_to:
        parts.append(f"{run.date_from or '…'} to {run.date_to or '…'}")
    return " · ".join(parts)


def report_runs_monthly(*, today: dt.date | None = None) -> list[int]:
    """The monthly report of every active physician (ids of the runs queued): their procedures of the
    MONTHLY_MONTHS months up to the end of last month, as of today, so that it holds the time points closed by
    then (last month's procedures alone have none). Safe to call twice: one run per physician and month (a unique
    constraint)."""
    today = today or timezone.localdate()
    last_day = today.replace(day=1) - dt.timedelta(days=1)
    months_back = last_day.year * 12 + last_day.month - MONTHLY_MONTHS  # months since year 0 of the first month
    first_day = dt.date(months_back // 12, months_back % 12 + 1, 1)
    queued = []
    for physician in User.objects.filter(groups__name=Role.PHYSICIAN, is_active=True).order_by("pk"):
        try:
            with transaction.atomic():
                run = report_run_request(
                    requested_by=None,
                    physician=physician,
                    date_from=first_day,
                    date_to=last_day,
                    as_of=today,
                    kind=ReportRun.Kind.MONTHLY,
                )
        except IntegrityError:
            continue
        queued.append(run.pk)
    return queued


def report_run_announce(*, run_id: int) -> bool:
    """Email the physician a link to their monthly report: no figures, no patient data, only the link."""
    claimed = ReportRun.objects.filter(pk=run_id, emailed_at__isnull=True, status=ReportRun.Status.DONE).update(
        emailed_at=timezone.now()
    )
    if not claimed:
        return False
    run = ReportRun.objects.select_related("physician").get(pk=run_id)
    if not run.physician or not run.physician.email:
        return False
    link = settings.SITE_URL + reverse("reports:run", args=[run.public_id])
    month = run.date_to.strftime("%B %Y") if run.date_to else ""
    body = (
        f"Your monthly outcomes report for {month} is ready in the {settings.CLINIC_NAME} registry:\n\n{link}\n\n"
        "Sign in to open it."
    )
    EmailMessage(f"Monthly outcomes report {month}", body, settings.DEFAULT_FROM_EMAIL, [run.physician.email]).send()
    logger.info("report run %s announced", run_id)
    return True


def cells_compact() -> None:
    """Merge the rows of every cell of the counts into one (reports_cells_compact, reports migration 0015): one
    statement, so one transaction, and the figures read the same sums before and after."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT reports_cells_compact()")
