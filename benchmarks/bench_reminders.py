"""The reminder sweep's claim query: an index scan whose time follows the due rows, not the whole message history.

    DATABASE_URL=postgres://... .venv/bin/python benchmarks/bench_reminders.py

Fills the benchmark database's message table to 1,000,000 rows (sent ones, as years of reminders leave), then
times claiming 1,000 and 10,000 due rows in the sweep's bounded batches, and prints the claim's EXPLAIN.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import django_setup, verdict  # noqa: E402

HISTORY_ROWS = 1_000_000
DUE_COUNTS = [1_000, 10_000]
SEQUENCES_PER_FOLLOW_UP = 20_000  # resends numbered 1.. per follow-up: unique rows without new follow-ups


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
                due_at, sent_at, attempts, provider_message_id, detail, created_at, updated_at)
            SELECT gen_random_uuid(), a.patient_id, f.id, 'resend', s, 'sms', 'sent',
                   now() - interval '1 day', now() - interval '1 day', 1, 'bench', '', now(), now()
            FROM (SELECT id, ablation_id FROM cryoablations_followup ORDER BY id LIMIT %s) f
            JOIN cryoablations_cryoablation a ON a.id = f.ablation_id
            CROSS JOIN generate_series(1, %s) s
            ON CONFLICT DO NOTHING
            """,
            [needed_follow_ups, SEQUENCES_PER_FOLLOW_UP],
        )
        cursor.execute("ANALYZE reminders_message")


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


def main() -> int:
    django_setup()
    from unittest import mock

    from django.db import connection
    from django.utils import timezone

    from apps.reminders import services
    from apps.reminders.models import Message, MessageStatus

    ensure_history()
    total = Message.objects.count()
    print(f"{total:,} messages in the table")
    timings = {}
    # Measure the claim, not the broker: the ids are not put on a queue here.
    with mock.patch("apps.reminders.tasks.message_send.delay"):
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
    query = (
        Message.objects.filter(status=MessageStatus.QUEUED, due_at__lte=timezone.now())
        .order_by("due_at", "pk")
        .values_list("pk", flat=True)[: services.CLAIM_BATCH_SIZE]
    )
    sql, params = query.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql} FOR UPDATE SKIP LOCKED", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    print("EXPLAIN of one claim batch:\n" + plan)
    make_due(0)
    index_scan = "message_queued_due_id" in plan
    ratio = timings[DUE_COUNTS[-1]] / timings[DUE_COUNTS[0]]
    print(f"partial index used: {verdict(index_scan)}; 10x the due rows took {ratio:.1f}x the time")
    return 0 if index_scan else 1


if __name__ == "__main__":
    sys.exit(main())
