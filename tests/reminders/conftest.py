from __future__ import annotations

import pytest

from apps.reminders.transports import FAKE_SMS
from config.celery import app as celery_app


@pytest.fixture
def fake_sms(settings):
    settings.SMS_TRANSPORT = "fake"
    FAKE_SMS.sent.clear()
    FAKE_SMS.fail_with = None
    yield FAKE_SMS
    FAKE_SMS.sent.clear()
    FAKE_SMS.fail_with = None


@pytest.fixture
def _queue_left_empty():
    """Set up before the worker, so torn down after it: the ids a test put on the queue (REDIS_URL's database, the
    only one the tests use) and those the stopped worker handed back are dropped, so none outlives its test. A
    message id left there would be taken by the next worker on that database, of this run or of another, and send
    or stop whichever message has that id in its own database: the next test's first message."""
    yield
    celery_app.control.purge()


@pytest.fixture
def live_worker(_queue_left_empty, live_worker):
    """tests/conftest.py's real worker, whose queue is left empty afterwards."""
    return live_worker


@pytest.fixture
def queue_drained():
    """A check for wait_until: nothing waiting on the queue, nor taken by the worker and not yet done."""
    return _queue_drained


def _queue_drained() -> bool:
    # Every queue of settings.CELERY_TASK_QUEUES (the messages' and the default one): the worker consumes them all.
    with celery_app.connection_for_write() as connection:
        client = connection.default_channel.client
        waiting = sum(client.llen(queue) for queue in celery_app.amqp.queues)
    inspect = celery_app.control.inspect(timeout=0.5)
    taken = [*(inspect.active() or {}).values(), *(inspect.reserved() or {}).values()]
    return waiting == 0 and not any(taken)
