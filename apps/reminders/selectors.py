from __future__ import annotations

from datetime import date
from functools import reduce
from operator import or_
from typing import NamedTuple, TypedDict
from uuid import UUID

from django.db.models import Case, CharField, Q, QuerySet, Value, When
from django.shortcuts import get_object_or_404

from apps.accounts.models import User
from apps.cryoablations.models import FollowUp, window_range
from apps.patients.models import Channel, Patient
from apps.patients.selectors import visible_to

from .models import Message, MessageStatus

HISTORY_LIMIT = 200  # a patient's page shows the latest messages; years of reminders stay in the table
WORKLIST_SECTION_LIMIT = 50


def message_get(*, public_id: UUID | str, user: User) -> Message:
    """The message, if `user` may see its patient (apps.patients.selectors.visible_to); else 404."""
    messages = Message.objects.select_related("patient", "follow_up", "block")
    return get_object_or_404(visible_to(messages, user=user), public_id=public_id)


def messages_for_patient(*, patient: Patient) -> QuerySet[Message]:
    return (
        Message.objects.filter(patient=patient)
        .select_related("follow_up", "block__nerve", "baseline_of", "link", "requested_by")
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


# ---------------------------------------------------------------------------------------------------------------
# The messaging rule: may a survey message reach this patient, about this follow-up, now?
#
# Its one definition is the list of stops below, in the order their reasons are given: each a reason in words and
# the condition under which it holds. The database reads it as a filter, "no stop holds" (the plan, the sweep's
# stop and claim, the send's conditional update: messageable_q), and as the first stop that holds (the send-time
# re-check, the worklist's "To call" tab, the staff pages' "Send now" and "Copy link": unmessageable_reason_expr,
# unmessageable_reason, link_refusals). A diary slot's own stops (answered, passed) depend on the protocol's slots
# and are the send's alone (services.diary_stop_reason).


class Stop(NamedTuple):
    reason: str
    holds: Q
    # A link staff read out on a phone call is stopped too (the patient on the line needs no consent, channel or
    # contact for it).
    by_phone: bool = False


def _patient_stops(p: str) -> list[Stop]:
    """`p`: the path from the rows filtered to their patient ("" for patients). A patient's channel always has its
    address (the patients table's constraints), so a bounce or a refusal is what leaves a channel without one."""
    return [
        Stop("patient inactive", Q(**{f"{p}is_active": False}), by_phone=True),
        Stop("opted out", Q(**{f"{p}opted_out_at__isnull": False})),
        Stop("no consent", Q(**{f"{p}reminder_consent": False})),
        Stop("channel: phone call", Q(**{f"{p}preferred_channel": Channel.NONE})),
        # SMS only with recorded SMS consent (date, who, wording), and never after the number texted STOP.
        Stop("no SMS consent", Q(**{f"{p}preferred_channel": Channel.SMS, f"{p}sms_consent_on__isnull": True})),
        Stop("texted STOP", Q(**{f"{p}preferred_channel": Channel.SMS, f"{p}sms_opted_out_at__isnull": False})),
        Stop(
            "email bounced", Q(**{f"{p}preferred_channel": Channel.EMAIL, f"{p}email_undeliverable_at__isnull": False})
        ),
        Stop(
            "mobile number refused", Q(**{f"{p}preferred_channel": Channel.SMS, f"{p}phone_invalid_at__isnull": False})
        ),
    ]


def _follow_up_stops(f: str, today: date) -> list[Stop]:
    """`f`: the path to the follow-up ("" for follow-ups). Rows without one (a diary slot's messages) match none.
    A window closes at the end of its last day in the clinic's time zone (surveys.services.follow_up_closes_at)."""
    return [
        Stop("survey completed", Q(**{f"{f}counted_response__isnull": False}), by_phone=True),
        Stop("superseded by a repeat treatment", Q(**{f"{f}superseded_by__isnull": False}), by_phone=True),
        Stop("window closed", Q(**{f"{f}window_end__lt": today}), by_phone=True),
    ]


def _stops(*, patient: str, follow_up: str | None, today: date | None, by_phone: bool) -> list[Stop]:
    stops = _patient_stops(patient)
    if follow_up is not None:
        if today is None:
            raise ValueError("a follow-up's stops need the clinic's date")
        stops += _follow_up_stops(follow_up, today)
    return [stop for stop in stops if stop.by_phone or not by_phone]


def messageable_q(
    *, patient: str = "", follow_up: str | None = None, today: date | None = None, by_phone: bool = False
) -> Q:
    """The rows none of whose stops holds: `patient` and `follow_up` are the paths from them to the patient and
    the follow-up (None: the follow-up's stops are not asked), `today` the clinic's date."""
    stops = _stops(patient=patient, follow_up=follow_up, today=today, by_phone=by_phone)
    return ~reduce(or_, (stop.holds for stop in stops))


def unmessageable_reason_expr(
    *, patient: str = "", follow_up: str | None = None, today: date | None = None, by_phone: bool = False
) -> Case:
    """The first stop that holds, in words, or "": an annotation of the rows (paths as for messageable_q)."""
    stops = _stops(patient=patient, follow_up=follow_up, today=today, by_phone=by_phone)
    return Case(
        *(When(stop.holds, then=Value(stop.reason)) for stop in stops), default=Value(""), output_field=CharField()
    )


class Paths(TypedDict, total=False):
    """The paths from the rows asked about to their patient and follow-up (messageable_q's keyword arguments)."""

    patient: str
    follow_up: str


MESSAGE_PATHS: Paths = {
    "patient": "patient__",
    "follow_up": "follow_up__",
}  # from a message to its patient and follow-up


def messageable_messages_q(*, today: date) -> Q:
    """Messages that may go now, as far as their patient and follow-up go."""
    return messageable_q(**MESSAGE_PATHS, today=today)


def unmessageable_reason(
    *, patient: Patient, follow_up: FollowUp | None = None, today: date | None = None, by_phone: bool = False
) -> str:
    """Why no survey message may reach `patient` (about `follow_up`, when given) on `today`, or "": read from the
    database, as the send reads it. `by_phone`: why no link may be given on a phone call."""
    rows: QuerySet[Patient] | QuerySet[FollowUp]
    paths: Paths
    if follow_up is None:
        rows, paths = Patient.objects.filter(pk=patient.pk), {"patient": ""}
    else:
        rows, paths = FollowUp.objects.filter(pk=follow_up.pk), {"patient": "ablation__patient__", "follow_up": ""}
    reason: str = (
        rows.annotate(reason=unmessageable_reason_expr(**paths, today=today, by_phone=by_phone))
        .values_list("reason", flat=True)
        .get()
    )
    return reason


class LinkRefusals(NamedTuple):
    """Why staff's "Send now" (no message reaches the patient) and "Copy link" (no link for a call) are refused,
    or "" each: what the pages show instead of the buttons."""

    send: str
    call: str


def link_refusals(*, patient: Patient) -> LinkRefusals:
    """The patient's two refusals, in one query."""
    reasons = Patient.objects.filter(pk=patient.pk).annotate(
        send=unmessageable_reason_expr(), call=unmessageable_reason_expr(by_phone=True)
    )
    return LinkRefusals(*reasons.values_list("send", "call").get())


def unreachable_follow_ups(*, today: date) -> QuerySet[FollowUp]:
    """Open, unanswered follow-ups of active patients whom no message reaches (they need a phone call), the
    soonest due first, each with its `unmessageable_reason`."""
    return (
        FollowUp.objects.filter(
            counted_response__isnull=True, superseded_by__isnull=True, ablation__patient__is_active=True
        )
        .alias(window=window_range())
        # The stubs read the alias's lookup as a text field's: it is a daterange (window_range's output_field).
        .filter(window__contains=today)  # type: ignore[misc]
        .filter(~messageable_q(patient="ablation__patient__"))
        .annotate(unmessageable_reason=unmessageable_reason_expr(patient="ablation__patient__"))
        .select_related("ablation__patient", "ablation__nerve")
        .order_by("target_date", "pk")
    )
