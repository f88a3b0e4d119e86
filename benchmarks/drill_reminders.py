"""Reliability drills of the reminder engine (issue 3), against a real worker, Redis and PostgreSQL.

    DATABASE_URL=postgres://... REDIS_URL=redis://.../N .venv/bin/python benchmarks/drill_reminders.py

A fake SMS provider listens on 127.0.0.1 and speaks Twilio's Messages API (the real Twilio transport talks to it),
answering each request after a short delay so that kills land mid-send. Three drills:

1. kill -9 a worker child process mid-send, KILLS times: 0 duplicate requests at the provider; every message ends
   sent or in doubt (none lost, none left queued or sending).
2. two sweeps (two beats) running at once for SECONDS seconds: 0 duplicates, every message sent.
3. Redis flushed right after a sweep enqueued every id: every message still sent within two more sweeps.

The database is `painreg_drill` on DATABASE_URL's server, and Redis database 15 of REDIS_URL's server (purged and
flushed by the drills; DRILL_REDIS_DB names another). Exit status 0 when every drill holds.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from collections import Counter
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, django_setup  # noqa: E402

AREA_CODE = random.randint(201, 989)  # with a counter, numbers unique within a run
NEXT_NUMBER = iter(range(10**7))
MRNS: set[str] = set()
PROVIDER_DELAY_SECONDS = 0.15  # long enough for a kill to land inside a send
WAIT_SECONDS = 120


class Provider(BaseHTTPRequestHandler):
    requests: Counter = Counter()
    lock = threading.Lock()

    def do_POST(self):  # noqa: N802 - http.server's name
        body = urllib.parse.parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
        with self.lock:
            Provider.requests[body["To"][0]] += 1
        time.sleep(PROVIDER_DELAY_SECONDS)
        payload = json.dumps({"sid": f"SM{uuid.uuid4().hex}"}).encode()
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


def start_provider() -> int:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Provider)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server.server_address[1]


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


class Worker:
    """A Celery worker process of our own (prefork, two children), stopped by its id."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603 - our own venv's celery
            [str(ROOT / ".venv/bin/celery"), "-A", "config", "worker", "--concurrency=2", "--loglevel=ERROR",
             "-n", f"drill-{uuid.uuid4().hex[:8]}@%h", "--without-gossip", "--without-mingle"],
            cwd=ROOT, env=os.environ.copy(),
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while len(children(self.process.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)

    def kill_a_child(self) -> bool:
        pids = children(self.process.pid)
        if not pids:
            return False
        try:
            os.kill(random.choice(pids), signal.SIGKILL)
        except ProcessLookupError:
            return False
        return True

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            for pid in children(self.process.pid):
                os.kill(pid, signal.SIGKILL)
            self.process.kill()
            self.process.wait()


def prepare(count: int, tag: str) -> list[str]:
    """`count` consenting SMS patients whose 2-week follow-up is due today, and their invitations planned."""
    from django.utils import timezone

    from apps.accounts.models import User
    from apps.clinic.models import Nerve
    from apps.clinic.selectors import protocol_get
    from apps.cryoablations.services import ablation_create
    from apps.patients.models import Patient
    from apps.reminders.models import Message

    protocol = protocol_get()
    # Invitations at midnight and no quiet hours: due whatever the hour the drill runs at.
    protocol.invitation_hour, protocol.quiet_start_hour, protocol.quiet_end_hour = 0, 0, 0
    protocol.save()
    Message.objects.filter(status="queued").update(status="cancelled", detail="drill: left from an earlier run")
    physician, _ = User.objects.get_or_create(username="drill-physician")
    nerve = Nerve.objects.first()
    numbers = []
    Provider.requests.clear()
    for n in range(count):
        number = f"+1{AREA_CODE}{next(NEXT_NUMBER):07d}"
        patient = Patient.objects.create(
            mrn=f"DR{tag}{n:05d}", first_name="Drill", last_name=f"Patient{n}", date_of_birth="1970-01-01",
            mobile_phone=number, preferred_channel="sms", reminder_consent=True, timezone="America/New_York",
        )  # fmt: skip
        ablation_create(
            patient=patient, performed_on=timezone.localdate() - timedelta(days=14), physician=physician,
            nerve=nerve, side="left", baseline_nrs=7,
        )  # fmt: skip
        numbers.append(number)
        MRNS.add(patient.mrn)
    return numbers


def invitations(numbers: list[str]):
    from apps.reminders.models import Kind, Message

    # Numbers repeat across runs: this run's patients are those whose MRN carries its tag.
    return Message.objects.filter(kind=Kind.INVITATION, patient__mobile_phone__in=numbers, patient__mrn__in=MRNS)


def wait_settled(numbers: list[str], sweep_every: float = 1.0) -> None:
    """Sweep until nothing is queued and the rows left "sending" (by killed children) stop changing."""
    from django.utils import timezone

    from apps.reminders import services

    deadline = time.monotonic() + WAIT_SECONDS
    previous = None
    while time.monotonic() < deadline:
        services.sweep(now=timezone.now())
        rows = invitations(numbers)
        sending = sorted(rows.filter(status="sending").values_list("pk", flat=True))
        if not rows.filter(status="queued").exists() and sending == previous:
            return
        previous = sending
        time.sleep(sweep_every)


def report(name: str, numbers: list[str], allowed: set[str]) -> bool:
    statuses = Counter(invitations(numbers).values_list("status", flat=True))
    duplicates = sum(1 for number in numbers if Provider.requests[number] > 1)
    missing = len(numbers) - sum(statuses.values())
    ok = duplicates == 0 and missing == 0 and set(statuses) <= allowed
    print(f"{name}: {len(numbers)} messages, {duplicates} duplicate requests, statuses {dict(statuses)} -> "
          f"{'ok' if ok else 'FAILED'}")  # fmt: skip
    return ok


def drill_kills(kills: int, count: int) -> bool:
    from django.utils import timezone

    from apps.reminders import services

    numbers = prepare(count, "k" + uuid.uuid4().hex[:4])
    worker = Worker()
    try:
        services.sweep(now=timezone.now())
        done = 0
        while done < kills:
            time.sleep(random.uniform(0.1, 0.4))
            if worker.kill_a_child():
                done += 1
            if done % 10 == 0:
                services.sweep(now=timezone.now())
        wait_settled(numbers)
    finally:
        worker.stop()
    # Rows a killed child left "sending": the sweep turns them "in doubt" once the timeout has passed.
    services.sweep(now=timezone.now() + services.IN_DOUBT_AFTER + timedelta(seconds=1))
    print(f"  {kills} worker children killed with SIGKILL")
    return report("kill -9 mid-send", numbers, {"sent", "in_doubt"})


def drill_two_beats(seconds: int, count: int) -> bool:
    from django.db import connection
    from django.utils import timezone

    from apps.reminders import services

    numbers = prepare(count, "b" + uuid.uuid4().hex[:4])
    worker = Worker()
    stop = time.monotonic() + seconds

    def beat():
        while time.monotonic() < stop:
            services.sweep(now=timezone.now())
            time.sleep(0.05)
        connection.close()

    try:
        beats = [threading.Thread(target=beat) for _ in range(2)]
        for thread in beats:
            thread.start()
        for thread in beats:
            thread.join()
        wait_settled(numbers)
    finally:
        worker.stop()
    return report(f"two beats at once for {seconds} s", numbers, {"sent"})


def drill_redis_flush(count: int) -> bool:
    import redis
    from django.conf import settings
    from django.utils import timezone

    from apps.reminders import services

    numbers = prepare(count, "f" + uuid.uuid4().hex[:4])
    started = timezone.now()
    services.sweep(now=started)  # every id enqueued...
    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()  # ...and lost
    worker = Worker()
    try:
        for minute in (1, 2):  # the next two beats
            services.sweep(now=started + timedelta(minutes=minute))
        deadline = time.monotonic() + WAIT_SECONDS
        while invitations(numbers).exclude(status="sent").exists() and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        worker.stop()
    return report("Redis flushed after the sweep, two sweeps later", numbers, {"sent"})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=60, help="how long the two beats run")
    parser.add_argument("--messages", type=int, default=200)
    args = parser.parse_args()

    port = start_provider()
    redis_url = urllib.parse.urlsplit(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    os.environ["REDIS_URL"] = urllib.parse.urlunsplit(
        redis_url._replace(path=f"/{os.environ.get('DRILL_REDIS_DB', 15)}")
    )
    os.environ |= {
        "SMS_TRANSPORT": "twilio",
        "TWILIO_API_URL": f"http://127.0.0.1:{port}",
        "TWILIO_ACCOUNT_SID": "ACdrill",
        "TWILIO_AUTH_TOKEN": "drill",
        "TWILIO_FROM_NUMBER": "+12125550100",
    }
    django_setup("painreg_drill")
    from config.celery import app

    app.control.purge()
    results = [
        drill_kills(args.kills, args.messages),
        drill_two_beats(args.seconds, args.messages),
        drill_redis_flush(args.messages),
    ]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
