from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404

from apps.reminders.models import Message, MessageStatus

from .models import InboundSms, State

CANDIDATE_LIMIT = 20
# For a number no patient has: the prompts sent this long before the message are offered (staff know who wrote).
UNKNOWN_NUMBER_LOOKBACK = timedelta(days=2)


def inbox_waiting() -> QuerySet[InboundSms]:
    """Messages waiting for staff (unclear, out of range, unknown or shared number, no open prompt, answered
    meanwhile), the longest waiting first."""
    return (
        InboundSms.objects.filter(state=State.INBOX)
        .select_related("patient", "prompt__block__nerve", "prompt__follow_up")
        .order_by("received_at", "id")
    )


def inbound_get(*, public_id: UUID | str) -> InboundSms:
    return get_object_or_404(
        InboundSms.objects.select_related("patient", "prompt__block__nerve", "prompt__follow_up", "reviewed_by"),
        public_id=public_id,
    )


def prompt_candidates(*, inbound: InboundSms) -> QuerySet[Message]:
    """The questions a message may answer, newest first: those sent to the patients with its number, or, for a
    number no patient has, every question sent in the days before it."""
    sent = Message.objects.filter(status=MessageStatus.SENT, sent_at__lte=inbound.received_at).filter(
        Q(block__isnull=False) | Q(follow_up__isnull=False)
    )
    by_number = sent.filter(patient__mobile_phone=inbound.from_number)
    if not by_number.exists():
        by_number = sent.filter(sent_at__gte=inbound.received_at - UNKNOWN_NUMBER_LOOKBACK)
    return by_number.select_related("patient", "block__nerve", "follow_up", "link").order_by("-sent_at", "-id")[
        :CANDIDATE_LIMIT
    ]
