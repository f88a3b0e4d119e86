"""The messaging rule (apps.reminders.selectors): each stop, read by every place that asks it, at its edges."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from apps.blocks.models import DiaryEntry
from apps.clinic.selectors import protocol_get
from apps.patients.models import Patient
from apps.reminders import services, transports
from apps.reminders.models import Kind, Message, MessageStatus
from apps.reminders.selectors import unmessageable_reason, unreachable_follow_ups
from apps.surveys.models import CollectedVia
from apps.surveys.services import response_record
from tests.factories import BlockFactory, make_ablation, make_reachable_patient

pytestmark = pytest.mark.django_db

NOW = timezone.now()

# Patients no message reaches, by stop: the reason in words, and what makes it hold.
PATIENT_STOPS = [
    pytest.param("patient inactive", {"is_active": False}, id="inactive"),
    pytest.param("opted out", {"opted_out_at": NOW}, id="opted-out"),
    pytest.param("no consent", {"reminder_consent": False}, id="no-consent"),
    pytest.param("channel: phone call", {"preferred_channel": "none"}, id="phone-call"),
    pytest.param("email bounced", {"email_undeliverable_at": NOW}, id="email-bounced"),
    pytest.param(
        "mobile number refused",
        {"preferred_channel": "sms", "mobile_phone": "+12125550100", "phone_invalid_at": NOW},
        id="mobile-refused",
    ),
]


@pytest.fixture(autouse=True)
def _no_quiet_hours():
    """Whatever the hour the tests run at, an automatic message may go."""
    protocol = protocol_get()
    protocol.quiet_start_hour = protocol.quiet_end_hour = 0
    protocol.save()


def open_follow_up(patient, days_ago: int = 14):
    """The 2-week follow-up (window: days 10 to 21 after the ablation) of an ablation `days_ago` days ago."""
    return make_ablation(
        patient=patient, performed_on=timezone.localdate() - dt.timedelta(days=days_ago)
    ).follow_ups.get(time_point="2w")


def queued_message(follow_up) -> Message:
    """A due invitation written straight into the table (as if planned before the stop came)."""
    return Message.objects.create(
        patient=follow_up.ablation.patient,
        follow_up=follow_up,
        kind=Kind.INVITATION,
        due_at=timezone.now() - dt.timedelta(minutes=1),
    )


def completed(follow_up):
    response_record(
        ablation=follow_up.ablation, completed_at=timezone.now(), pain_average=3, collected_via=CollectedVia.PHONE
    )
    return follow_up


# Messages that must not go, by stop: (reason, a follow-up and message for which it holds).
def message_for_patient_stop(fields):
    return queued_message(open_follow_up(make_reachable_patient(**fields)))


MESSAGE_STOPS = [
    *(pytest.param(p.values[0], lambda f=p.values[1]: message_for_patient_stop(f), id=p.id) for p in PATIENT_STOPS),
    pytest.param(
        "survey completed", lambda: queued_message(completed(open_follow_up(make_reachable_patient()))), id="completed"
    ),
    # The window's last day was yesterday (clinic time): closed since midnight.
    pytest.param(
        "window closed", lambda: queued_message(open_follow_up(make_reachable_patient(), days_ago=22)), id="closed"
    ),
]


@pytest.mark.parametrize(("reason", "fields"), PATIENT_STOPS)
def test_each_stop_is_the_patients_reason_and_takes_send_now_off_the_pages(staff_client, reason, fields):
    # given
    patient = make_reachable_patient(**fields)
    follow_up = open_follow_up(patient)

    # when
    page = staff_client.get(reverse("patients:detail", args=[patient.public_id])).text
    answers = staff_client.get(reverse("cryoablations:follow_up_answers", args=[follow_up.public_id])).text
    to_call = staff_client.get(reverse("cryoablations:worklist") + "?view=reach").text.split('id="unreachable"')[1]

    # then
    assert unmessageable_reason(patient=patient) == reason
    assert f"No survey messages reach this patient: {reason}." in page
    assert "Send now" not in page and "Send now" not in answers
    if patient.is_active:
        # A link read out on a phone call needs no consent, channel or contact.
        assert f"No message: {reason}" in page and "Copy link" in page and "Copy link" in answers
        assert list(unreachable_follow_ups(today=timezone.localdate())) == [follow_up]
        assert patient.last_name in to_call and reason.capitalize() in to_call
    else:
        assert "Copy link" not in page and "Copy link" not in answers
        assert patient.last_name not in to_call


def test_a_patient_a_message_reaches_has_no_reason_and_both_buttons(staff_client):
    # given
    patient = make_reachable_patient()
    follow_up = open_follow_up(patient)

    # when
    page = staff_client.get(reverse("patients:detail", args=[patient.public_id])).text

    # then
    assert unmessageable_reason(patient=patient, follow_up=follow_up, today=timezone.localdate()) == ""
    assert "Send now" in page and "Copy link" in page and 'id="unreachable"' not in page
    assert list(unreachable_follow_ups(today=timezone.localdate())) == []


@pytest.mark.parametrize(("reason", "make"), MESSAGE_STOPS)
def test_the_claim_skips_a_message_a_stop_holds_for(reason, make):
    # given
    make()
    going = queued_message(open_follow_up(make_reachable_patient()))

    # when
    claimed = services.messages_claim_due(now=timezone.now())

    # then
    assert claimed == [going.pk]


@pytest.mark.parametrize(("reason", "make"), MESSAGE_STOPS)
def test_the_send_time_recheck_cancels_a_message_a_stop_holds_for_with_its_reason(reason, make):
    # given: its id already on the queue (claimed before the stop came)
    message = make()

    # when
    outcomes = services.messages_send(message_ids=[message.pk], now=timezone.now())

    # then
    message.refresh_from_db()
    assert outcomes == {message.pk: "cancelled"}
    assert (message.status, message.detail) == (MessageStatus.CANCELLED, reason)
    assert mail.outbox == []


@pytest.mark.parametrize(("reason", "make"), MESSAGE_STOPS)
def test_the_sweep_stops_a_queued_message_a_stop_holds_for_with_its_reason(reason, make):
    # given: not due yet, so only the sweep's stop can reach it
    message = make()
    Message.objects.filter(pk=message.pk).update(due_at=timezone.now() + dt.timedelta(days=1))

    # when
    result = services.sweep(now=timezone.now())

    # then
    message.refresh_from_db()
    assert result.cancelled == 1
    assert (message.status, message.detail) == (MessageStatus.CANCELLED, reason)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"reminder_consent": False}, id="consent-withdrawn"),
        pytest.param({"email_undeliverable_at": NOW}, id="email-bounced"),
    ],
)
def test_the_claim_of_each_message_asks_the_rule_again(monkeypatch, change):
    # given: two messages of one batch; while the first is being sent, the second's patient changes
    first = queued_message(open_follow_up(make_reachable_patient()))
    second = queued_message(open_follow_up(make_reachable_patient()))
    email_send = transports.email_send

    def send_and_change(outgoing):
        Patient.objects.filter(pk=second.patient_id).update(**change)
        return email_send(outgoing)

    monkeypatch.setattr(transports, "email_send", send_and_change)

    # when
    outcomes = services.messages_send(message_ids=[first.pk, second.pk], now=timezone.now())

    # then
    assert outcomes == {first.pk: "sent", second.pk: "not claimed"}
    assert [m.to for m in mail.outbox] == [[first.patient.email]]


def test_no_diary_link_is_planned_for_a_patient_no_message_reaches():
    # given: two blocks ten minutes ago, of a consenting patient and of one without consent
    performed_at = timezone.now() - dt.timedelta(minutes=10)
    reached = BlockFactory(patient=make_reachable_patient(), performed_at=performed_at)
    BlockFactory(patient=make_reachable_patient(reminder_consent=False), performed_at=performed_at)

    # when
    services.messages_plan(now=timezone.now())

    # then
    assert set(Message.objects.values_list("block", flat=True)) == {reached.pk}


def diary_message(block, minutes: int) -> Message:
    return Message.objects.create(
        patient=block.patient,
        block=block,
        diary_minutes=minutes,
        kind=Kind.DIARY,
        due_at=block.performed_at + dt.timedelta(minutes=minutes),
    )


def test_a_diary_slot_already_answered_is_not_asked_again():
    # given: the 30-minute slot, answered by staff
    block = BlockFactory(patient=make_reachable_patient(), performed_at=timezone.now() - dt.timedelta(minutes=35))
    DiaryEntry.objects.create(block=block, minutes_after=30, nrs=4)
    message = diary_message(block, 30)

    # when
    outcomes = services.messages_send(message_ids=[message.pk], now=timezone.now())

    # then
    message.refresh_from_db()
    assert (outcomes[message.pk], message.detail) == ("cancelled", "diary slot already answered")


def test_a_diary_slot_is_not_asked_once_the_next_slot_has_come():
    # given: the 30-minute slot of a block whose next slot is at 60 minutes
    block = BlockFactory(patient=make_reachable_patient(), performed_at=timezone.now() - dt.timedelta(minutes=60))
    message = diary_message(block, 30)
    before = diary_message(block, 60)
    Message.objects.filter(pk=before.pk).update(due_at=block.performed_at + dt.timedelta(minutes=30))

    # when: at the 60th minute exactly, the 30-minute slot has closed; the 60-minute one is open
    outcomes = services.messages_send(
        message_ids=[message.pk, before.pk], now=block.performed_at + dt.timedelta(hours=1)
    )

    # then
    message.refresh_from_db()
    assert (outcomes[message.pk], message.detail) == ("cancelled", "diary slot passed")
    assert outcomes[before.pk] == "sent"


def test_send_now_waits_for_the_window_to_open(staff_user):
    # given: a follow-up whose window opens tomorrow
    follow_up = open_follow_up(make_reachable_patient(), days_ago=9)

    # when / then
    with pytest.raises(services.CannotSend, match="window not open yet"):
        services.follow_up_send_now(follow_up=follow_up, user=staff_user)
    tomorrow = timezone.now() + dt.timedelta(days=1)
    assert services.follow_up_send_now(follow_up=follow_up, user=staff_user, now=tomorrow).kind == Kind.RESEND


@pytest.mark.parametrize(
    ("reason", "make"),
    [
        pytest.param(
            "patient inactive", lambda: open_follow_up(make_reachable_patient(is_active=False)), id="inactive"
        ),
        pytest.param("survey completed", lambda: completed(open_follow_up(make_reachable_patient())), id="completed"),
        pytest.param("window closed", lambda: open_follow_up(make_reachable_patient(), days_ago=22), id="closed"),
    ],
)
def test_copy_link_is_refused_with_the_reason(staff_user, reason, make):
    # given
    follow_up = make()

    # when / then
    with pytest.raises(services.CannotSend, match=reason):
        services.follow_up_link_for_call(follow_up=follow_up, user=staff_user)


def test_copy_link_is_given_for_a_patient_who_opted_out_of_messages(staff_user):
    # given: the patient is on the phone
    follow_up = open_follow_up(make_reachable_patient(opted_out_at=NOW))

    # when
    given = services.follow_up_link_for_call(follow_up=follow_up, user=staff_user)

    # then
    assert given.url.startswith("http") and given.message.link.follow_up == follow_up
