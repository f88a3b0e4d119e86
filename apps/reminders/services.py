"""The reminder engine: plan message rows, claim the due ones, send each once.

Every message is a row before anything is sent. The sweep (celery beat, every minute) plans new rows, claims due
ones with SELECT ... FOR UPDATE SKIP LOCKED in bounded batches and enqueues their ids after commit; the send task
flips one row queued -> sending with a conditional update, so however often an id is enqueued (two beats, a
re-enqueue after a Redis flush) the provider is called at most once. A row left "sending" by a dead worker
becomes "in doubt" for staff to look at, and is never sent again blindly.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import NamedTuple, TypedDict, Unpack, cast, final
from zoneinfo import ZoneInfo

from celery import current_app
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.backends.postgresql.psycopg_any import DateRange
from django.db.models import Exists, F, Max, OuterRef, Q, QuerySet
from django.db.models.expressions import CombinedExpression
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from apps.accounts.models import User
from apps.blocks.models import DiagnosticBlock
from apps.clinic.models import Protocol, SmsMode
from apps.clinic.selectors import protocol_for, protocols_for, protocols_of_every_site, sender_for
from apps.cryoablations.models import Cryoablation, FollowUp, window_range
from apps.instruments.selectors import instruments_due_at_baseline, treatment_baseline_answers
from apps.patients.models import Channel, Patient
from apps.surveys.models import SurveyLink
from apps.surveys.services import (
    LinkTarget,
    NewLink,
    baseline_link_closes_at,
    diary_slot_closes_at,
    follow_up_closes_at,
    link_create,
    links_create,
)

from . import transports
from .models import Kind, Message, MessageChannel, MessageStatus
from .selectors import (
    MESSAGE_PATHS,
    messageable_messages_q,
    messageable_q,
    unmessageable_reason,
    unmessageable_reason_expr,
)

logger = logging.getLogger(__name__)

PLAN_BATCH_SIZE = 500  # follow-ups or blocks planned per query
CLAIM_BATCH_SIZE = 500  # due rows claimed per transaction
# Ids a send task gets: their links are made in one transaction (see messages_send).
SEND_BATCH_SIZE = 20
MAX_CLAIM_BATCHES = 20  # per sweep: a backlog drains over several minutes rather than in one long sweep
# Longer than the send task's hard time limit: a row "sending" for longer has lost its worker.
IN_DOUBT_AFTER = timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT * 2)
# A row claimed but still queued after this was lost from the queue (Redis flushed, restarted): enqueue it again
# (on the second sweep after the loss at the latest).
REENQUEUE_AFTER = timedelta(seconds=90)
MAX_ATTEMPTS = 5
RETRY_BACKOFF = timedelta(minutes=2)  # doubled at each attempt
# A diary slot planned late (the block entered after the injection) is still worth sending this long after.
DIARY_GRACE = timedelta(minutes=10)


# ---------------------------------------------------------------------------------------------------------------
# Time rules


def patient_zone(patient: Patient) -> ZoneInfo:
    return ZoneInfo(patient.timezone)


def at_local(day: date, hour: int, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=zone)


def in_quiet_hours(moment: datetime, zone: ZoneInfo, protocol: Protocol) -> bool:
    return quiet_hours_end(moment, zone, protocol) != moment


def quiet_hours_end(moment: datetime, zone: ZoneInfo, protocol: Protocol) -> datetime:
    """`moment`, or the end of the quiet hours it falls in (quiet_end_hour, patient time)."""
    start, end = protocol.quiet_start_hour, protocol.quiet_end_hour
    local = moment.astimezone(zone)
    hour = local.hour
    if start == end:
        return moment
    if start > end:  # across midnight, e.g. 21:00..08:00
        if hour >= start:
            return at_local(local.date() + timedelta(days=1), end, zone)
        if hour < end:
            return at_local(local.date(), end, zone)
        return moment
    if start <= hour < end:
        return at_local(local.date(), end, zone)
    return moment


def follow_up_schedule(
    *, follow_up: FollowUp, patient: Patient, protocol: Protocol, now: datetime
) -> list[tuple[Kind, int, datetime]]:
    """(kind, sequence, due_at) of a follow-up's invitation and reminders: the invitation on the target day at
    the protocol's hour in the patient's time zone (or now, when planned late), the reminders that many days
    after it at the same wall-clock time (so daylight-saving switches keep 10:00 at 10:00), each moved out of
    the quiet hours, none at or after the window's close."""
    zone = patient_zone(patient)
    closes = follow_up_closes_at(follow_up)
    invitation = max(at_local(follow_up.target_date, protocol.invitation_hour, zone), now)
    local = invitation.astimezone(zone).replace(tzinfo=None)
    wanted = [(Kind.INVITATION, 0, invitation)]
    for sequence, days in enumerate(sorted(protocol.reminder_days), start=1):
        wanted.append((Kind.REMINDER, sequence, (local + timedelta(days=days)).replace(tzinfo=zone)))
    schedule = []
    for kind, sequence, due in wanted:
        due = quiet_hours_end(due, zone, protocol)
        if due < closes:
            schedule.append((kind, sequence, due))
    return schedule


