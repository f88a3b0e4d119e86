"""Two-way SMS (issue 17): the Twilio webhook under load, and replies read end to end.

    python benchmarks/bench_sms.py          (or: make bench)

1. The webhook at 50 requests a second for 60 s (BENCH_SMS_SECONDS, BENCH_SMS_RATE) on loopback: gunicorn serving
   config.wsgi on 127.0.0.1, each request a signed Twilio form post from its own number, sent on a fixed schedule
   (open loop: a slow answer does not slow the sender). Printed: p50/p95/max latency, and how many were stored (none
   may be lost). Target: p95 < 50 ms.
2. 10,000 replies (BENCH_SMS_REPLIES) read end to end: as many patients, each with an open diary prompt sent in
   reply mode; each reply stored through the webhook's service (inbound_receive) and read (inbound_process, the
   worker's task body, in this process), landing as a diary entry. Printed: the rate of each phase.

Uses the database painreg_bench_sms (PAINREG_BENCH_DATABASE), emptied of its inbound messages and bench patients at
the start; Redis from REDIS_URL (its queue is purged at the end: no worker reads the ids the webhook enqueued).
"""

from __future__ import annotations

import os
import sys
import threading
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import django_setup, free_port, median, p95, start_server, stop_server, verdict  # noqa: E402

DATABASE = os.environ.get("PAINREG_BENCH_DATABASE", "painreg_bench_sms")
SECONDS = int(os.environ.get("BENCH_SMS_SECONDS", "60"))
RATE = int(os.environ.get("BENCH_SMS_RATE", "50"))
REPLIES = int(os.environ.get("BENCH_SMS_REPLIES", "10000"))
TOKEN = "bench-twilio-auth-token"  # noqa: S105 - a benchmark's own, on loopback
TARGET_P95_MS = 50
WARM_UP = 40
NUMBER_BASE = 12_025_550_000  # +1 202 555 xxxx... numbers of the bench's patients and senders


def webhook_load(port: int) -> None:
    from twilio.request_validator import RequestValidator

    from apps.sms.models import InboundSms

    url = f"http://127.0.0.1:{port}/sms/inbound/twilio/"
    validator = RequestValidator(TOKEN)
    total = SECONDS * RATE
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()

    def send(n: int) -> None:
        params = {"MessageSid": f"SMbench{n:07d}", "From": f"+{NUMBER_BASE - 100_000 + n}", "Body": str(n % 11)}
        data = urllib.parse.urlencode(params).encode()
        request = urllib.request.Request(url, data=data, method="POST")  # noqa: S310 - loopback
        request.add_header("X-Twilio-Signature", validator.compute_signature(url, params))
        request.add_header("Content-Type", "application/x-www-form-urlencoded")
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
                status = response.status
        except Exception as error:  # noqa: BLE001 - counted as lost
            with lock:
                failures.append(type(error).__name__)
            return
        with lock:
            latencies.append((time.perf_counter() - started) * 1000)
            if status != 200:
                failures.append(str(status))

    # Warm-up (not counted): each gunicorn worker imports the app and opens its connections on its first requests.
    for n in range(WARM_UP):
        send(10_000_000 + n)
    latencies.clear()
    failures.clear()
    print(f"Webhook: {total:,} signed requests at {RATE}/s for {SECONDS} s on loopback ...")
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=32) as pool:
        for n in range(total):
            delay = start + n / RATE - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            pool.submit(send, n)
    stored = InboundSms.objects.filter(provider_message_id__startswith="SMbench", received_at__isnull=False).count()
    stored -= WARM_UP
    lost = total - stored
    print(
        f"  latency p50 {median(latencies):.1f} ms, p95 {p95(latencies):.1f} ms, max {max(latencies):.1f} ms "
        f"(target p95 < {TARGET_P95_MS} ms: {verdict(p95(latencies) < TARGET_P95_MS)})"
    )
    print(f"  stored {stored:,} of {total:,}, lost {lost} ({verdict(lost == 0)}); failed answers: {len(failures)}")


