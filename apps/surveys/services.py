from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Required, TypedDict, Unpack, cast

from django.db import transaction
from django.db.models import Case, OuterRef, QuerySet, Subquery, When
from django.utils import timezone

from apps.accounts.models import User
from apps.blocks.models import DiagnosticBlock, DiaryEntry
from apps.cryoablations.models import Cryoablation, FollowUp
from apps.cryoablations.services import ablation_save
from apps.instruments.models import CollectedVia as InstrumentVia
from apps.instruments.models import Instrument
from apps.instruments.services import instruments_record
from apps.patients.models import Patient

from .models import CollectedVia, SurveyLink, SurveyResponse


def follow_up_for(*, ablation: Cryoablation, completed_at: datetime) -> FollowUp | None:
    """The follow-up whose window holds the completion date, counted in the clinic's time zone (a survey at
    23:30 local time belongs to that local date, whatever its UTC date). None: unscheduled."""
    local_date = timezone.localdate(completed_at)
    return ablation.follow_ups.filter(window_start__lte=local_date, window_end__gte=local_date).first()


@transaction.atomic
def response_record(*, ablation: Cryoablation, completed_at: datetime, **answers: Any) -> SurveyResponse:
    response = SurveyResponse(
        ablation=ablation,
        completed_at=completed_at,
        follow_up=follow_up_for(ablation=ablation, completed_at=completed_at),
        **answers,
    )
    response.full_clean()
    response.save()
    if response.follow_up_id:
        counted_responses_refresh(follow_ups=FollowUp.objects.filter(pk=response.follow_up_id))
    return response


@transaction.atomic
def follow_up_answers_record(
    *,
    follow_up: FollowUp,
    answers: dict[str, Any],
    instruments: Iterable[tuple[Instrument, dict[str, int]]] = (),
    recorded_by: User | None = None,
) -> SurveyResponse:
    """Staff's answers form: the pain answers and the instruments asked on the same call or visit, at the same time,
    all written or none (InstrumentAnswerError names a refused instrument)."""
    response = response_record(ablation=follow_up.ablation, recorded_by=recorded_by, **answers)
    instruments_record(
        treatment=follow_up.ablation,
        instruments=instruments,
        completed_at=response.completed_at,
        collected_via=InstrumentVia.STAFF,
        recorded_by=recorded_by,
    )
    return response


@transaction.atomic
def ablation_update(
    *, ablation: Cryoablation, qualifying_block: DiagnosticBlock | None = None, **fields: Any
) -> Cryoablation:
    """Staff correct an ablation: its fields, qualifying block and re-dated follow-ups
    (cryoablations.services.ablation_save), then its answers re-assigned to the follow-ups' new windows. Here,
    because the answers are this app's and the ablation app, below it, knows nothing of them."""
    ablation_save(ablation=ablation, qualifying_block=qualifying_block, **fields)
    _responses_assign(ablation=ablation)
    # The patient's follow-ups choose their answers again, this treatment's and, since the edit may have moved a
    # repeat's date, those of the patient's other treatments.
    counted_responses_refresh(follow_ups=FollowUp.objects.filter(ablation__patient_id=ablation.patient_id))
    return ablation


def _responses_assign(*, ablation: Cryoablation) -> None:
    """Re-assign every answer of an ablation to the follow-up its completion date falls in."""
    for response in ablation.survey_responses.all():
        follow_up = follow_up_for(ablation=ablation, completed_at=response.completed_at)
        if follow_up != response.follow_up:
            response.follow_up = follow_up
            response.save(update_fields=["follow_up"])


# The answer a follow-up is judged by is the greatest in this order: of those inside its window, the one completed
# last, on equal times the one recorded last (outcome-definitions.md, Cryoablation and follow-up), then the last id.
COUNTED_BY = ("completed_at", "recorded_at", "pk")


