"""Celery tasks: thin, ids only (no patient data in Redis), idempotent."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from . import services


@shared_task(ignore_result=True)
def reminders_sweep() -> None:
    services.sweep(now=timezone.now())


@shared_task(ignore_result=True)
def message_send(message_id: int) -> None:
    # Safe to run twice or late: the service's conditional update lets only a queued, due row through.
    services.message_send(message_id=message_id)


@shared_task(ignore_result=True)
def messages_send(message_ids: list[int]) -> None:
    # A batch of ids from one sweep: the same guarantees as message_send, for each id.
    services.messages_send(message_ids=message_ids)