def seed_prompts(count: int) -> list[str]:
    """`count` SMS patients, each with a block done 31 minutes ago and its 30-minute prompt sent in reply mode."""
    from datetime import timedelta

    from django.db import transaction
    from django.utils import timezone

    from apps.accounts.models import User
    from apps.blocks.models import DiagnosticBlock
    from apps.clinic.models import Nerve
    from apps.patients.models import SMS_CONSENT_VERSION, Patient, patient_search_name
    from apps.reminders.models import Kind, Message, MessageChannel, MessageStatus
    from apps.surveys.services import links_create

    now = timezone.now()
    physician, _ = User.objects.get_or_create(username="bench_sms_physician")
    nerve = Nerve.objects.order_by("pk").first()
    earlier = Patient.objects.filter(mrn__startswith="BSMS").count()
    numbers = [f"+{NUMBER_BASE + 10_000 + earlier + n}" for n in range(count)]
    with transaction.atomic():
        patients = Patient.objects.bulk_create(
            [
                Patient(
                    mrn=f"BSMS{earlier + n:07d}", first_name="Bench", last_name=f"Sms{n}",
                    search_name=patient_search_name("Bench", f"Sms{n}"), date_of_birth="1970-01-01",
                    mobile_phone=number,
                    preferred_channel="sms", reminder_consent=True, sms_consent_on=now.date(),
                    sms_consent_wording=SMS_CONSENT_VERSION,
                )
                for n, number in enumerate(numbers)
            ],
            batch_size=2000,
        )  # fmt: skip
        performed = now - timedelta(minutes=31)
        blocks = DiagnosticBlock.objects.bulk_create(
            [
                DiagnosticBlock(patient=p, performed_at=performed, physician=physician, nerve=nerve, side="left",
                                baseline_nrs=8, suspected_diagnosis="superior_cluneal")
                for p in patients
            ],
            batch_size=2000,
        )  # fmt: skip
        links = links_create(
            targets=[
                {"patient": b.patient, "block": b, "diary_minutes": 30, "expires_at": now + timedelta(minutes=29)}
                for b in blocks
            ]
        )
        Message.objects.bulk_create(
            [
                Message(patient=b.patient, block=b, diary_minutes=30, kind=Kind.DIARY, channel=MessageChannel.SMS,
                        status=MessageStatus.SENT, due_at=now, sent_at=now, link=new.link, reply_expected=True)
                for b, new in zip(blocks, links, strict=True)
            ],
            batch_size=2000,
        )  # fmt: skip
    return numbers


def replies_end_to_end() -> None:
    from django.db import transaction

    from apps.blocks.models import DiaryEntry
    from apps.sms.models import InboundSms, State
    from apps.sms.services import inbound_process, inbound_receive

    started = time.perf_counter()
    numbers = seed_prompts(REPLIES)
    print(f"Replies: {REPLIES:,} patients with an open diary prompt seeded in {time.perf_counter() - started:.1f} s")
    ids = []
    started = time.perf_counter()
    for n, number in enumerate(numbers):
        # One transaction per message, as the webhook's; the enqueue after commit is skipped (read below).
        with transaction.atomic():
            received = inbound_receive(
                provider="bench", provider_message_id=f"SMreply{n:07d}", from_number=number, body=str(n % 11)
            )
            transaction.set_rollback(False)
        ids.append(received.inbound.pk)
    stored_s = time.perf_counter() - started
    started = time.perf_counter()
    for pk in ids:
        inbound_process(inbound_id=pk)
    read_s = time.perf_counter() - started
    applied = InboundSms.objects.filter(provider="bench", state=State.APPLIED).count()
    entries = DiaryEntry.objects.filter(block__patient__mobile_phone__in=numbers, source=DiaryEntry.Source.SMS).count()
    print(f"  stored {len(ids):,} in {stored_s:.1f} s ({len(ids) / stored_s:,.0f}/s)")
    print(f"  read {len(ids):,} in {read_s:.1f} s ({len(ids) / read_s:,.0f}/s): {applied:,} recorded as the answer, "
          f"{entries:,} diary entries by SMS ({verdict(applied == entries == REPLIES)})")  # fmt: skip
    print(f"  end to end: {REPLIES / (stored_s + read_s):,.0f} replies/s")


def clean() -> None:
    """The inbound messages of earlier runs go (the webhook's count starts from none); their patients stay, and this
    run's get numbers and MRNs after theirs, so that no number is shared."""
    from apps.sms.models import InboundSms

    InboundSms.objects.all().delete()


def main() -> None:
    os.environ["TWILIO_AUTH_TOKEN"] = TOKEN
    os.environ["SMS_INBOUND_RATE_LIMIT"] = "1000000"
    os.environ["SMS_TRANSPORT"] = "console"
    port = free_port()
    os.environ["SITE_URL"] = f"http://127.0.0.1:{port}"
    django_setup(DATABASE)
    from config.celery import app as celery_app

    clean()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.local"}
    server = start_server(port, env)
    try:
        webhook_load(port)
    finally:
        stop_server(server)
    replies_end_to_end()
    celery_app.control.purge()


if __name__ == "__main__":
    main()
