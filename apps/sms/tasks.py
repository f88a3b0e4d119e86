"""Celery tasks: thin, ids only (no phone number or text in Redis), idempotent."""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(ignore_result=True)
def inbound_process(inbound_id: int) -> None:
    # Safe to run twice or late: only a stored, unread message is claimed.
    services.inbound_process(inbound_id=inbound_id)


@shared_task(ignore_result=True)
def inbound_sweep() -> None:
    services.inbound_sweep()
