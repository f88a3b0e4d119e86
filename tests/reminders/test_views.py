"""What staff see and do: message history on the patient page, resend, revoke, the worklist's call tab."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from apps.reminders.models import Kind, Message, MessageStatus
from apps.reminders.services import message_send
from apps.surveys.models import SurveyLink
from apps.surveys.services import link_answer, patient_opt_out, response_record, token_hash
from tests.factories import make_ablation, make_reachable_patient, make_survey_link

pytestmark = pytest.mark.django_db


def sent_invitation(**patient_fields):
    """A patient whose 2-week follow-up is open today, with an invitation sent and its link."""
    patient = make_reachable_patient(**patient_fields)
    ablation = make_ablation(patient=patient, performed_on=timezone.localdate() - dt.timedelta(days=14))
    follow_up = ablation.follow_ups.get(time_point="2w")
    link, _ = make_survey_link(follow_up=follow_up)
    message = Message.objects.create(
        patient=patient,
        follow_up=follow_up,
        kind=Kind.INVITATION,
        due_at=timezone.now() - dt.timedelta(hours=1),
        status=MessageStatus.SENT,
        sent_at=timezone.now() - dt.timedelta(hours=1),
        channel="email",
        link=link,
    )
    return patient, follow_up, message


def test_the_patient_page_shows_the_message_history(staff_client):
    # given
    patient, _, _ = sent_invitation()

    # when
    page = staff_client.get(reverse("patients:detail", args=[patient.public_id]))

    # then
    assert page.status_code == 200
    table = page.text.split('id="messages"')[1]
    assert "Invitation · 2 weeks follow-up" in table and "Sent" in table and "Revoke link" in table


def test_staff_resend_queues_a_new_message(staff_client, staff_user, django_capture_on_commit_callbacks):
    # given
    patient, follow_up, message = sent_invitation()

    # when
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = staff_client.post(reverse("reminders:resend", args=[message.public_id]))

    # then
    assert response["Location"] == reverse("patients:detail", args=[patient.public_id])
    resend = Message.objects.get(kind=Kind.RESEND)
    assert (resend.follow_up, resend.status, resend.requested_by) == (follow_up, MessageStatus.QUEUED, staff_user)
    assert len(callbacks) == 1  # its id goes on the queue once the row is committed


def test_staff_cannot_resend_once_the_survey_is_answered(staff_client):
    # given
    _, follow_up, message = sent_invitation()
    SurveyLink.objects.filter(follow_up=follow_up).update(used_at=timezone.now())
    response_record(ablation=follow_up.ablation, completed_at=timezone.now(), pain_average=2, collected_via="phone")

    # when
    response = staff_client.post(reverse("reminders:resend", args=[message.public_id]), follow=True)

    # then
    assert "Not sent again: survey completed." in response.text
    assert not Message.objects.filter(kind=Kind.RESEND).exists()


def test_staff_revoke_a_link(staff_client):
    # given
    _, _, message = sent_invitation()

    # when
    staff_client.post(reverse("reminders:revoke_link", args=[message.link.public_id]))

    # then
    message.link.refresh_from_db()
    assert message.link.revoked_at is not None


def test_the_call_tab_lists_unreachable_patients_and_messages_in_doubt(staff_client):
    # given
    unreachable = make_reachable_patient(preferred_channel="none", last_name="Nophone")
    make_ablation(patient=unreachable, performed_on=timezone.localdate() - dt.timedelta(days=14))
    doubtful, _, message = sent_invitation(last_name="Doubtful")
    Message.objects.filter(pk=message.pk).update(status=MessageStatus.IN_DOUBT)

    # when
    tab = staff_client.get(reverse("cryoablations:worklist") + "?view=reach")
    main = staff_client.get(reverse("cryoablations:worklist"))

    # then
    to_call = tab.text.split('id="unreachable"')[1].split("</table>")[0]
    in_doubt = tab.text.split('id="messages-in-doubt"')[1].split("</table>")[0]
    assert "Nophone" in to_call and "Channel: phone call" in to_call and "Doubtful" not in to_call
    assert "Doubtful" in in_doubt and "In doubt" in in_doubt
    assert 'id="unreachable"' not in main.text


def test_staff_mark_an_in_doubt_message_as_delivered(staff_client):
    # given
    _, _, message = sent_invitation()
    Message.objects.filter(pk=message.pk).update(status=MessageStatus.IN_DOUBT)

    # when
    staff_client.post(reverse("reminders:delivered", args=[message.public_id]), {"next": "worklist"})

    # then
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT


def queued_reminder():
    """A patient whose 2-week follow-up is open, with the invitation sent and a reminder still queued."""
    patient, follow_up, invitation = sent_invitation()
    reminder = Message.objects.create(
        patient=patient,
        follow_up=follow_up,
        kind=Kind.REMINDER,
        sequence=1,
        due_at=timezone.now() + dt.timedelta(days=2),
    )
    return patient, follow_up, invitation, reminder


def test_answers_staff_record_stop_the_queued_reminders_at_once(staff_client):
    # given
    patient, follow_up, _, reminder = queued_reminder()

    # when
    staff_client.post(
        reverse("cryoablations:follow_up_answers", args=[follow_up.public_id]),
        {"completed_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"), "collected_via": "phone", "pain_average": 3},
    )

    # then: no sweep has run, and the page already says the reminder will not go
    reminder.refresh_from_db()
    assert (reminder.status, reminder.detail) == (MessageStatus.CANCELLED, "survey completed")
    table = staff_client.get(reverse("patients:detail", args=[patient.public_id])).text.split('id="messages"')[1]
    assert "Queued" not in table and "Not sent" in table and "survey completed" in table


def test_the_patients_opt_out_stops_the_queued_reminders_at_once(staff_client):
    # given
    patient, _, invitation, reminder = queued_reminder()

    # when
    patient_opt_out(patient=patient)

    # then: no sweep has run, and the page already says the reminder will not go
    reminder.refresh_from_db()
    assert (reminder.status, reminder.detail) == (MessageStatus.CANCELLED, "opted out")
    invitation.refresh_from_db()
    assert invitation.status == MessageStatus.SENT  # what was sent stays sent
    table = staff_client.get(reverse("patients:detail", args=[patient.public_id])).text.split('id="messages"')[1]
    assert "Queued" not in table and "opted out" in table


def test_answers_through_the_link_stop_the_queued_reminders_at_once():
    # given
    _, follow_up, invitation, reminder = queued_reminder()

    # when
    link_answer(link=invitation.link, answers={"pain_average": 2})

    # then
    reminder.refresh_from_db()
    assert (reminder.status, reminder.detail) == (MessageStatus.CANCELLED, "survey completed")
    invitation.refresh_from_db()
    assert invitation.status == MessageStatus.SENT  # what was sent stays sent


def open_follow_up(**patient_fields):
    """A reachable patient whose 2-week follow-up is open today, no message sent yet."""
    patient = make_reachable_patient(**patient_fields)
    ablation = make_ablation(patient=patient, performed_on=timezone.localdate() - dt.timedelta(days=14))
    return patient, ablation.follow_ups.get(time_point="2w")


def test_staff_send_now_sends_the_survey_link_at_once_even_in_quiet_hours(staff_client, staff_user):
    # given: 03:00 in New York, inside the protocol's quiet hours
    with time_machine.travel(dt.datetime(2026, 3, 10, 8, 0, tzinfo=dt.UTC), tick=False):
        patient, follow_up = open_follow_up(email="rosa@example.org")
        page = reverse("cryoablations:follow_up_answers", args=[follow_up.public_id])
        assert "Send now" in staff_client.get(page).text

        # when
        response = staff_client.post(reverse("reminders:send_now", args=[follow_up.public_id]), {"next": page})
        message = Message.objects.get(follow_up=follow_up)
        outcome = message_send(message_id=message.pk)  # what the worker does once the request is committed
        history = staff_client.get(reverse("patients:detail", args=[patient.public_id])).text.split('id="messages"')[1]

    # then
    assert response["Location"] == page
    message.refresh_from_db()
    assert (message.kind, message.requested_by, message.status, outcome) == ("resend", staff_user, "sent", "sent")
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["rosa@example.org"]
    assert settings.SITE_URL + "/s/" in mail.outbox[0].body
    assert "Sent by staff · 2 weeks follow-up · by " + staff_user.display_name in history


def test_staff_send_now_is_refused_with_the_reason_when_the_patient_opted_out(staff_client):
    # given
    patient, follow_up = open_follow_up(opted_out_at=timezone.now())

    # when
    response = staff_client.post(reverse("reminders:send_now", args=[follow_up.public_id]), follow=True)

    # then
    assert "Survey link not sent: opted out." in response.text
    assert not Message.objects.filter(follow_up=follow_up).exists()


def test_copy_link_shows_a_new_link_once_and_records_who_took_it(staff_client, staff_user):
    # given
    patient, follow_up = open_follow_up(preferred_channel="none")  # no message reaches them: staff call
    assert "Copy link" in staff_client.get(reverse("patients:detail", args=[patient.public_id])).text

    # when
    response = staff_client.post(reverse("reminders:link_for_call", args=[follow_up.public_id]))

    # then: the link is on the page, not kept anywhere but as a hash, and it opens the survey
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    url = re.search(r'id="survey-link" rows="3" readonly>([^<]+)</textarea>', response.text).group(1)
    token = url.removeprefix(settings.SITE_URL + "/s/").strip("/")
    link = SurveyLink.objects.get(token_hash=token_hash(token))
    assert (link.follow_up, link.used_at) == (follow_up, None)
    message = Message.objects.get(follow_up=follow_up)
    assert (message.channel, message.requested_by, message.link) == ("phone", staff_user, link)
    assert staff_client.get(reverse("reminders:link_for_call", args=[follow_up.public_id])).status_code == 405
    history = staff_client.get(reverse("patients:detail", args=[patient.public_id])).text.split('id="messages"')[1]
    assert "Phone call" in history and "link given on a phone call" in history
