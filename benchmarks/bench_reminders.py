"""The reminder sweep's claim query: an index scan whose time follows the due rows, not the whole message history.

    DATABASE_URL=postgres://... .venv/bin/python benchmarks/bench_reminders.py [--claim-only | --workers-only]

Fills the benchmark database's message table to 1,000,000 rows (sent ones, as years of reminders leave), then
times claiming 1,000 and 10,000 due rows in the sweep's bounded batches, and prints the claim's EXPLAIN. Then
(unless --claim-only; alone with --workers-only) the same sweep of 10,000 messages due at once is sent through the
fake SMS transport by real Celery workers on the `messages` queue (Past one server): first one `celery worker`
process, then two, each prefork with WORKER_CONCURRENCY children (default 8, as in the Procfile), on Redis
database BENCH_REDIS_DB (15) of REDIS_URL's server. Printed: the messages per second of each, against the 2-minute
target. The database is painreg_bench (PAINREG_BENCH_DATABASE names another).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import BENCH_DATABASE, django_setup, verdict  # noqa: E402

DATABASE = os.environ.get("PAINREG_BENCH_DATABASE", BENCH_DATABASE)
REDIS_DB = os.environ.get("BENCH_REDIS_DB", "15")

HISTORY_ROWS = 1_000_000
DUE_COUNTS = [1_000, 10_000]
SEQUENCES_PER_FOLLOW_UP = 20_000  # resends numbered 1.. per follow-up: unique rows without new follow-ups
THROUGHPUT_MESSAGES = 10_000
THROUGHPUT_TARGET_SECONDS = 120
THROUGHPUT_PATIENTS = 20
WORKER_COUNTS = (1, 2)  # `celery worker` processes on the messages queue, one run each
WORKER_CONCURRENCY = int(os.environ.get("WORKER_CONCURRENCY", "8"))  # prefork children of each


def start_workers(count: int) -> list:
    """`count` celery workers of our own on the messages queue, each with WORKER_CONCURRENCY prefork children,
    once each answers a ping (consuming); stopped by their ids."""
    import subprocess
    import uuid

    from _common import ROOT
    from drill_reminders import Worker, children

    from config.celery import app

    workers, names = [], []
    for _ in range(count):
        worker = Worker.__new__(Worker)
        names.append(f"bench-{uuid.uuid4().hex[:8]}@{os.uname().nodename}")
        worker.process = subprocess.Popen(  # noqa: S603 - our own venv's celery
            [str(ROOT / ".venv/bin/celery"), "-A", "config", "worker", "--queues=messages",
             f"--concurrency={WORKER_CONCURRENCY}", "--loglevel=ERROR", "-n", names[-1], "--without-gossip",
             "--without-mingle"],
            cwd=ROOT, env=os.environ.copy(), stdout=subprocess.DEVNULL,  # its banner; errors go to stderr
        )  # fmt: skip
        workers.append(worker)
    deadline = time.monotonic() + 60
    for worker in workers:
        while len(children(worker.process.pid)) < WORKER_CONCURRENCY and time.monotonic() < deadline:
            time.sleep(0.1)
    while len(app.control.ping(destination=names, timeout=1)) < count and time.monotonic() < deadline:
        pass
    return workers


def ensure_history() -> None:
    from datetime import timedelta

    from django.db import connection
    from django.utils import timezone

    from apps.accounts.models import User
    from apps.clinic.models import Nerve
    from apps.cryoablations.models import FollowUp
    from apps.cryoablations.services import ablation_create
    from apps.patients.models import Patient
    from apps.reminders.models import Message

    have = Message.objects.count()
    if have >= HISTORY_ROWS:
        return
    needed_follow_ups = HISTORY_ROWS // SEQUENCES_PER_FOLLOW_UP + 1
    physician, _ = User.objects.get_or_create(username="bench-reminders")
    nerve = Nerve.objects.first()
    n = 0
    while FollowUp.objects.count() < needed_follow_ups:
        patient = Patient.objects.create(
            mrn=f"BR{n:06d}{int(time.time())}", first_name="Bench", last_name="Reminders", date_of_birth="1970-01-01"
        )
        ablation_create(
            patient=patient, performed_on=timezone.localdate() - timedelta(days=14), physician=physician,
            nerve=nerve, side="left", baseline_nrs=7,
        )  # fmt: skip
        n += 1
    print(f"adding {HISTORY_ROWS - have:,} sent messages...", flush=True)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO reminders_message (public_id, patient_id, follow_up_id, kind, sequence, channel, status,
                due_at, sent_at, attempts, provider_message_id, detail, created_at, updated_at,
                reply_expected)
            SELECT gen_random_uuid(), a.patient_id, f.id, 'resend', s, 'sms', 'sent',
                   now() - interval '1 day', now() - interval '1 day', 1, 'bench', '', now(), now(), false
            FROM (SELECT id, ablation_id FROM cryoablations_followup ORDER BY id LIMIT %s) f
            JOIN cryoablations_cryoablation a ON a.id = f.ablation_id
            CROSS JOIN generate_series(1, %s) s
            ON CONFLICT DO NOTHING
            """,
            [needed_follow_ups, SEQUENCES_PER_FOLLOW_UP],
        )
        cursor.execute("ANALYZE reminders_message")