# ---------------------------------------------------------------------------------------------------------------
# Planning


def messages_plan(*, now: datetime) -> int:
    """Rows for follow-ups whose target day has come (a day's margin for time zones) and diary slots of recent
    blocks, each at the cadence of its patient's site. The unique constraints make planning idempotent: a second beat
    planning the same rows adds nothing."""
    protocols = protocols_of_every_site()
    planned = 0
    today = timezone.localdate(now)
    follow_ups = (
        FollowUp.objects.alias(window=window_range())
        .filter(
            messageable_q(patient="ablation__patient__", follow_up="", today=today),
            # The worklist's open-window index: only follow-ups open around today are read, not every future one.
            window__overlap=DateRange(today - timedelta(days=1), today + timedelta(days=1), "[]"),
            target_date__lte=today + timedelta(days=1),
        )
        .filter(~Exists(Message.objects.filter(follow_up=OuterRef("pk"), kind=Kind.INVITATION)))
        .select_related("ablation__patient")
        .order_by("target_date", "pk")[:PLAN_BATCH_SIZE]
    )
    rows = []
    for follow_up in follow_ups:
        patient = follow_up.ablation.patient
        protocol = protocols[patient.site_id]
        for kind, sequence, due in follow_up_schedule(follow_up=follow_up, patient=patient, protocol=protocol, now=now):
            rows.append(Message(patient=patient, follow_up=follow_up, kind=kind, sequence=sequence, due_at=due))
    planned += len(Message.objects.bulk_create(rows, ignore_conflicts=True))
    planned += diary_messages_plan(now=now, protocols=protocols)
    planned += baseline_messages_plan(now=now)
    return planned


def baseline_messages_plan(*, now: datetime) -> int:
    """The baseline link of a treatment booked for today (or tomorrow), once: sent right away (out of the quiet
    hours), so the patient answers the baseline questionnaires before the end of the treatment day, when the
    answers still count. A baseline entered by staff in the meantime stops it at send time (baseline_stop_reason)."""
    if not instruments_due_at_baseline():
        return 0
    treatments = (
        Cryoablation.objects.filter(messageable_q(patient="patient__"), performed_on__gte=timezone.localdate(now))
        .filter(~Exists(Message.objects.filter(baseline_of=OuterRef("pk"), kind=Kind.BASELINE)))
        .select_related("patient")
        .order_by("performed_on", "pk")[:PLAN_BATCH_SIZE]
    )
    rows = [Message(patient=t.patient, baseline_of=t, kind=Kind.BASELINE, due_at=now) for t in treatments]
    return len(Message.objects.bulk_create(rows, ignore_conflicts=True))


