"""Messages to patients: every invitation, reminder and diary link is a row before it is sent (the database, not
the queue, is the source of truth), so a lost queue or a dead worker never loses or doubles a message."""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q

from apps.surveys.models import ONE_TARGET


class Kind(models.TextChoices):
    INVITATION = "invitation", "Invitation"
    REMINDER = "reminder", "Reminder"
    DIARY = "diary", "Pain diary link"
    BASELINE = "baseline", "Baseline questionnaires link"
    RESEND = "resend", "Sent by staff"


class MessageStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    IN_DOUBT = "in_doubt", "In doubt"
    # Stopped before sending: answered, window closed, opted out, inactive, consent withdrawn, no contact.
    CANCELLED = "cancelled", "Not sent"


class MessageChannel(models.TextChoices):
    EMAIL = "email", "Email"
    SMS = "sms", "SMS"
    # A link staff took to read out on a call (follow_up_link_for_call): nothing went through a provider.
    PHONE = "phone", "Phone call"


class Message(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="messages")
    follow_up = models.ForeignKey(
        "cryoablations.FollowUp", on_delete=models.CASCADE, null=True, blank=True, related_name="messages"
    )
    block = models.ForeignKey(
        "blocks.DiagnosticBlock", on_delete=models.CASCADE, null=True, blank=True, related_name="messages"
    )
    diary_minutes = models.PositiveIntegerField(null=True, blank=True)
    # A treatment's baseline questionnaires link, sent when the treatment is booked (or by staff from its page).
    baseline_of = models.ForeignKey(
        "cryoablations.Cryoablation", on_delete=models.CASCADE, null=True, blank=True, related_name="baseline_messages"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    # 0 for the invitation, 1.. for the reminders after it, and for staff's resends in order.
    sequence = models.PositiveSmallIntegerField(default=0)
    channel = models.CharField(max_length=5, choices=MessageChannel.choices, blank=True)
    status = models.CharField(max_length=9, choices=MessageStatus.choices, default=MessageStatus.QUEUED)
    due_at = models.DateTimeField()
    # Set by the sweep when it puts the id on the queue; a row still queued long after is put on it again
    # (the queue may have been flushed), which the send task's conditional update makes harmless.
    enqueued_at = models.DateTimeField(null=True, blank=True)
    sending_started_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    provider_message_id = models.CharField(max_length=200, blank=True)
    # An SMS that asked the patient to reply with a number (the protocol's SMS mode, apps.sms): a prompt a reply
    # from the patient's number may answer while its link is still usable.
    reply_expected = models.BooleanField(default=False)
    # A short reason (an error class or a rule), never the address or the body.
    detail = models.CharField(max_length=200, blank=True)
    link = models.ForeignKey(
        "surveys.SurveyLink", on_delete=models.SET_NULL, null=True, blank=True, related_name="messages"
    )
    requested_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-due_at", "-id"]
        indexes = [
            # The sweep: due queued rows, and rows stuck in "sending". Partial, so its cost follows the rows in
            # those states, not the whole history.
            # (due_at, id): the claim's ORDER BY, so a batch reads its LIMIT rows and not the whole backlog.
            models.Index(fields=["due_at", "id"], name="message_queued_due_id", condition=Q(status="queued")),
            models.Index(fields=["sending_started_at"], name="message_sending", condition=Q(status="sending")),
            models.Index(fields=["patient", "-due_at", "-id"], name="message_patient_history"),
            # An SMS reply's prompt: the patient's latest sent reply-mode message (apps.sms).
            models.Index(
                fields=["patient", "-sent_at", "-id"], name="message_reply_prompt", condition=Q(reply_expected=True)
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["follow_up", "kind", "sequence"],
                condition=Q(follow_up__isnull=False),
                name="message_one_per_follow_up_slot",
            ),
            models.UniqueConstraint(
                fields=["block", "diary_minutes", "kind", "sequence"],
                condition=Q(block__isnull=False),
                name="message_one_per_diary_slot",
            ),
            models.UniqueConstraint(
                fields=["baseline_of", "kind", "sequence"],
                condition=Q(baseline_of__isnull=False),
                name="message_one_per_baseline_slot",
            ),
            models.CheckConstraint(condition=ONE_TARGET, name="message_one_target"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.public_id} ({self.status})"
