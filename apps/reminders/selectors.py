from __future__ import annotations

from datetime import date
from uuid import UUID

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404

from apps.cryoablations.models import FollowUp, window_range
from apps.patients.models import Channel, Patient

from .models import Message, MessageStatus

HISTORY_LIMIT = 200  # a patient's page shows the latest messages; years of reminders stay in the table
WORKLIST_SECTION_LIMIT = 50


def message_get(*, public_id: UUID | str) -> Message:
    return get_object_or_404(Message.objects.select_related("patient", "follow_up", "block"), public_id=public_id)


def messages_for_patient(*, patient: Patient) -> QuerySet[Message]:
    return (
        Message.objects.filter(patient=patient)
        .select_related("follow_up", "block__nerve", "link", "requested_by")
        .order_by("-due_at", "-id")[:HISTORY_LIMIT]
    )


def messages_needing_staff() -> QuerySet[Message]:
    """Messages in doubt (a worker died mid-send: did the patient get it?) and failed ones whose patient is
    still active, newest first."""
    return (
        Message.objects.filter(status__in=[MessageStatus.IN_DOUBT, MessageStatus.FAILED], patient__is_active=True)
        .exclude(detail__startswith="resolved by staff")
        .select_related("patient", "follow_up")
        .order_by("-due_at", "-id")
    )


def unreachable_q(prefix: str = "") -> Q:
    """Patients whom no message will reach: they need a phone call."""
    p = prefix
    return (
        Q(**{f"{p}preferred_channel": Channel.NONE})
        | Q(**{f"{p}reminder_consent": False})
        | Q(**{f"{p}opted_out_at__isnull": False})
        | Q(**{f"{p}preferred_channel": Channel.EMAIL, f"{p}email_undeliverable_at__isnull": False})
        | Q(**{f"{p}preferred_channel": Channel.SMS, f"{p}phone_invalid_at__isnull": False})
    )


def unreachable_follow_ups(*, today: date) -> QuerySet[FollowUp]:
    """Open, unanswered follow-ups of active patients who get no messages, the soonest due first."""
    return (
        FollowUp.objects.filter(counted_response__isnull=True, ablation__patient__is_active=True)
        .alias(window=window_range())
        # The stubs read the alias's lookup as a text field's: it is a daterange (window_range's output_field).
        .filter(window__contains=today)  # type: ignore[misc]
        .filter(unreachable_q("ablation__patient__"))
        .select_related("ablation__patient", "ablation__nerve")
        .order_by("target_date", "pk")
    )


def unreachable_reason(patient: Patient) -> str:
    if patient.opted_out_at:
        return "Opted out of messages"
    if not patient.reminder_consent:
        return "No consent to reminders"
    if patient.preferred_channel == Channel.NONE:
        return "Channel: phone call"
    if patient.preferred_channel == Channel.EMAIL and patient.email_undeliverable_at:
        return "Email bounced"
    if patient.preferred_channel == Channel.SMS and patient.phone_invalid_at:
        return "Mobile number refused"
    return ""