def diary_messages_plan(*, now: datetime, protocols: dict[int | None, Protocol]) -> int:
    """The diary links of recent blocks, at the diary times of the patient's site (`protocols`: by site id)."""
    longest = max((max(p.diary_minutes) for p in protocols.values() if p.diary_minutes), default=None)
    if longest is None:
        return 0
    last = timedelta(minutes=longest)
    blocks = (
        DiagnosticBlock.objects.filter(
            messageable_q(patient="patient__"), performed_at__gte=now - last - DIARY_GRACE, performed_at__lte=now
        )
        .filter(~Exists(Message.objects.filter(block=OuterRef("pk"), kind=Kind.DIARY)))
        .select_related("patient")
        .order_by("performed_at")[:PLAN_BATCH_SIZE]
    )
    rows = []
    for block in blocks:
        zone = patient_zone(block.patient)
        protocol = protocols[block.patient.site_id]
        for minutes in sorted(set(protocol.diary_minutes)):
            due = block.performed_at + timedelta(minutes=minutes)
            # "Pain right now" asked hours later, or after the night, would not be the diary's score: skip it.
            if due < now - DIARY_GRACE or in_quiet_hours(due, zone, protocol):
                continue
            rows.append(Message(patient=block.patient, block=block, diary_minutes=minutes, kind=Kind.DIARY, due_at=due))
    return len(Message.objects.bulk_create(rows, ignore_conflicts=True))


# ---------------------------------------------------------------------------------------------------------------
# The sweep


@dataclass(frozen=True)
class SweepResult:
    planned: int
    enqueued: int
    in_doubt: int
    cancelled: int


def sweep(*, now: datetime) -> SweepResult:
    """One beat: plan, stop what must stop, mark lost sends in doubt, claim and enqueue due rows."""
    planned = messages_plan(now=now)
    cancelled = messages_cancel_stopped(now=now)
    in_doubt = Message.objects.filter(status=MessageStatus.SENDING, sending_started_at__lt=now - IN_DOUBT_AFTER).update(
        status=MessageStatus.IN_DOUBT, detail="no outcome from the worker"
    )
    enqueued = 0
    for _batch in range(MAX_CLAIM_BATCHES):
        ids = messages_claim_due(now=now)
        enqueued += len(ids)
        if len(ids) < CLAIM_BATCH_SIZE:
            break
    if planned or enqueued or in_doubt or cancelled:
        logger.info(
            "reminder sweep: %s planned, %s enqueued, %s in doubt, %s stopped", planned, enqueued, in_doubt, cancelled
        )
    return SweepResult(planned, enqueued, in_doubt, cancelled)


def _enqueue(task: str, *args: object) -> None:
    """Enqueue one of tasks.py's tasks by its registered name: the tasks call these services, so importing tasks.py
    here would close an import cycle (pyproject.toml's import-linter contracts refuse one)."""
    current_app.send_task(f"apps.reminders.tasks.{task}", args=args)


def messages_claim_due(*, now: datetime, limit: int = CLAIM_BATCH_SIZE) -> list[int]:
    """Claim up to `limit` due rows (rows another sweep holds are skipped, not waited for) and enqueue their ids
    once the claim is committed, so a worker never looks for a row it cannot see yet."""
    with transaction.atomic(durable=True):
        ids = list(messages_claimable(now=now).values_list("pk", flat=True)[:limit])
        if ids:
            Message.objects.filter(pk__in=ids).update(enqueued_at=now)
            chunks = [ids[i : i + SEND_BATCH_SIZE] for i in range(0, len(ids), SEND_BATCH_SIZE)]

            def enqueue_chunks() -> None:
                for chunk in chunks:
                    _enqueue("messages_send", chunk)

            transaction.on_commit(enqueue_chunks)
    return ids


def messages_claimable(*, now: datetime) -> QuerySet[Message]:
    """The claim's rows, locked (only the message rows; rows another sweep holds are skipped): queued, due, not on
    the queue already (or long enough to have been lost from it), of a patient and follow-up the messaging rule
    lets through, in due order (the partial index message_queued_due_id)."""
    return (
        Message.objects.select_for_update(of=("self",), skip_locked=True)
        .filter(status=MessageStatus.QUEUED, due_at__lte=now)
        .filter(Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=now - REENQUEUE_AFTER))
        .filter(messageable_messages_q(today=timezone.localdate(now)))
        .order_by("due_at", "pk")
    )


