"""Text messages from patients (two-way SMS): each inbound message is a row before it is acted on, stored once per
provider id, with the number it came from and what it was matched to."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class State(models.TextChoices):
    RECEIVED = "received", "Waiting to be read"
    APPLIED = "applied", "Recorded as the answer"
    KEYWORD = "keyword", "Keyword (STOP, START, HELP)"
    INBOX = "inbox", "Waiting for staff"
    ATTACHED = "attached", "Attached by staff"
    DISMISSED = "dismissed", "Dismissed by staff"
    # An unclear reply the patient followed with a number that answered the same prompt.
    SUPERSEDED = "superseded", "Answered by a later reply"


class InboxReason(models.TextChoices):
    UNCLEAR = "unclear", "Not a number from 0 to 10"
    OUT_OF_RANGE = "out_of_range", "A number outside 0 to 10"
    UNKNOWN_NUMBER = "unknown_number", "From a number no patient has"
    SHARED_NUMBER = "shared_number", "From a number several patients share"
    NO_OPEN_PROMPT = "no_open_prompt", "No question open for this patient"
    ALREADY_ANSWERED = "already_answered", "The question was answered meanwhile"


class AutoReply(models.TextChoices):
    CLARIFICATION = "clarification", "Asked again for a number"
    OPT_OUT = "opt_out", "Confirmed the opt-out"
    OPT_IN = "opt_in", "Confirmed the new subscription"
    HELP = "help", "Sent the clinic's name and phone"


class InboundSms(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # "twilio", or "console" for `manage.py sms_reply` (make run, tests).
    provider = models.CharField(max_length=20)
    provider_message_id = models.CharField(max_length=64)
    from_number = models.CharField("from", max_length=32)
    body = models.TextField(blank=True)
    body_truncated = models.BooleanField(default=False)
    received_at = models.DateTimeField(default=timezone.now)
    state = models.CharField(max_length=10, choices=State.choices, default=State.RECEIVED)
    inbox_reason = models.CharField(max_length=16, choices=InboxReason.choices, blank=True)
    keyword = models.CharField(max_length=7, blank=True)
    # The pain score read from the body, when it is one.
    value = models.PositiveSmallIntegerField(null=True, blank=True)
    # What it was matched to: the patient (by number) and the prompt (the latest open reply-mode message).
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, null=True, blank=True, related_name="inbound_sms"
    )
    prompt = models.ForeignKey(
        "reminders.Message", on_delete=models.PROTECT, null=True, blank=True, related_name="replies"
    )
    auto_reply = models.CharField(max_length=13, choices=AutoReply.choices, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    # Staff's decision on the inbox.
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    dismiss_reason = models.TextField("reason for dismissing", blank=True)

    class Meta:
        verbose_name = "inbound text message"
        ordering = ["-received_at", "-id"]
        indexes = [
            # The sweep: stored and not read yet.
            models.Index(fields=["received_at", "id"], name="inbound_sms_unread", condition=Q(state="received")),
            # The staff inbox, the longest waiting first.
            models.Index(fields=["received_at", "id"], name="inbound_sms_inbox", condition=Q(state="inbox")),
            models.Index(fields=["prompt", "state"], name="inbound_sms_prompt"),
        ]
        constraints = [
            # A provider retrying its webhook sends the same id: the message is stored once.
            models.UniqueConstraint(fields=["provider", "provider_message_id"], name="inbound_sms_once"),
            models.CheckConstraint(condition=Q(value__isnull=True) | Q(value__lte=10), name="inbound_sms_value_nrs"),
            models.CheckConstraint(
                condition=~Q(state="dismissed") | ~Q(dismiss_reason=""), name="inbound_sms_dismissal_has_reason"
            ),
        ]

    def __str__(self) -> str:
        return f"Text message {self.public_id} ({self.state})"