def counted_response_key(answer: object) -> tuple[Any, ...]:
    """COUNTED_BY as a Python sort key, for writers that pick the counted answer before writing (the import)."""
    return tuple(getattr(answer, name) for name in COUNTED_BY)


def counted_responses_refresh(*, follow_ups: QuerySet[FollowUp]) -> int:
    """Point each follow-up at the answer it is judged by (COUNTED_BY); a superseded follow-up counts none."""
    counted = SurveyResponse.objects.filter(follow_up=OuterRef("pk")).order_by(*(f"-{name}" for name in COUNTED_BY))
    return follow_ups.update(
        counted_response=Case(When(superseded_by__isnull=True, then=Subquery(counted.values("pk")[:1])), default=None)
    )


# ---------------------------------------------------------------------------------------------------------------
# Patients' secure links

TOKEN_BYTES = 24  # 192 bits of randomness; the issue asks for at least 128
# A diary link stays open until the next slot; the last one this long after its time.
LAST_DIARY_SLOT_OPEN = timedelta(hours=1)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _end_of_clinic_day(day: date) -> datetime:
    """Midnight after `day` in the clinic's time zone (days are counted there, outcome-definitions.md)."""
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=timezone.get_default_timezone())


def follow_up_closes_at(follow_up: FollowUp) -> datetime:
    """The end of the window's last day: an answer until then still counts for it."""
    return _end_of_clinic_day(follow_up.window_end)


def baseline_link_closes_at(treatment: Cryoablation) -> datetime:
    """The end of the treatment day: a baseline answered later would not count (outcome-definitions.md,
    "Version 2: exact readings", Instruments: the treatment day counts, the day after not)."""
    return _end_of_clinic_day(treatment.performed_on)


def diary_slot_closes_at(*, block: DiagnosticBlock, minutes: int, slots: list[int]) -> datetime:
    later = sorted(m for m in slots if m > minutes)
    if later:
        return block.performed_at + timedelta(minutes=later[0])
    return block.performed_at + timedelta(minutes=minutes) + LAST_DIARY_SLOT_OPEN


@dataclass(frozen=True)
class NewLink:
    link: SurveyLink
    token: str  # returned once, to be put in the message or shown to staff; never stored


class LinkTarget(TypedDict, total=False):
    """What a link opens, link_create's keyword arguments: a follow-up's survey, or a diary slot (its block and
    minutes, with its expiry)."""

    patient: Required[Patient]
    follow_up: FollowUp | None
    block: DiagnosticBlock | None
    diary_minutes: int | None
    baseline_of: Cryoablation | None
    expires_at: datetime | None


def links_create(*, targets: Sequence[LinkTarget]) -> list[NewLink]:
    """New links, one per target (the keyword arguments of link_create), written in one statement: the reminders
    make a batch's links at once, right before their commit, as each link is a row of the hash-chained change
    history whose trigger holds one registry-wide lock until the commit."""
    made = [_link_new(**target) for target in targets]
    SurveyLink.objects.bulk_create([item.link for item in made])
    return made


def link_create(**target: Unpack[LinkTarget]) -> NewLink:
    """A new link and its token, valid until `expires_at` (a follow-up's link: its window's close by default)."""
    return links_create(targets=[target])[0]


def _link_new(
    *,
    patient: Patient,
    follow_up: FollowUp | None = None,
    block: DiagnosticBlock | None = None,
    diary_minutes: int | None = None,
    baseline_of: Cryoablation | None = None,
    expires_at: datetime | None = None,
) -> NewLink:
    if expires_at is None:
        if baseline_of is not None:
            expires_at = baseline_link_closes_at(baseline_of)
        elif follow_up is None:
            raise ValueError("a diary slot's link needs its expiry (diary_slot_closes_at)")
        else:
            expires_at = follow_up_closes_at(follow_up)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    link = SurveyLink(
        token_hash=token_hash(token),
        patient=patient,
        follow_up=follow_up,
        block=block,
        diary_minutes=diary_minutes,
        baseline_of=baseline_of,
        expires_at=expires_at,
    )
    return NewLink(link, token)


