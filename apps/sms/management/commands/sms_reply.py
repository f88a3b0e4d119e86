"""`manage.py sms_reply +15551234567 "3"`: a patient's text message without a provider (make run, tests), through
the webhook's own path (sms.services.inbound_receive), then read at once (the worker's task finds it read)."""

from __future__ import annotations

import uuid

from django.core.management.base import BaseCommand, CommandError

from apps.sms.services import RateLimited, inbound_process, inbound_receive


class Command(BaseCommand):
    help = "Simulate a text message from a number, as if it came through the SMS provider's webhook."

    def add_arguments(self, parser):
        parser.add_argument("number", help="The sender's number, e.g. +15551234567")
        parser.add_argument("body", help='The text, e.g. "3" or "STOP"')
        parser.add_argument(
            "--queue-only",
            action="store_true",
            help="Store it and leave the reading to the worker, as the webhook does",
        )

    def handle(self, *args, number: str, body: str, queue_only: bool, **options):
        try:
            received = inbound_receive(
                provider="console", provider_message_id=f"console-{uuid.uuid4()}", from_number=number, body=body
            )
        except RateLimited as error:
            raise CommandError("Too many messages from this number: not stored.") from error
        except ValueError as error:
            raise CommandError(str(error)) from error
        inbound = received.inbound
        if queue_only:
            self.stdout.write(f"Stored message {inbound.public_id}; a worker reads it.")
            return
        inbound_process(inbound_id=inbound.pk)
        inbound.refresh_from_db()
        outcome = inbound.get_state_display()
        if inbound.inbox_reason:
            outcome += f" ({inbound.get_inbox_reason_display().lower()})"
        self.stdout.write(f"Message {inbound.public_id}: {outcome}.")
