"""Celery tasks: ids only, acks_late (a run lost with its worker is delivered again), one service each."""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(ignore_result=True, acks_late=True, soft_time_limit=600, time_limit=660)
def report_run_build(run_id: int) -> None:
    services.report_run_build(run_id=run_id)


@shared_task(ignore_result=True, acks_late=True)
def reports_monthly() -> None:
    services.report_runs_monthly()


@shared_task(ignore_result=True)
def cells_compact() -> None:
    services.cells_compact()