def link_revoke(*, link: SurveyLink, now: datetime | None = None) -> bool:
    return bool(SurveyLink.objects.filter(pk=link.pk, revoked_at__isnull=True).update(revoked_at=now or timezone.now()))


def link_mark_opened(*, link: SurveyLink, now: datetime) -> None:
    SurveyLink.objects.filter(pk=link.pk, opened_at__isnull=True).update(opened_at=now)


class LinkNotUsable(Exception):
    """Used, revoked or expired in the meantime (a parallel submit got there first)."""


@transaction.atomic
def link_answer(
    *,
    link: SurveyLink,
    answers: dict[str, Any],
    now: datetime | None = None,
    via: CollectedVia = CollectedVia.PATIENT_LINK,
    instruments: Iterable[tuple[Instrument, dict[str, int]]] = (),
) -> None:
    """Store the patient's answers through `link`, once. The conditional update is the single-use guarantee:
    of two submits at once, the second waits for the first's row lock, then finds used_at set and stores nothing.
    `via`: the link's page, or the patient's SMS reply to the message that carried it (apps.sms). `instruments`:
    the function and mood instruments answered on the link's page, written in the same transaction (a refused one
    leaves nothing written, the link unused)."""
    now = now or timezone.now()
    claimed = SurveyLink.objects.filter(
        pk=link.pk, used_at__isnull=True, revoked_at__isnull=True, expires_at__gt=now
    ).update(used_at=now)
    if not claimed:
        raise LinkNotUsable
    if link.follow_up_id or link.baseline_of_id:
        if link.follow_up_id:
            follow_up = FollowUp.objects.select_related("ablation").get(pk=link.follow_up_id)
            treatment = follow_up.ablation
            response_record(ablation=treatment, completed_at=now, collected_via=via, **answers)
            # The other links sent for this follow-up have nothing left to ask.
            others = SurveyLink.objects.filter(follow_up=follow_up)
        else:
            treatment = Cryoablation.objects.get(pk=cast(int, link.baseline_of_id))
            others = SurveyLink.objects.filter(baseline_of=treatment)
        instruments_record(
            treatment=treatment,
            instruments=instruments,
            completed_at=now,
            collected_via=InstrumentVia.PATIENT_LINK,
            language=link.patient.language,
        )
        others.filter(used_at__isnull=True).update(used_at=now)
    else:
        # A diary link: its block and minutes are set (the table's check constraint).
        block_id, minutes = cast(int, link.block_id), cast(int, link.diary_minutes)
        source = DiaryEntry.Source.SMS if via == CollectedVia.SMS_REPLY else DiaryEntry.Source.PATIENT
        patient_diary_entry_record(block_id=block_id, minutes=minutes, nrs=answers["pain_current"], source=source)


def patient_diary_entry_record(
    *, block_id: int, minutes: int, nrs: int, source: DiaryEntry.Source = DiaryEntry.Source.PATIENT
) -> DiaryEntry:
    """The patient's own score lands in the block's diary, marked patient-reported (by the link or by an SMS
    reply); the block's result is computed from the diary, so it updates with it. An entry staff already made for
    that minute is kept."""
    entry, _ = DiaryEntry.objects.get_or_create(
        block_id=block_id, minutes_after=minutes, defaults={"nrs": nrs, "source": source}
    )
    return entry


def patient_opt_out(*, patient: Patient, now: datetime | None = None) -> None:
    """The patient's opt-out link: no further message of any kind. Queued ones are cancelled ("opted out") in this
    transaction by the reminders app's trigger on the patient row (reminders migration 0006): this app sits below
    reminders and does not call it."""
    now = now or timezone.now()
    Patient.objects.filter(pk=patient.pk, opted_out_at__isnull=True).update(opted_out_at=now)
