"""Two Celery queues (README: "Past one server"): the patients' messages on "messages", everything else on
"default", so a long report run never holds up a reminder."""

from __future__ import annotations

import pytest

from config.celery import app as celery_app

# No database work here, but tests/conftest.py's autouse fixture reads the clinic catalogue.
pytestmark = pytest.mark.django_db

MESSAGES = [
    "apps.reminders.tasks.reminders_sweep",
    "apps.reminders.tasks.message_send",
    "apps.reminders.tasks.messages_send",
    "apps.sms.tasks.inbound_process",
    "apps.sms.tasks.inbound_sweep",
]
DEFAULT = ["apps.reports.tasks.report_run_build", "apps.reports.tasks.reports_monthly"]


def test_every_task_of_the_reminders_and_sms_apps_is_named_here():
    # given every task the worker knows (its start imports every app's tasks module)
    celery_app.loader.import_default_modules()
    names = {name for name in celery_app.tasks if name.startswith("apps.")}

    # then the ones of the messages' apps are the list above: a new one is routed on purpose
    assert {n for n in names if n.startswith(("apps.reminders.", "apps.sms."))} == set(MESSAGES)
    assert set(DEFAULT) <= names


@pytest.mark.parametrize(("names", "queue"), [(MESSAGES, "messages"), (DEFAULT, "default")])
def test_tasks_land_on_their_queue_in_redis(names, queue, _queue_left_empty):
    # when each task is sent as the services send them (by name, to the broker)
    with celery_app.connection_for_write() as connection:
        client = connection.default_channel.client
        for name in names:
            celery_app.send_task(name, args=[])

        # then the messages wait on their queue alone
        assert client.llen(queue) == len(names)
        assert sum(client.llen(q) for q in celery_app.amqp.queues if q != queue) == 0


def test_a_worker_without_queues_named_consumes_both():
    # `make run`'s worker and the tests' live worker start without -Q: they take every queue of the settings
    assert set(celery_app.amqp.queues) == {"default", "messages"}
    assert celery_app.conf.task_default_queue == "default"


@pytest.fixture
def _queue_left_empty():
    celery_app.control.purge()
    yield
    celery_app.control.purge()