def messages_cancel_stopped(*, now: datetime) -> int:
    """Stop at once, not at send time, the queued rows the messaging rule stops (answered follow-ups, closed
    windows, patients opted out, inactive, without consent or contact), with its reason."""
    today = timezone.localdate(now)
    stopped = Message.objects.filter(status=MessageStatus.QUEUED).exclude(messageable_messages_q(today=today))
    # An UPDATE cannot set a value read from the joined rows: the reasons are read first, then each group of rows
    # stopped by one statement that asks the rule again (a patient may have consented again in between).
    by_reason: dict[str, list[int]] = {}
    reasons = stopped.annotate(reason=unmessageable_reason_expr(**MESSAGE_PATHS, today=today))
    for pk, reason in reasons.values_list("pk", "reason"):
        by_reason.setdefault(reason, []).append(pk)
    return sum(
        stopped.filter(pk__in=pks).update(status=MessageStatus.CANCELLED, detail=reason, updated_at=timezone.now())
        for reason, pks in by_reason.items()
    )


# ---------------------------------------------------------------------------------------------------------------
# Sending one message


@final
class FollowUpSlot(TypedDict):
    """A follow-up's message, by its column (a staff message's target, Message.objects.create's keywords)."""

    follow_up: FollowUp


@final
class DiarySlot(TypedDict):
    """A diary slot's message, by its columns."""

    block: DiagnosticBlock
    diary_minutes: int


@final
class BaselineSlot(TypedDict):
    """A treatment's baseline questionnaires link, by its column."""

    baseline_of: Cryoablation


Slot = FollowUpSlot | DiarySlot | BaselineSlot


def message_slot(message: Message) -> Slot:
    """What the message is about: its follow-up, its diary slot or a treatment's baseline (the table's constraint:
    only one of them)."""
    if message.follow_up is not None:
        return {"follow_up": message.follow_up}
    if message.block is not None and message.diary_minutes is not None:
        return {"block": message.block, "diary_minutes": message.diary_minutes}
    if message.baseline_of is not None:
        return {"baseline_of": message.baseline_of}
    raise ValueError(f"message {message.pk} has neither a follow-up, a diary slot nor a baseline")


def baseline_stop_reason(*, treatment: Cryoablation, now: datetime) -> str:
    """Why a treatment's baseline link may not go now, or "": the baseline's own stops, after the messaging rule's.
    After the treatment day an answer would not count as its baseline (surveys.services.baseline_link_closes_at)."""
    if now >= baseline_link_closes_at(treatment):
        return "treatment day passed"
    due = instruments_due_at_baseline()
    if not due:
        return "no questionnaire asked at baseline"
    have = treatment_baseline_answers(treatment=treatment)
    if all(instrument.pk in have for instrument, _version in due):
        return "baseline already answered"
    return ""


def diary_stop_reason(*, block: DiagnosticBlock, minutes: int, now: datetime, protocol: Protocol) -> str:
    """Why a diary slot's link may not go now, or "": the slot's own stops, after the messaging rule's."""
    if block.diary_entries.filter(minutes_after=minutes).exists():
        return "diary slot already answered"
    if now >= diary_slot_closes_at(block=block, minutes=minutes, slots=protocol.diary_minutes):
        return "diary slot passed"
    return ""


def message_send(*, message_id: int, now: datetime | None = None) -> str:
    """Send one message, at most once. Returns what happened (for logs and tests)."""
    return messages_send(message_ids=[message_id], now=now)[message_id]


@dataclass
class _Ready:
    message: Message
    link: LinkTarget  # the new link's target, for surveys.services.links_create
    address: str
    channel: str
    # An SMS asking for a reply with a number rather than a tap on the link (the protocol's SMS mode).
    reply_expected: bool = False


class _Attempt(TypedDict):
    """The columns the send sets on every message it handles."""

    sending_started_at: datetime
    attempts: CombinedExpression


class _Handled(_Attempt, total=False):
    """The columns the send sets on a message it handled without sending it (_queued_update)."""

    due_at: datetime
    enqueued_at: datetime | None
    detail: str


