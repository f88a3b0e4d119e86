"""The reminder engine: cadence, quiet hours, daylight saving, window close, stops, errors, in-doubt rows.

The sweep takes `now`; sending is driven with time_machine so the send-time re-checks see the same clock."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from apps.clinic.models import Site
from apps.clinic.selectors import protocol_get
from apps.patients.models import Patient
from apps.reminders import services
from apps.reminders.models import Kind, Message, MessageStatus
from apps.reminders.selectors import unreachable_follow_ups
from apps.reminders.transports import PermanentError, TransientError
from apps.surveys.models import CollectedVia, SurveyLink
from apps.surveys.services import patient_opt_out, response_record, token_hash
from tests.factories import BlockFactory, make_ablation, make_reachable_patient

pytestmark = pytest.mark.django_db

NY = ZoneInfo("America/New_York")
UTC = dt.UTC


def two_week_follow_up(patient, performed_on: dt.date):
    ablation = make_ablation(patient=patient, performed_on=performed_on)
    return ablation.follow_ups.get(time_point="2w")


def schedule(follow_up) -> list[tuple[str, int, dt.datetime]]:
    return [
        (m.kind, m.sequence, m.due_at.astimezone(UTC))
        for m in Message.objects.filter(follow_up=follow_up).order_by("due_at")
    ]


def send_due(now: dt.datetime) -> list[str]:
    """What a worker would do with the ids the sweep enqueues, at `now`."""
    services.sweep(now=now)
    ids = Message.objects.filter(status=MessageStatus.QUEUED, due_at__lte=now).values_list("pk", flat=True)
    with time_machine.travel(now, tick=False):
        return [services.message_send(message_id=pk) for pk in ids]


def test_invitation_on_target_day_at_ten_then_reminders_across_the_spring_dst_switch():
    # given: an ablation on 2026-02-20; its 2-week target day is 2026-03-06, and New York moves to daylight
    # saving time on 2026-03-08
    patient = make_reachable_patient()
    follow_up = two_week_follow_up(patient, dt.date(2026, 2, 20))
    assert follow_up.target_date == dt.date(2026, 3, 6)

    # when: the sweep runs the day before the target day
    services.sweep(now=dt.datetime(2026, 3, 5, 12, 0, tzinfo=UTC))

    # then: 10:00 New York time each day: 15:00 UTC before the switch, 14:00 UTC after it
    assert schedule(follow_up) == [
        (Kind.INVITATION, 0, dt.datetime(2026, 3, 6, 15, 0, tzinfo=UTC)),
        (Kind.REMINDER, 1, dt.datetime(2026, 3, 8, 14, 0, tzinfo=UTC)),
        (Kind.REMINDER, 2, dt.datetime(2026, 3, 11, 14, 0, tzinfo=UTC)),
    ]


def test_reminders_keep_ten_oclock_across_the_autumn_dst_switch():
    # given: target day 2026-10-30; New York leaves daylight saving time on 2026-11-01
    patient = make_reachable_patient()
    follow_up = two_week_follow_up(patient, dt.date(2026, 10, 16))

    # when
    services.sweep(now=dt.datetime(2026, 10, 29, 12, 0, tzinfo=UTC))

    # then
    assert [due for _, _, due in schedule(follow_up)] == [
        dt.datetime(2026, 10, 30, 14, 0, tzinfo=UTC),
        dt.datetime(2026, 11, 1, 15, 0, tzinfo=UTC),
        dt.datetime(2026, 11, 4, 15, 0, tzinfo=UTC),
    ]


def test_nothing_is_planned_before_the_day_before_the_target_day():
    # given
    follow_up = two_week_follow_up(make_reachable_patient(), dt.date(2026, 2, 20))

    # when
    services.sweep(now=dt.datetime(2026, 3, 3, 12, 0, tzinfo=UTC))

    # then
    assert schedule(follow_up) == []


def test_quiet_hours_defer_to_eight_in_the_patients_time_zone():
    # given: a protocol that invites at 22:00, a patient in Los Angeles
    protocol = protocol_get()
    protocol.invitation_hour = 22
    protocol.save()
    patient = make_reachable_patient(timezone="America/Los_Angeles")
    follow_up = two_week_follow_up(patient, dt.date(2026, 2, 20))

    # when
    services.sweep(now=dt.datetime(2026, 3, 5, 12, 0, tzinfo=UTC))

    # then: 08:00 Los Angeles time the next morning (16:00 UTC before DST, 15:00 UTC after it)
    assert [due for _, _, due in schedule(follow_up)] == [
        dt.datetime(2026, 3, 7, 16, 0, tzinfo=UTC),
        dt.datetime(2026, 3, 9, 15, 0, tzinfo=UTC),
        dt.datetime(2026, 3, 12, 15, 0, tzinfo=UTC),
    ]


def test_a_due_message_reaching_a_worker_in_quiet_hours_waits_for_the_morning(fake_sms):
    # given: an invitation due, and the worker picks it up at 22:30 New York time
    follow_up = two_week_follow_up(make_reachable_patient(), dt.date(2026, 2, 20))
    services.sweep(now=dt.datetime(2026, 3, 5, 12, 0, tzinfo=UTC))
    invitation = Message.objects.get(follow_up=follow_up, kind=Kind.INVITATION)
    late = dt.datetime(2026, 3, 6, 22, 30, tzinfo=NY)

    # when
    with time_machine.travel(late, tick=False):
        outcome = services.message_send(message_id=invitation.pk)

    # then
    invitation.refresh_from_db()
    assert outcome == "deferred"
    assert invitation.status == MessageStatus.QUEUED
    assert invitation.due_at == dt.datetime(2026, 3, 7, 8, 0, tzinfo=NY)
    assert mail.outbox == []


def test_no_reminder_is_planned_at_or_after_the_window_close():
    # given: reminders 2, 5 and 10 days after the invitation; the 2-week window closes after day 21
    protocol = protocol_get()
    protocol.reminder_days = [2, 5, 10]
    protocol.save()
    follow_up = two_week_follow_up(make_reachable_patient(), dt.date(2026, 2, 20))

    # when
    services.sweep(now=dt.datetime(2026, 3, 5, 12, 0, tzinfo=UTC))

    # then: day 24 is past the window
    assert [(kind, seq) for kind, seq, _ in schedule(follow_up)] == [
        (Kind.INVITATION, 0),
        (Kind.REMINDER, 1),
        (Kind.REMINDER, 2),
    ]


def test_a_message_still_queued_when_the_window_closes_is_never_sent():
    # given: a reminder queued, never sent (workers down), and the window closed on 2026-03-13
    follow_up = two_week_follow_up(make_reachable_patient(), dt.date(2026, 2, 20))
    services.sweep(now=dt.datetime(2026, 3, 5, 12, 0, tzinfo=UTC))
    after_close = dt.datetime(2026, 3, 14, 12, 0, tzinfo=UTC)

    # when
    outcomes = send_due(after_close)

    # then
    assert outcomes == []
    assert mail.outbox == []
    assert set(Message.objects.filter(follow_up=follow_up).values_list("status", flat=True)) == {
        MessageStatus.CANCELLED
    }


def test_the_invitation_is_sent_by_email_with_the_clinics_name_the_link_and_an_opt_out():
    # given the clinic's one site (named from settings.CLINIC_NAME at migrate): the patient's messages give its name
    Site.objects.update(name="Lakeside Pain Clinic")
    patient = make_reachable_patient(first_name="Rosa", last_name="Unshown")
    follow_up = two_week_follow_up(patient, dt.date(2026, 2, 20))

    # when
    outcomes = send_due(dt.datetime(2026, 3, 6, 15, 0, tzinfo=UTC))

    # then: one email, no name, a link whose token opens the follow-up's link row
    assert outcomes == ["sent"]
    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert email.to == [patient.email]
    assert "Lakeside Pain Clinic" in email.subject
    assert "Rosa" not in email.body and "Unshown" not in email.body
    token = email.body.split("/s/")[1].split("/")[0]
    link = SurveyLink.objects.get(token_hash=token_hash(token))
    assert link.follow_up == follow_up
    assert "/s/" + token + "/stop/" in email.body
    invitation = Message.objects.get(follow_up=follow_up, kind=Kind.INVITATION)
    assert (invitation.status, invitation.link, invitation.channel) == (MessageStatus.SENT, link, "email")
    assert invitation.provider_message_id


def test_spanish_patient_gets_a_spanish_sms(fake_sms):
    # given
    patient = make_reachable_patient(preferred_channel="sms", mobile_phone="+12125550123", language="es")
    two_week_follow_up(patient, dt.date(2026, 2, 20))

    # when
    send_due(dt.datetime(2026, 3, 6, 15, 0, tzinfo=UTC))

    # then
    assert [sms.to for sms in fake_sms.sent] == ["+12125550123"]
    assert "Responda aquí" in fake_sms.sent[0].body


def test_completion_stops_the_reminders():
    # given: the invitation went out, then the patient answered by phone
    follow_up = two_week_follow_up(make_reachable_patient(), dt.date(2026, 2, 20))
    send_due(dt.datetime(2026, 3, 6, 15, 0, tzinfo=UTC))
    response_record(
        ablation=follow_up.ablation,
        completed_at=dt.datetime(2026, 3, 7, 15, 0, tzinfo=UTC),
        pain_average=3,
        collected_via=CollectedVia.PHONE,
    )

    # when: the reminders' times come
    outcomes = send_due(dt.datetime(2026, 3, 8, 14, 0, tzinfo=UTC))
    outcomes += send_due(dt.datetime(2026, 3, 11, 14, 0, tzinfo=UTC))

    # then
    assert outcomes == []
    assert len(mail.outbox) == 1
    reminders = Message.objects.filter(follow_up=follow_up, kind=Kind.REMINDER)
    assert set(reminders.values_list("status", flat=True)) == {MessageStatus.CANCELLED}


def test_a_claimed_message_is_rechecked_at_send_time():
    # given: the reminder's id is already on the queue when the patient answers
    follow_up = two_week_follow_up(make_reachable_patient(), dt.date(2026, 2, 20))
    services.sweep(now=dt.datetime(2026, 3, 5, 12, 0, tzinfo=UTC))
    invitation = Message.objects.get(follow_up=follow_up, kind=Kind.INVITATION)
    response_record(
        ablation=follow_up.ablation,
        completed_at=dt.datetime(2026, 3, 6, 14, 0, tzinfo=UTC),
        pain_average=3,
        collected_via=CollectedVia.PHONE,
    )

    # when
    with time_machine.travel(dt.datetime(2026, 3, 6, 15, 0, tzinfo=UTC), tick=False):
        outcome = services.message_send(message_id=invitation.pk)

    # then: the answer stopped it already (in its own transaction), so the worker finds nothing to send
    invitation.refresh_from_db()
    assert (outcome, invitation.status, invitation.detail) == (
        "not claimed",
        MessageStatus.CANCELLED,
        "survey completed",
    )
    assert mail.outbox == []


@pytest.mark.parametrize(
    "stop",
    [
        pytest.param(lambda p: patient_opt_out(patient=p), id="opt-out"),
        pytest.param(lambda p: Patient.objects.filter(pk=p.pk).update(is_active=False), id="inactive"),
        pytest.param(lambda p: Patient.objects.filter(pk=p.pk).update(reminder_consent=False), id="consent-withdrawn"),
    ],
)
def test_opt_out_inactive_or_withdrawn_consent_stop_everything(stop):
    # given
    patient = make_reachable_patient()
    follow_up = two_week_follow_up(patient, dt.date(2026, 2, 20))
    send_due(dt.datetime(2026, 3, 6, 15, 0, tzinfo=UTC))

    # when
    stop(patient)
    outcomes = send_due(dt.datetime(2026, 3, 11, 14, 0, tzinfo=UTC))

    # then
    assert outcomes == []
    assert len(mail.outbox) == 1
    assert not Message.objects.filter(follow_up=follow_up, status=MessageStatus.QUEUED).exists()


def test_a_message_is_claimed_once_however_often_its_id_is_enqueued():
    # given
    two_week_follow_up(make_reachable_patient(), dt.date(2026, 2, 20))
    now = dt.datetime(2026, 3, 6, 15, 0, tzinfo=UTC)
    services.sweep(now=now)
    invitation = Message.objects.get(kind=Kind.INVITATION)

    # when: the id arrives three times (two beats, a re-enqueue)
    with time_machine.travel(now, tick=False):
        outcomes = [services.message_send(message_id=invitation.pk) for _ in range(3)]

    # then
    assert outcomes == ["sent", "not claimed", "not claimed"]
    assert len(mail.outbox) == 1


def test_the_sweep_claims_a_row_once_then_again_only_after_the_queue_may_have_lost_it():
    # given
    two_week_follow_up(make_reachable_patient(), dt.date(2026, 2, 20))
    now = dt.datetime(2026, 3, 6, 15, 0, tzinfo=UTC)

    # when
    first = services.sweep(now=now)
    second = services.sweep(now=now + dt.timedelta(minutes=1))
    third = services.sweep(now=now + services.REENQUEUE_AFTER + dt.timedelta(minutes=1))

    # then
    assert (first.enqueued, second.enqueued, third.enqueued) == (1, 0, 1)


def test_a_send_that_never_finished_becomes_in_doubt_and_is_not_sent_again():
    # given: a worker died after flipping the row to "sending"
    two_week_follow_up(make_reachable_patient(), dt.date(2026, 2, 20))
    now = dt.datetime(2026, 3, 6, 15, 0, tzinfo=UTC)
    services.sweep(now=now)
    invitation = Message.objects.get(kind=Kind.INVITATION)
    Message.objects.filter(pk=invitation.pk).update(status=MessageStatus.SENDING, sending_started_at=now)

    # when
    services.sweep(now=now + services.IN_DOUBT_AFTER - dt.timedelta(seconds=1))
    still_sending = Message.objects.get(pk=invitation.pk).status
    result = services.sweep(now=now + services.IN_DOUBT_AFTER + dt.timedelta(seconds=1))

    # then
    invitation.refresh_from_db()
    assert still_sending == MessageStatus.SENDING
    assert (result.in_doubt, invitation.status) == (1, MessageStatus.IN_DOUBT)
    with time_machine.travel(now + dt.timedelta(hours=1), tick=False):
        assert services.message_send(message_id=invitation.pk) == "not claimed"
    assert mail.outbox == []


def test_a_transient_error_is_retried_later_with_backoff(fake_sms):
    # given
    patient = make_reachable_patient(preferred_channel="sms", mobile_phone="+12125550123")
    two_week_follow_up(patient, dt.date(2026, 2, 20))
    now = dt.datetime(2026, 3, 6, 15, 0, tzinfo=UTC)
    fake_sms.fail_with = TransientError("timeout")

    # when
    first = send_due(now)
    invitation = Message.objects.get(kind=Kind.INVITATION)
    fake_sms.fail_with = None
    too_early = send_due(now + dt.timedelta(minutes=1))
    retried = send_due(invitation.due_at)

    # then
    assert (first, too_early, retried) == (["retry"], [], ["sent"])
    assert invitation.due_at == now + services.RETRY_BACKOFF
    assert len(fake_sms.sent) == 1


def test_a_permanent_error_marks_the_number_and_puts_the_patient_on_the_call_list(fake_sms):
    # given
    patient = make_reachable_patient(preferred_channel="sms", mobile_phone="+12125550123")
    follow_up = two_week_follow_up(patient, dt.date(2026, 2, 20))
    fake_sms.fail_with = PermanentError("twilio 21211")
    now = dt.datetime(2026, 3, 6, 15, 0, tzinfo=UTC)

    # when
    outcomes = send_due(now)
    fake_sms.fail_with = None
    later = send_due(dt.datetime(2026, 3, 8, 14, 0, tzinfo=UTC))

    # then
    patient.refresh_from_db()
    assert outcomes == ["failed"]
    assert patient.phone_invalid_at is not None
    assert later == []  # the sweep stopped the reminders: no usable contact left
    reminders = Message.objects.filter(follow_up=follow_up, kind=Kind.REMINDER)
    assert set(reminders.values_list("status", "detail")) == {(MessageStatus.CANCELLED, "mobile number refused")}
    assert list(unreachable_follow_ups(today=dt.date(2026, 3, 8))) == [follow_up]


def test_patients_without_a_channel_get_no_messages_and_are_on_the_call_list():
    # given
    patient = make_reachable_patient(preferred_channel="none")
    follow_up = two_week_follow_up(patient, dt.date(2026, 2, 20))

    # when
    send_due(dt.datetime(2026, 3, 6, 15, 0, tzinfo=UTC))

    # then
    assert not Message.objects.exists()
    assert list(unreachable_follow_ups(today=dt.date(2026, 3, 6))) == [follow_up]


def test_diary_links_go_out_at_the_protocols_minutes_after_the_block():
    # given: a block at 14:00 New York time
    patient = make_reachable_patient()
    performed = dt.datetime(2026, 3, 5, 14, 0, tzinfo=NY)
    block = BlockFactory(patient=patient, performed_at=performed)

    # when
    services.sweep(now=performed + dt.timedelta(minutes=5))

    # then
    rows = Message.objects.filter(block=block).order_by("due_at")
    assert [(m.kind, m.diary_minutes, m.due_at) for m in rows] == [
        (Kind.DIARY, minutes, performed + dt.timedelta(minutes=minutes)) for minutes in [30, 60, 120, 240, 360]
    ]


def test_diary_slots_in_quiet_hours_or_long_past_are_skipped():
    # given: a block at 16:00, recorded in the registry at 17:00 (the 30-minute slot has long passed) and whose
    # 360-minute slot falls at 22:00, in the quiet hours
    patient = make_reachable_patient()
    performed = dt.datetime(2026, 3, 5, 16, 0, tzinfo=NY)
    block = BlockFactory(patient=patient, performed_at=performed)

    # when
    services.sweep(now=performed + dt.timedelta(minutes=60))

    # then
    assert list(Message.objects.filter(block=block).order_by("due_at").values_list("diary_minutes", flat=True)) == [
        60,
        120,
        240,
    ]


def test_staff_resend_makes_a_new_row_and_keeps_the_history(staff_user):
    # given: an invitation that went out
    follow_up = two_week_follow_up(make_reachable_patient(), dt.date(2026, 2, 20))
    send_due(dt.datetime(2026, 3, 6, 15, 0, tzinfo=UTC))
    invitation = Message.objects.get(kind=Kind.INVITATION)

    # when
    with time_machine.travel(dt.datetime(2026, 3, 7, 15, 0, tzinfo=UTC), tick=False):
        resend = services.message_resend(message=invitation, user=staff_user)
        outcome = services.message_send(message_id=resend.pk)

    # then
    assert (resend.kind, resend.sequence, resend.follow_up, outcome) == (Kind.RESEND, 1, follow_up, "sent")
    assert len(mail.outbox) == 2
    assert SurveyLink.objects.filter(follow_up=follow_up).count() == 2


def test_quiet_hours_rule_itself():
    protocol = protocol_get()
    at = services.quiet_hours_end
    assert at(dt.datetime(2026, 3, 5, 20, 59, tzinfo=NY), NY, protocol) == dt.datetime(2026, 3, 5, 20, 59, tzinfo=NY)
    assert at(dt.datetime(2026, 3, 5, 21, 0, tzinfo=NY), NY, protocol) == dt.datetime(2026, 3, 6, 8, 0, tzinfo=NY)
    assert at(dt.datetime(2026, 3, 6, 7, 59, tzinfo=NY), NY, protocol) == dt.datetime(2026, 3, 6, 8, 0, tzinfo=NY)
    assert at(dt.datetime(2026, 3, 6, 8, 0, tzinfo=NY), NY, protocol) == dt.datetime(2026, 3, 6, 8, 0, tzinfo=NY)
    # the night of the spring switch: 08:00 EDT is 12:00 UTC
    assert at(dt.datetime(2026, 3, 8, 3, 30, tzinfo=NY), NY, protocol) == dt.datetime(2026, 3, 8, 12, 0, tzinfo=UTC)


def test_sweep_uses_its_now_argument_not_the_clock():
    # given
    follow_up = two_week_follow_up(make_reachable_patient(), dt.date(2026, 2, 20))
    now = dt.datetime(2026, 3, 6, 15, 0, tzinfo=UTC)
    assert timezone.now() > now + dt.timedelta(days=30)  # the real clock is long past every window here

    # when
    result = services.sweep(now=now)

    # then
    assert (result.planned, result.enqueued) == (3, 1)
    assert Message.objects.get(follow_up=follow_up, enqueued_at=now).kind == Kind.INVITATION
