"""Two-way SMS: store each inbound message once, then read it (a pain score, a keyword, or something for staff).

The webhook (views.twilio_inbound) and `manage.py sms_reply` both call inbound_receive, which stores the message
and enqueues its reading once the row is committed; the reading (inbound_process) claims the row with SELECT ...
FOR UPDATE SKIP LOCKED and decides in the same transaction, so a worker killed mid-way leaves the row "received"
for the sweep (inbound_sweep, celery beat) to read again, and two workers never read one message twice. A score is
stored through the prompt's survey link (surveys.services.link_answer), exactly as the link's page stores it: the
same derived tables update, the same reminders stop, and the link's one-use update makes sure that of two replies
to one prompt exactly one counts.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from celery import current_app
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from apps.accounts.models import User
from apps.accounts.ratelimit import count
from apps.blocks.models import DiaryEntry
from apps.clinic.models import Sender
from apps.clinic.selectors import sender_for
from apps.cryoablations.models import FollowUp
from apps.patients.models import Channel, Patient, phone_e164
from apps.reminders import transports
from apps.reminders.models import Message, MessageChannel, MessageStatus
from apps.reminders.selectors import unmessageable_reason
from apps.surveys.models import CollectedVia, SurveyLink
from apps.surveys.services import LinkNotUsable, link_answer, patient_diary_entry_record, response_record

from .models import AutoReply, InboundSms, InboxReason, State
from .parsing import Keyword, PainReply, Problem, body_clean, keyword_of, pain_reply_parse

logger = logging.getLogger(__name__)

# A message stored this long ago and still unread lost its task (a flushed queue, a killed worker): the sweep reads it.
SWEEP_AFTER = timedelta(seconds=30)
SWEEP_BATCH_SIZE = 500
PROVIDER_ID_MAX = 64


class RateLimited(Exception):
    """The number sent more than SMS_INBOUND_RATE_LIMIT messages in the window: not stored."""


@dataclass(frozen=True)
class Received:
    inbound: InboundSms
    created: bool  # False: the provider sent this id before (a retried webhook), nothing changed


def number_normalize(raw: str) -> str:
    """A sender's number in E.164 when it is a valid one (as the patients' numbers are stored), else as given."""
    text = body_clean(raw)[0].strip()[:32]
    return phone_e164(text) or text


def inbound_rate_limited(*, number: str) -> bool:
    """Count one message from `number`; True once it sent more than SMS_INBOUND_RATE_LIMIT in the window. Counted in
    Redis (the registry's one counter, accounts.ratelimit.count) under a hash: no phone number in Redis."""
    window = settings.SMS_INBOUND_RATE_WINDOW_SECONDS
    digest = hashlib.sha256(number.encode()).hexdigest()[:32]
    key = f"sms-inbound-rate:{digest}:{int(time.time() // window)}"
    limit: int = settings.SMS_INBOUND_RATE_LIMIT
    return count(key, timeout=window) > limit


def _enqueue(task: str, *args: object) -> None:
    """Enqueue one of tasks.py's tasks by name: the tasks call these services (an import would be a cycle)."""
    current_app.send_task(f"apps.sms.tasks.{task}", args=args)


def inbound_receive(
    *, provider: str, provider_message_id: str, from_number: str, body: str, now: datetime | None = None
) -> Received:
    """Store an inbound message once (a provider id seen before changes nothing), then have it read after commit.
    Raises RateLimited (nothing stored) for a number over its limit."""
    message_id = body_clean(provider_message_id)[0].strip()[:PROVIDER_ID_MAX]
    if not message_id:
        raise ValueError("an inbound message needs its provider's id")
    existing = InboundSms.objects.filter(provider=provider, provider_message_id=message_id).first()
    if existing is not None:
        return Received(existing, created=False)
    number = number_normalize(from_number)
    if inbound_rate_limited(number=number):
        raise RateLimited
    text, truncated = body_clean(body)
    with transaction.atomic():
        inbound, created = InboundSms.objects.get_or_create(
            provider=provider,
            provider_message_id=message_id,
            defaults={
                "from_number": number,
                "body": text,
                "body_truncated": truncated,
                "received_at": now or timezone.now(),
            },
        )
        if created:
            pk = inbound.pk
            transaction.on_commit(lambda: _enqueue("inbound_process", pk))
    return Received(inbound, created)


# ---------------------------------------------------------------------------------------------------------------
# Reading a message


def inbound_process(*, inbound_id: int, now: datetime | None = None) -> str:
    """Read one stored message, once: its new state ("not claimed" when another worker holds it or it was read)."""
    now = now or timezone.now()
    replies: list[transports.Outgoing] = []
    with transaction.atomic():
        inbound = (
            InboundSms.objects.select_for_update(skip_locked=True).filter(pk=inbound_id, state=State.RECEIVED).first()
        )
        if inbound is None:
            return "not claimed"
        _read(inbound, now=now, replies=replies)
        inbound.processed_at = now
        inbound.save()
        # After the commit: a rolled-back reading sends nothing, and is read again by the sweep.
        transaction.on_commit(lambda: _replies_send(inbound.pk, replies))
    return inbound.state


def inbound_sweep(*, now: datetime | None = None) -> int:
    """Read the messages stored and still unread a while after (their task was lost): how many were read here."""
    now = now or timezone.now()
    ids = list(
        InboundSms.objects.filter(state=State.RECEIVED, received_at__lt=now - SWEEP_AFTER)
        .order_by("received_at", "id")
        .values_list("pk", flat=True)[:SWEEP_BATCH_SIZE]
    )
    read = sum(inbound_process(inbound_id=pk, now=now) != "not claimed" for pk in ids)
    if read:
        logger.info("sms sweep: %s stored messages read", read)
    return read


def _read(inbound: InboundSms, *, now: datetime, replies: list[transports.Outgoing]) -> None:
    patients = list(Patient.objects.select_related("site").filter(mobile_phone=inbound.from_number).order_by("pk")[:2])
    patient = patients[0] if len(patients) == 1 else None
    inbound.patient = patient
    keyword = keyword_of(inbound.body)
    if keyword is not None:
        _keyword_apply(inbound, keyword, patient=patient, now=now, replies=replies)
        return
    if not patients:
        _to_inbox(inbound, InboxReason.UNKNOWN_NUMBER)
        return
    if patient is None:
        # Never attached by guess: staff know which of the patients it was.
        _to_inbox(inbound, InboxReason.SHARED_NUMBER)
        return
    # A message cut at MAX_BODY_CHARS is not read as a score: what followed the cut is unknown.
    reply = PainReply(None, Problem.UNCLEAR) if inbound.body_truncated else pain_reply_parse(inbound.body)
    prompt = open_prompt(patient=patient, now=now)
    inbound.prompt = prompt or latest_prompt(patient=patient)
    if reply.value is None:
        reason = InboxReason.OUT_OF_RANGE if reply.problem == Problem.OUT_OF_RANGE else InboxReason.UNCLEAR
        _to_inbox(inbound, reason)
        if prompt is not None and _clarification_allowed(patient=patient, prompt=prompt):
            inbound.auto_reply = AutoReply.CLARIFICATION
            with translation.override(patient.language):
                text = _("%(clinic)s: please reply with one number from 0 (no pain) to 10 (worst pain).")
            sender = sender_for(patient.site)
            replies.append(_outgoing(patient.mobile_phone, text % {"clinic": sender.name}, sender))
        return
    inbound.value = reply.value
    if prompt is None:
        _to_inbox(inbound, InboxReason.NO_OPEN_PROMPT)
        return
    try:
        _answer_through_link(prompt=prompt, value=reply.value, now=now)
    except LinkNotUsable:
        # Another reply (or the link's page) answered this prompt first: this one is not counted.
        _to_inbox(inbound, InboxReason.ALREADY_ANSWERED)
        return
    inbound.state = State.APPLIED
    # The unclear replies the patient sent before this number to the same prompt need no one now.
    InboundSms.objects.filter(
        prompt=prompt, state=State.INBOX, inbox_reason__in=[InboxReason.UNCLEAR, InboxReason.OUT_OF_RANGE]
    ).exclude(pk=inbound.pk).update(state=State.SUPERSEDED)


def _to_inbox(inbound: InboundSms, reason: InboxReason) -> None:
    inbound.state, inbound.inbox_reason = State.INBOX, reason


def _clarification_allowed(*, patient: Patient, prompt: Message) -> bool:
    """One clarification per prompt, and only to a patient messages may still reach (consent, STOP: re-checked now)."""
    if patient.preferred_channel != Channel.SMS or unmessageable_reason(patient=patient):
        return False
    return not InboundSms.objects.filter(prompt=prompt, auto_reply=AutoReply.CLARIFICATION).exists()


def _answers(prompt: Message, value: int) -> dict[str, Any]:
    """A diary prompt asks for the pain right now; a follow-up's, for the average pain in the past 24 hours (the
    score a follow-up is judged by, outcome-definitions.md)."""
    return {"pain_current": value} if prompt.block_id is not None else {"pain_average": value}


def _answer_through_link(*, prompt: Message, value: int, now: datetime) -> None:
    link = cast(SurveyLink, prompt.link)
    link_answer(link=link, answers=_answers(prompt, value), now=now, via=CollectedVia.SMS_REPLY)


def _keyword_apply(
    inbound: InboundSms, keyword: Keyword, *, patient: Patient | None, now: datetime, replies: list[transports.Outgoing]
) -> None:
    """STOP and its kin stop every SMS to the number at once (every patient with it; queued ones are cancelled in
    this transaction, and the send re-checks the rule); START re-subscribes; HELP gets the clinic's name and phone.
    The carriers require these answers, so they go whatever the consent (the number has just written to us)."""
    inbound.state, inbound.keyword = State.KEYWORD, keyword.value
    same_number = Patient.objects.filter(mobile_phone=inbound.from_number)
    sender = sender_for(patient.site if patient is not None else None)
    values = {"clinic": sender.name, "phone": settings.CLINIC_PHONE or sender.name}
    language = patient.language if patient is not None else "en"
    with translation.override(language):
        if keyword == Keyword.OPT_OUT:
            same_number.filter(sms_opted_out_at__isnull=True).update(sms_opted_out_at=now)
            Message.objects.filter(
                patient__in=same_number, patient__preferred_channel=Channel.SMS, status=MessageStatus.QUEUED
            ).update(status=MessageStatus.CANCELLED, detail="texted STOP", updated_at=now)
            inbound.auto_reply = AutoReply.OPT_OUT
            text = _("%(clinic)s: you will get no more text messages from us. Reply START to subscribe again.")
        elif keyword == Keyword.OPT_IN:
            same_number.filter(sms_opted_out_at__isnull=False).update(sms_opted_out_at=None)
            inbound.auto_reply = AutoReply.OPT_IN
            text = _("%(clinic)s: you will get our text messages again. Reply STOP to stop them.")
        else:
            inbound.auto_reply = AutoReply.HELP
            text = _("%(clinic)s: for help, call %(phone)s. Reply STOP to stop these messages.")
    replies.append(_outgoing(inbound.from_number, text % values, sender))


def _outgoing(to: str, body: str, sender: Sender) -> transports.Outgoing:
    return transports.Outgoing(to=to, subject="", body=body, sender=sender.sms_from)


def _replies_send(inbound_id: int, replies: list[transports.Outgoing]) -> None:
    for reply in replies:
        try:
            transports.sms_transport().send(reply)
        except Exception as error:  # a lost automatic answer must not fail the reading, which is committed
            logger.warning("sms %s: automatic answer not sent (%s)", inbound_id, type(error).__name__)


# ---------------------------------------------------------------------------------------------------------------
# Prompts


def _prompts(*, patient: Patient) -> QuerySet[Message]:
    return Message.objects.filter(
        patient=patient, reply_expected=True, status=MessageStatus.SENT, channel=MessageChannel.SMS
    ).order_by("-sent_at", "-id")


def open_prompt(*, patient: Patient, now: datetime) -> Message | None:
    """The patient's latest reply-mode SMS whose link can still take the answer (not used, revoked nor expired)."""
    return (
        _prompts(patient=patient)
        .filter(link__used_at__isnull=True, link__revoked_at__isnull=True, link__expires_at__gt=now)
        .select_related("link")
        .first()
    )


def latest_prompt(*, patient: Patient) -> Message | None:
    """The patient's latest reply-mode SMS, open or not (what a reply to a closed prompt is shown with)."""
    return _prompts(patient=patient).first()


# ---------------------------------------------------------------------------------------------------------------
# The staff inbox


ALREADY_HANDLED = "This message has already been handled."


def _claim_for_staff(inbound: InboundSms) -> InboundSms:
    """Lock the row: of two staff acting at once, the second is told the first's decision."""
    locked = InboundSms.objects.select_for_update().get(pk=inbound.pk)
    if locked.state != State.INBOX:
        raise ValidationError(ALREADY_HANDLED)
    return locked


@transaction.atomic
def inbox_attach(
    *, inbound: InboundSms, prompt: Message, value: int, user: User, now: datetime | None = None
) -> InboundSms:
    """Staff attach a message to the prompt it answers, with its score (read by staff when the text was unclear):
    stored as the patient's SMS reply would have been, through the same services."""
    now = now or timezone.now()
    if not 0 <= value <= 10:
        raise ValidationError({"value": "Enter the pain score, a whole number from 0 to 10."})
    if prompt.block_id is None and prompt.follow_up_id is None:  # pragma: no cover - the messages' constraint
        raise ValidationError({"prompt": "That message asked no question."})
    locked = _claim_for_staff(inbound)
    link = prompt.link
    usable = link is not None and link.used_at is None and link.revoked_at is None and link.expires_at > now
    if usable:
        try:
            _answer_through_link(prompt=prompt, value=value, now=now)
        except LinkNotUsable as error:
            raise ValidationError({"prompt": "That question was answered meanwhile."}) from error
    elif prompt.block_id is not None:
        # The prompt closed (the next diary slot came): the score still belongs to its slot, unless one is there.
        minutes = cast(int, prompt.diary_minutes)
        if DiaryEntry.objects.filter(block_id=prompt.block_id, minutes_after=minutes).exists():
            raise ValidationError({"prompt": "That diary time already has a score."})
        patient_diary_entry_record(block_id=prompt.block_id, minutes=minutes, nrs=value, source=DiaryEntry.Source.SMS)
    else:
        follow_up = FollowUp.objects.select_related("ablation").get(pk=cast(int, prompt.follow_up_id))
        if follow_up.counted_response_id is not None:
            raise ValidationError({"prompt": "That follow-up is already answered."})
        response_record(
            ablation=follow_up.ablation,
            completed_at=locked.received_at,
            collected_via=CollectedVia.SMS_REPLY,
            recorded_by=user,
            pain_average=value,
        )
    locked.state, locked.prompt, locked.patient_id, locked.value = State.ATTACHED, prompt, prompt.patient_id, value
    locked.reviewed_by, locked.reviewed_at = user, now
    locked.save()
    logger.info("sms %s attached to message %s", locked.public_id, prompt.pk)
    return locked


@transaction.atomic
def inbox_dismiss(*, inbound: InboundSms, reason: str, user: User, now: datetime | None = None) -> InboundSms:
    """Staff set a message aside, saying why (kept in the change history with the message)."""
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": "Say why this message needs no answer recorded."})
    locked = _claim_for_staff(inbound)
    locked.state, locked.dismiss_reason = State.DISMISSED, reason
    locked.reviewed_by, locked.reviewed_at = user, now or timezone.now()
    locked.save()
    logger.info("sms %s dismissed", locked.public_id)
    return locked