class _Outcome(TypedDict, total=False):
    """The columns a send's outcome sets besides the status (_finish)."""

    detail: str
    due_at: datetime
    enqueued_at: datetime | None
    sent_at: datetime
    provider_message_id: str


class _Finishing(NamedTuple):
    """A sent message's outcome, recorded in the next claim's transaction."""

    message: Message
    status: str
    fields: _Outcome


def messages_send(*, message_ids: list[int], now: datetime | None = None) -> dict[int, str]:
    """Send a batch of messages, each at most once: {id: what happened}.

    Every survey link is a row of the hash-chained change history, whose trigger takes one lock for the whole
    registry until its transaction commits: one link a transaction would make every send wait for another's
    commit. So the batch's rows are re-checked and their links made in one transaction (rows left queued), then
    each message on its own is claimed (queued -> sending, committed BEFORE the provider is called), sent, and
    its outcome recorded. A crash mid-batch leaves at most the message being sent "sending" (later "in doubt");
    the rest are still queued, and a link made for them and never sent opens nothing (its token was never kept).
    """
    now = now or timezone.now()
    outcomes = dict.fromkeys(message_ids, "not claimed")
    ready: list[_Ready] = []
    with transaction.atomic():
        # Rows another worker holds are being handled (a duplicate id) or re-enqueued by the sweep: skipped.
        # The re-check at send time: the messaging rule's reason, and what the rest needs (patient, follow-up or
        # block), in the same query.
        messages = list(
            Message.objects.select_for_update(of=("self",), skip_locked=True)
            .select_related("patient__site", "follow_up", "block", "baseline_of")
            .filter(pk__in=message_ids, status=MessageStatus.QUEUED, due_at__lte=now)
            .annotate(stop=unmessageable_reason_expr(**MESSAGE_PATHS, today=timezone.localdate(now)))
            .order_by("pk")
        )
        if not messages:
            return outcomes
        protocols = protocols_for({message.patient.site_id for message in messages})
        for message in messages:
            patient = message.patient
            protocol = protocols[patient.site_id]
            stop: _Attempt = {"sending_started_at": now, "attempts": F("attempts") + 1}
            slot = message_slot(message)
            reason = message.stop
            if not reason and "block" in slot:
                reason = diary_stop_reason(
                    block=slot["block"], minutes=slot["diary_minutes"], now=now, protocol=protocol
                )
            if not reason and "baseline_of" in slot:
                reason = baseline_stop_reason(treatment=slot["baseline_of"], now=now)
            if reason:
                _queued_update(message, MessageStatus.CANCELLED, **stop, detail=reason)
                outcomes[message.pk] = "cancelled"
                continue
            # Quiet hours hold back the automatic messages; one staff asked for goes now (they know the hour).
            later = now if message.requested_by_id else quiet_hours_end(now, patient_zone(patient), protocol)
            if later != now:
                _queued_update(
                    message, MessageStatus.QUEUED, **stop, due_at=later, enqueued_at=None, detail="quiet hours"
                )
                outcomes[message.pk] = "deferred"
                continue
            # The rule let it through: the channel is email or SMS, with its address (patients' constraints).
            if patient.preferred_channel == Channel.EMAIL:
                channel, address = MessageChannel.EMAIL, patient.email
            else:
                channel, address = MessageChannel.SMS, patient.mobile_phone
            link: LinkTarget
            if "follow_up" in slot:
                link = {"patient": patient, "follow_up": slot["follow_up"]}
                mode = protocol.survey_sms_mode
            elif "baseline_of" in slot:
                # Several questionnaires: always answered on the link's page, never by an SMS reply.
                link = {"patient": patient, "baseline_of": slot["baseline_of"]}
                mode = SmsMode.LINK
            else:
                block, minutes = slot["block"], slot["diary_minutes"]
                expires_at = diary_slot_closes_at(block=block, minutes=minutes, slots=protocol.diary_minutes)
                link = {"patient": patient, "block": block, "diary_minutes": minutes, "expires_at": expires_at}
                mode = protocol.diary_sms_mode
            # A reply-mode SMS still has its link made: the link is the prompt's one-use answer (the SMS reply is
            # stored through it, surveys.services.link_answer), only the text asks for a number instead.
            reply = channel == MessageChannel.SMS and mode == SmsMode.REPLY
            ready.append(_Ready(message, link, address, channel, reply))
        # Last, in one statement, right before the commit: the audit chain's lock is held for that long only.
        links = links_create(targets=[item.link for item in ready])
    # The outcome of one message is recorded in the same transaction (the same commit) as the claim of the next.
    finishing: list[_Finishing] = []
    try:
        for item, new_link in zip(ready, links, strict=True):
            outcomes[item.message.pk] = _send_one(item, new_link, now=now, finishing=finishing)
    finally:
        for message, status, fields in finishing:
            _finish(message, status, **fields)
    return outcomes