def history_messageable() -> None:
    """The claim asks the messaging rule (apps.reminders.selectors): the history's patients consent to messages by
    SMS, and their follow-ups' windows are open today, however long ago the history was made."""
    from django.db import connection

    from apps.patients.models import SMS_CONSENT_VERSION

    with connection.cursor() as cursor:
        cursor.execute(
            """UPDATE patients_patient SET preferred_channel = 'sms', reminder_consent = true,
                   sms_consent_on = current_date, sms_consent_wording = %s,
                   mobile_phone = '+1212' || lpad(id::text, 7, '0')
               WHERE mrn LIKE 'BR%%' AND NOT (preferred_channel = 'sms' AND reminder_consent
                                              AND sms_consent_on IS NOT NULL)""",
            [SMS_CONSENT_VERSION],
        )
        cursor.execute(
            """UPDATE cryoablations_followup f SET window_end = current_date + 30
               FROM cryoablations_cryoablation a JOIN patients_patient p ON p.id = a.patient_id
               WHERE a.id = f.ablation_id AND p.mrn LIKE 'BR%' AND f.window_end < current_date + 2"""
        )
        cursor.execute("ANALYZE patients_patient")
        cursor.execute("ANALYZE cryoablations_followup")


def make_due(count: int) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("UPDATE reminders_message SET status = 'sent', enqueued_at = NULL WHERE status = 'queued'")
        cursor.execute(
            """UPDATE reminders_message SET status = 'queued', enqueued_at = NULL
               WHERE id IN (SELECT id FROM reminders_message ORDER BY id DESC LIMIT %s)""",
            [count],
        )
        cursor.execute("ANALYZE reminders_message")


