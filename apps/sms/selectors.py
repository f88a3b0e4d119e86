from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404

from apps.accounts.models import User
from apps.patients.selectors import visible_to
from apps.reminders.models import Message, MessageStatus

from .models import InboundSms, State

CANDIDATE_LIMIT = 20
# For a number no patient has: the prompts sent this long before the message are offered (staff know who wrote).
UNKNOWN_NUMBER_LOOKBACK = timedelta(days=2)


def _sortable_by(messages: QuerySet[InboundSms], *, user: User) -> QuerySet[InboundSms]:
    """The messages from a patient `user` may see (apps.patients.selectors.visible_to), and those from a number no
    one patient has: everyone's to sort."""
    return visible_to(messages, user=user) | messages.filter(patient__isnull=True)


def inbox_waiting(*, user: User) -> QuerySet[InboundSms]:
    """Messages waiting for staff (unclear, out of range, unknown or shared number, no open prompt, answered
    meanwhile) that `user` may sort, the longest waiting first."""
    return (
        _sortable_by(InboundSms.objects.filter(state=State.INBOX), user=user)
        .select_related("patient", "prompt__block__nerve", "prompt__follow_up")
        .order_by("received_at", "id")
    )


def inbound_get(*, public_id: UUID | str, user: User) -> InboundSms:
    """The message, if `user` may sort it (_sortable_by); else 404."""
    messages = InboundSms.objects.select_related("patient", "prompt__block__nerve", "prompt__follow_up", "reviewed_by")
    return get_object_or_404(_sortable_by(messages, user=user), public_id=public_id)


def prompt_candidates(*, inbound: InboundSms, user: User) -> QuerySet[Message]:
    """The questions a message may answer, newest first: those sent to the patients with its number, or, for a
    number no patient has, every question sent in the days before it; of the patients `user` may see
    (apps.patients.selectors.visible_to)."""
    sent = (
        visible_to(Message.objects.all(), user=user)
        .filter(status=MessageStatus.SENT, sent_at__lte=inbound.received_at)
        .filter(Q(block__isnull=False) | Q(follow_up__isnull=False))
    )
    by_number = sent.filter(patient__mobile_phone=inbound.from_number)
    if not by_number.exists():
        by_number = sent.filter(sent_at__gte=inbound.received_at - UNKNOWN_NUMBER_LOOKBACK)
    return by_number.select_related("patient", "block__nerve", "follow_up", "link").order_by("-sent_at", "-id")[
        :CANDIDATE_LIMIT
    ]