def _send_one(item: _Ready, new_link: NewLink, *, now: datetime, finishing: list[_Finishing]) -> str:
    """Claim and send one message; its outcome is left in `finishing`, for the next claim's transaction."""
    message, patient, channel = item.message, item.message.patient, item.channel
    # The claim: only one caller flips queued -> sending (committed before the provider call); the messaging rule
    # is asked again in the same statement, so an opt-out or an answer since the batch's re-check still holds.
    claim = Message.objects.filter(
        messageable_messages_q(today=timezone.localdate(now)),
        pk=message.pk,
        status=MessageStatus.QUEUED,
        due_at__lte=now,
    )
    with transaction.atomic():
        for previous, status, fields in finishing:
            _finish(previous, status, **fields)
        claimed = claim.update(
            status=MessageStatus.SENDING,
            sending_started_at=now,
            attempts=F("attempts") + 1,
            link=new_link.link,
            channel=channel,
            reply_expected=item.reply_expected,
            updated_at=timezone.now(),
        )
    finishing.clear()  # only once committed: on an error, messages_send records them on their own

    def finish(status: str, **fields: Unpack[_Outcome]) -> None:
        finishing.append(_Finishing(message, status, fields))

    if not claimed:
        return "not claimed"  # another caller got it, or it was stopped meanwhile (the sweep cancels it)
    attempts = message.attempts + 1
    outgoing = message_compose(
        message=message, token=new_link.token, to=item.address, channel=channel, reply=item.reply_expected
    )
    try:
        if channel == MessageChannel.EMAIL:
            provider_id = transports.email_send(outgoing)
        else:
            provider_id = transports.sms_transport().send(outgoing)
    except transports.PermanentError as error:
        _contact_mark_unusable(patient=patient, channel=channel, now=now)
        finish(MessageStatus.FAILED, detail=f"permanent: {error}"[:200])
        logger.warning("message %s: permanent error, contact of patient %s marked", message.pk, patient.pk)
        return "failed"
    except transports.TransientError as error:
        if attempts >= MAX_ATTEMPTS:
            finish(MessageStatus.FAILED, detail=f"gave up: {error}"[:200])
            return "failed"
        retry_at = now + RETRY_BACKOFF * 2 ** (attempts - 1)
        finish(MessageStatus.QUEUED, due_at=retry_at, enqueued_at=None, detail=f"retry: {error}"[:200])
        logger.info("message %s: transient error, retry %s", message.pk, attempts)
        return "retry"
    except Exception:
        # Whether the provider got it is unknown: staff decide, the engine does not send it again.
        finish(MessageStatus.IN_DOUBT, detail="unexpected error while sending")
        logger.exception("message %s: unexpected error while sending", message.pk)
        return "in doubt"
    finish(MessageStatus.SENT, sent_at=timezone.now(), provider_message_id=provider_id[:200], detail="")
    return "sent"


def _queued_update(message: Message, status: str, **fields: Unpack[_Handled]) -> None:
    # Inside the batch's transaction, on a row it holds locked (still queued: the condition is only a guard).
    Message.objects.filter(pk=message.pk, status=MessageStatus.QUEUED).update(
        status=status, updated_at=timezone.now(), **fields
    )