def queue_due():
    """THROUGHPUT_MESSAGES messages due now (those of an earlier run replaced), to patients of this benchmark only:
    consenting, by SMS, with their 2-week follow-up open today."""
    from datetime import timedelta

    from django.db import connection
    from django.utils import timezone

    from apps.accounts.models import User
    from apps.clinic.models import Nerve
    from apps.clinic.selectors import protocol_get
    from apps.cryoablations.services import ablation_create
    from apps.patients.models import SMS_CONSENT_VERSION, Patient
    from apps.reminders import services
    from apps.reminders.models import Message

    protocol = protocol_get()
    protocol.quiet_start_hour = protocol.quiet_end_hour = 0  # whatever the hour the benchmark runs at
    protocol.save()
    physician, _ = User.objects.get_or_create(username="bench-reminders")
    for n in range(THROUGHPUT_PATIENTS):
        patient, _ = Patient.objects.update_or_create(
            mrn=f"BT{n:05d}",
            defaults={
                "first_name": "Bench", "last_name": "Throughput", "date_of_birth": "1970-01-01",
                "mobile_phone": f"+1212555{n:04d}", "preferred_channel": "sms", "reminder_consent": True,
                "sms_consent_on": timezone.localdate(), "sms_consent_wording": SMS_CONSENT_VERSION,
                "opted_out_at": None, "sms_opted_out_at": None, "phone_invalid_at": None, "is_active": True,
            },
        )  # fmt: skip
        if not patient.cryoablations.filter(performed_on=timezone.localdate() - timedelta(days=14)).exists():
            ablation_create(
                patient=patient, performed_on=timezone.localdate() - timedelta(days=14), physician=physician,
                nerve=Nerve.objects.first(), side="left", baseline_nrs=7,
            )  # fmt: skip
    per_follow_up = THROUGHPUT_MESSAGES // THROUGHPUT_PATIENTS
    # What the sweep would plan for these patients is planned now and left unsent: every run sends the same rows.
    services.messages_plan(now=timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(
            """UPDATE reminders_message SET status = 'cancelled', detail = 'bench: not measured'
               WHERE status = 'queued' AND sequence <= %s""",
            [SEQUENCES_PER_FOLLOW_UP],
        )
        cursor.execute("DELETE FROM reminders_message WHERE sequence > %s", [SEQUENCES_PER_FOLLOW_UP])
        cursor.execute(
            """INSERT INTO reminders_message (public_id, patient_id, follow_up_id, kind, sequence, channel, status,
                   due_at, attempts, provider_message_id, detail, created_at, updated_at,
                reply_expected)
               SELECT gen_random_uuid(), a.patient_id, f.id, 'resend', %s + s, '', 'queued',
                      now() - interval '1 minute', 0, '', '', now(), now(), false
               FROM cryoablations_followup f
               JOIN cryoablations_cryoablation a ON a.id = f.ablation_id
               JOIN patients_patient p ON p.id = a.patient_id
               CROSS JOIN generate_series(1, %s) s
               WHERE p.mrn LIKE 'BT%%' AND f.time_point = '2w' AND a.performed_on = %s""",
            [SEQUENCES_PER_FOLLOW_UP, per_follow_up, timezone.localdate() - timedelta(days=14)],
        )
        cursor.execute("ANALYZE reminders_message")
    return Message.objects.filter(sequence__gt=SEQUENCES_PER_FOLLOW_UP)


def send_with(workers: int) -> tuple[float, bool]:
    """The sweep of THROUGHPUT_MESSAGES due messages sent by `workers` worker processes: messages per second, and
    whether all were sent within the target."""
    from django.utils import timezone

    from apps.reminders import services
    from config.celery import app

    queued = queue_due()
    app.control.purge()
    running = start_workers(workers)
    started = time.perf_counter()
    try:
        pending = queued.filter(status__in=["queued", "sending"])
        swept = 0.0
        while pending.exists() and time.perf_counter() - started < 3 * THROUGHPUT_TARGET_SECONDS:
            if time.perf_counter() - swept > 10:  # as beat would (the first sweep enqueues every one)
                services.sweep(now=timezone.now())
                swept = time.perf_counter()
            time.sleep(0.2)
        elapsed = time.perf_counter() - started
    finally:
        for worker in running:
            worker.stop()
    sent = queued.filter(status="sent").count()
    ok = sent == THROUGHPUT_MESSAGES and elapsed < THROUGHPUT_TARGET_SECONDS
    print(f"{workers} worker process{'es' if workers > 1 else ''} x {WORKER_CONCURRENCY} children: {sent:,} of "
          f"{THROUGHPUT_MESSAGES:,} due messages sent in {elapsed:.1f} s ({sent / elapsed:.0f} messages/s; "
          f"target under {THROUGHPUT_TARGET_SECONDS} s): {verdict(ok)}")  # fmt: skip
    return sent / elapsed, ok


def throughput() -> bool:
    """The same sweep sent by one worker process, then by two; how the second changes the rate."""
    print(f"\nThe sweep of {THROUGHPUT_MESSAGES:,} due messages, fake SMS transport, {os.cpu_count()} cores:")
    runs = [send_with(workers) for workers in WORKER_COUNTS]
    print(f"{WORKER_COUNTS[-1]} processes send at {runs[-1][0] / runs[0][0]:.2f}x the rate of {WORKER_COUNTS[0]} "
          f"(load average {os.getloadavg()[0]:.1f}: other jobs on the machine slow both)")  # fmt: skip
    return all(ok for _, ok in runs)


def main() -> int:
    import urllib.parse

    redis_url = urllib.parse.urlsplit(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    os.environ["REDIS_URL"] = urllib.parse.urlunsplit(redis_url._replace(path=f"/{REDIS_DB}"))
    os.environ["SMS_TRANSPORT"] = "fake"
    django_setup(DATABASE)
    if "--workers-only" in sys.argv:
        return 0 if throughput() else 1
    from unittest import mock

    from django.db import connection, transaction
    from django.utils import timezone

    from apps.reminders import services
    from apps.reminders.models import Message

    ensure_history()
    history_messageable()
    total = Message.objects.count()
    print(f"{total:,} messages in the table")
    timings = {}
    # Measure the claim, not the broker: the ids are not put on a queue here.
    with mock.patch("apps.reminders.services._enqueue"):
        for due in DUE_COUNTS:
            make_due(due)
            now = timezone.now()
            started = time.perf_counter()
            claimed = 0
            while True:
                ids = services.messages_claim_due(now=now)
                claimed += len(ids)
                if len(ids) < services.CLAIM_BATCH_SIZE:
                    break
            timings[due] = time.perf_counter() - started
            print(f"claim {due:>6,} due rows among {total:,}: {timings[due] * 1000:8.1f} ms ({claimed:,} claimed)")
    make_due(DUE_COUNTS[-1])
    with connection.cursor() as cursor, transaction.atomic():  # the claim's FOR UPDATE needs a transaction
        query = services.messages_claimable(now=timezone.now()).values_list("pk", flat=True)
        sql, params = query[: services.CLAIM_BATCH_SIZE].query.sql_with_params()
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    print("EXPLAIN of one claim batch:\n" + plan)
    make_due(0)
    index_scan = "message_queued_due_id" in plan
    ratio = timings[DUE_COUNTS[-1]] / timings[DUE_COUNTS[0]]
    print(f"partial index used: {verdict(index_scan)}; 10x the due rows took {ratio:.1f}x the time")
    if "--claim-only" in sys.argv:
        return 0 if index_scan else 1
    fast_enough = throughput()
    return 0 if index_scan and fast_enough else 1


if __name__ == "__main__":
    sys.exit(main())
