"""A real Celery worker on Redis: due follow-ups produce exactly one invitation each, however often their ids
reach the queue."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from apps.clinic.selectors import protocol_get
from apps.reminders import services
from apps.reminders.models import Kind, Message, MessageStatus
from apps.reminders.tasks import message_send
from tests.factories import make_ablation, make_reachable_patient
from tests.helpers import wait_until

WAIT_SECONDS = 20  # a generous ceiling; the messages usually arrive in well under a second


def test_a_real_worker_sends_each_due_invitation_exactly_once(fake_sms, live_worker, queue_drained):
    # given: three patients whose 2-week follow-up is due today; invitations at midnight, no quiet hours, so
    # the invitation is due whatever the time of day the test runs at
    protocol = protocol_get()
    protocol.invitation_hour, protocol.quiet_start_hour, protocol.quiet_end_hour = 0, 0, 0
    protocol.save()
    numbers = [f"+1212555{n:04d}" for n in range(3)]
    for number in numbers:
        patient = make_reachable_patient(preferred_channel="sms", mobile_phone=number)
        make_ablation(patient=patient, performed_on=timezone.localdate() - dt.timedelta(days=14))

    # when: two sweeps at once (two beats), then every id enqueued once more (a re-enqueue after a flush)
    services.sweep(now=timezone.now())
    services.sweep(now=timezone.now())
    invitations = Message.objects.filter(kind=Kind.INVITATION)
    sent = wait_until(lambda: invitations.filter(status=MessageStatus.SENT).count() == 3, seconds=WAIT_SECONDS)
    for pk in invitations.values_list("pk", flat=True):
        message_send.delay(pk)
    drained = wait_until(queue_drained, seconds=WAIT_SECONDS)

    # then
    assert sent and drained, list(invitations.values_list("status", "detail"))
    assert sorted(sms.to for sms in fake_sms.sent) == numbers
    assert all(m.provider_message_id.startswith("fake-") for m in invitations)