def _finish(message: Message, status: str, **fields: Unpack[_Outcome]) -> None:
    # Only from "sending": a row that staff resolved meanwhile keeps their decision.
    Message.objects.filter(pk=message.pk, status=MessageStatus.SENDING).update(
        status=status, updated_at=timezone.now(), **fields
    )


def _contact_mark_unusable(*, patient: Patient, channel: str, now: datetime) -> None:
    field = "email_undeliverable_at" if channel == MessageChannel.EMAIL else "phone_invalid_at"
    Patient.objects.filter(pk=patient.pk, **{f"{field}__isnull": True}).update(**{field: now})


def survey_link_url(token: str) -> str:
    return cast(str, settings.SITE_URL) + reverse("surveys:open", args=[token])


def message_compose(*, message: Message, token: str, to: str, channel: str, reply: bool = False) -> transports.Outgoing:
    """The name of the patient's site and the links: no name, no procedure, nothing else about the patient; sent
    from the site's address or number (channel: email or SMS). `reply`: an SMS asking for the answer as a reply
    (apps.sms reads it), with the carriers' STOP wording instead of links."""
    link = survey_link_url(token)
    stop = settings.SITE_URL + reverse("surveys:open_stop", args=[token])
    site = sender_for(message.patient.site)
    sender = site.email_from if channel == MessageChannel.EMAIL else site.sms_from
    values = {"clinic": site.name, "link": link, "stop": stop}
    with translation.override(message.patient.language):
        if reply:
            if message.block_id is not None:
                body = _("%(clinic)s: Reply with your pain right now, 0 to 10.") % values
            else:
                body = _("%(clinic)s: Reply with your average pain in the past 24 hours, 0 to 10.") % values
            body += " " + _("Reply STOP to stop these messages.")
            return transports.Outgoing(to=to, subject="", body=body, sender=sender)
        if message.kind == Kind.DIARY:
            subject = _("%(clinic)s: your pain right now") % values
            body = _("%(clinic)s: how is your pain right now? Answer here: %(link)s") % values
        elif message.baseline_of_id is not None:
            subject = _("%(clinic)s: a few questions before your procedure") % values
            body = _("%(clinic)s asks a few questions before your procedure. Please answer here: %(link)s") % values
        else:
            subject = _("%(clinic)s: a short survey about your pain") % values
            body = _("%(clinic)s asks how your pain has been. Please answer here: %(link)s") % values
        body += "\n\n" + _("To stop these messages: %(stop)s") % values
    return transports.Outgoing(to=to, subject=subject, body=body, sender=sender)


# ---------------------------------------------------------------------------------------------------------------
# Staff actions


class CannotSend(Exception):
    pass


def message_resend(*, message: Message, user: User, now: datetime | None = None) -> Message:
    """A new message (kind "resend") for the same follow-up or diary slot, due now. The original row stays as it
    was, so the history shows both."""
    now = now or timezone.now()
    with transaction.atomic():
        resend = _staff_send(patient_id=message.patient_id, target=message_slot(message), user=user, now=now)
        if message.status == MessageStatus.IN_DOUBT:
            Message.objects.filter(pk=message.pk, status=MessageStatus.IN_DOUBT).update(
                status=MessageStatus.FAILED, detail="resolved by staff: sent again"
            )
    return resend


def follow_up_send_now(*, follow_up: FollowUp, user: User, now: datetime | None = None) -> Message:
    """Staff's "Send now": the follow-up's survey link goes to the patient by their channel within a minute,
    whatever the hour, as a message of its own (who asked is kept on it)."""
    now = now or timezone.now()
    with transaction.atomic():
        return _staff_send(
            patient_id=follow_up.ablation.patient_id, target={"follow_up": follow_up}, user=user, now=now
        )


def treatment_baseline_send_now(*, treatment: Cryoablation, user: User, now: datetime | None = None) -> Message:
    """Staff's "Send baseline link" on the treatment page: the baseline questionnaires' link goes to the patient by
    their channel within a minute, as a message of its own (who asked is kept on it)."""
    now = now or timezone.now()
    with transaction.atomic():
        return _staff_send(patient_id=treatment.patient_id, target={"baseline_of": treatment}, user=user, now=now)


def _staff_send(*, patient_id: int, target: Slot, user: User, now: datetime) -> Message:
    """A staff-requested message, due now, sent by the worker once committed (inside the caller's transaction)."""
    patient = Patient.objects.select_for_update().get(pk=patient_id)
    today = timezone.localdate(now)
    if "follow_up" in target:
        follow_up = target["follow_up"]
        reason = unmessageable_reason(patient=patient, follow_up=follow_up, today=today)
        reason = reason or _not_open_yet(follow_up, now)
    elif "baseline_of" in target:
        reason = unmessageable_reason(patient=patient, today=today)
        reason = reason or baseline_stop_reason(treatment=target["baseline_of"], now=now)
    else:
        reason = unmessageable_reason(patient=patient, today=today)
        block, minutes = target["block"], target["diary_minutes"]
        reason = reason or diary_stop_reason(
            block=block, minutes=minutes, now=now, protocol=protocol_for(patient.site_id)
        )
    if reason:
        raise CannotSend(reason)
    message = _staff_message_create(patient=patient, target=target, user=user, now=now)
    transaction.on_commit(lambda: _enqueue("message_send", message.pk))
    return message


def _not_open_yet(follow_up: FollowUp, now: datetime) -> str:
    return "window not open yet" if timezone.localdate(now) < follow_up.window_start else ""


class _CallFields(TypedDict, total=False):
    """A staff message's own columns when it is not sent by the worker (the link given on a phone call)."""

    link: SurveyLink
    channel: str
    status: str
    sent_at: datetime
    detail: str


def _staff_message_create(
    *, patient: Patient, target: Slot, user: User, now: datetime, **fields: Unpack[_CallFields]
) -> Message:
    """The next of the slot's staff messages (kind "resend", numbered in order)."""
    last = Message.objects.filter(kind=Kind.RESEND, **target).aggregate(m=Max("sequence"))["m"]
    try:
        with transaction.atomic():
            return Message.objects.create(
                patient=patient,
                kind=Kind.RESEND,
                sequence=(last or 0) + 1,
                due_at=now,
                requested_by=user,
                **target,
                **fields,
            )
    except IntegrityError as error:  # pragma: no cover - two staff members at the same second
        raise CannotSend("already being sent") from error


@dataclass(frozen=True)
class LinkForCall:
    message: Message
    url: str  # holds the token: shown once to the staff member who asked, never stored or logged


def follow_up_link_for_call(*, follow_up: FollowUp, user: User, now: datetime | None = None) -> LinkForCall:
    """Staff's "Copy link": a new survey link to read out or paste on a phone call. Only its hash is stored, so
    each request makes a new one; the history keeps a row saying who took it (channel "phone call"). Consent to
    messages does not apply: the patient is on the line (it is how staff reach those no message reaches)."""
    now = now or timezone.now()
    with transaction.atomic():
        patient = Patient.objects.select_for_update().get(pk=follow_up.ablation.patient_id)
        today = timezone.localdate(now)
        reason = unmessageable_reason(patient=patient, follow_up=follow_up, today=today, by_phone=True)
        if reason := reason or _not_open_yet(follow_up, now):
            raise CannotSend(reason)
        new_link = link_create(patient=patient, follow_up=follow_up)
        message = _staff_message_create(
            patient=patient,
            target={"follow_up": follow_up},
            user=user,
            now=now,
            link=new_link.link,
            channel=MessageChannel.PHONE,
            status=MessageStatus.SENT,
            sent_at=now,
            detail="link given on a phone call",
        )
    return LinkForCall(message=message, url=survey_link_url(new_link.token))


def message_resolve_delivered(*, message: Message) -> bool:
    """Staff confirmed with the patient that an "in doubt" message arrived."""
    return bool(
        Message.objects.filter(pk=message.pk, status=MessageStatus.IN_DOUBT).update(
            status=MessageStatus.SENT, detail="confirmed by staff"
        )
    )
