"""The admin audit pages on 5,000,000 access events: the filtered access log, and its streamed CSV export beside
PostgreSQL's own COPY of the same rows.

    python benchmarks/bench_audit.py                  (or: make bench)
    python benchmarks/bench_audit.py --database painreg_bench_me --events 500000

Uses its own database, painreg_bench (see _common.py), whose patients and demo users it shares with the other
benchmarks (it adds 1,000 demo patients when there are fewer, and 24 clinic users). Seeding appends access events
until the table holds --events of them (a table that already has that many is left alone), in batches of 500,000,
each its own transaction, so an interrupted seed resumes where it stopped.

How the seed keeps the hash chain valid, fast. The chain trigger (apps/audit/db.py) takes a lock and looks up the
previous row for every insert: right for the application's one row at a time, minutes for millions. So each batch
is COPYed into a temporary table, and one INSERT ... SELECT computes every row's hash in bulk through the trigger's
own SQL function, apps/audit/db.py's audit_chain aggregate (audit_row_hash row after row), as a running aggregate
in chain order seeded with the hash of the last row already in the table. Only for that INSERT, inside its
transaction, the chain trigger is disabled (ALTER TABLE ... DISABLE TRIGGER, which holds the table's exclusive
lock until the commit that re-enables it: no other session ever sees the table without its trigger). The
append-only trigger stays on. After seeding, audit_verify's own check (apps.audit.db.verify_chains) recomputes
the whole chain and must pass; the application and audit_verify are unchanged by any of this.

Measured, in-process with Django's test Client, signed in as the demo `admin` (MFA-verified, as after entering a
code), so the times are the server's own: view, queries and template, no network.
Targets: filtered access log median < 200 ms; CSV export >= 50,000 rows/s over the whole filtered set with peak
memory < 200 MB (tracemalloc's peak of Python allocations during a second, traced, run; and the growth of the
process's peak RSS during the untraced run).
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import random
import resource
import sys
import time
import tracemalloc
import uuid
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import BENCH_DATABASE, django_setup, median, p95, signed_in_client, timed, verdict  # noqa: E402

EVENTS = 5_000_000
BATCH = 500_000
HISTORY_DAYS = 730
MIN_PATIENTS = 1_000
CLINIC_USERS = 24
SEED = 5
PAGE_REPEAT = 20
PAGE_TARGET_MS = 200
EXPORT_TARGET_ROWS_PER_S = 50_000
EXPORT_TARGET_MB = 200
SMALL_EXPORT_ROWS = 10_000

# (action, category, what was read, weight): roughly what a registry's staff do in a day.
EVENT_MIX = [
    ("view", "demographics", "patient", 34),
    ("view", "clinical", "diagnosticblock", 10),
    ("view", "clinical", "cryoablation", 8),
    ("view", "survey", "surveyresponse", 5),
    ("edit_form", "clinical", "diagnosticblock", 6),
    ("list", "clinical", "worklist", 8),
    ("search", "demographics", "patient_search", 8),
    ("print", "clinical", "patient", 2),
    ("export", "report", "report_run", 1),
    ("sign_in", "authentication", "", 7),
    ("sign_out", "authentication", "", 6),
    ("sign_in_failed", "authentication", "", 1),
    ("survey_opened", "survey", "followup", 3),
    ("survey_submitted", "survey", "followup", 1),
]
WITH_PATIENT = {"patient", "diagnosticblock", "cryoablation", "surveyresponse", "followup"}
USER_AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Edg/126.0 Safari/537.36",
]
STAGE_COLUMNS = [
    "id",
    "chain_seq",
    "occurred_at",
    "actor_id",
    "actor_label",
    "client_address",
    "user_agent",
    "action",
    "category",
    "object_type",
    "object_id",
    "patient_id",
    "path",
    "detail",
]

# Seeding ---------------------------------------------------------------------------------------------------------


def _actors() -> list[tuple[int, str, int]]:
    """(user id, username, weight): the demo users and a clinic's worth of staff accounts."""
    from apps.accounts.models import User
    from apps.demo.generator import demo_users_ensure

    demo_users_ensure()
    actors = []
    for number in range(1, CLINIC_USERS + 1):
        user, created = User.objects.get_or_create(
            username=f"clinic_user_{number:02d}", defaults={"first_name": "Clinic", "last_name": f"User {number:02d}"}
        )
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
    weights = {"staff": 30, "physician": 12, "admin": 3}
    for user_id, username in User.objects.order_by("pk").values_list("pk", "username"):
        actors.append((user_id, username, weights.get(username, 6)))
    return actors


def _patients() -> list[tuple[int, str]]:
    from apps.demo.generator import seed_demo
    from apps.patients.models import Patient

    existing = Patient.objects.count()
    if existing < MIN_PATIENTS:
        print(f"Seeding: {MIN_PATIENTS - existing:,} demo patients to name in the events")
        seed_demo(patients=MIN_PATIENTS - existing)
    return [(pk, str(public_id)) for pk, public_id in Patient.objects.order_by("pk").values_list("pk", "public_id")]


class EventGenerator:
    """Rows of access events in COPY text format, in time order: a few patients much looked at, most a little."""

    def __init__(self, total: int, actors, patients, *, end: dt.datetime) -> None:
        self.rng = random.Random(SEED)
        self.actors = actors
        self.actor_cum = _cumulative([w for _, _, w in actors])
        self.patients = patients
        # One patient in twenty is "hot" (many visits, many records): those get half the reads.
        weights = [10 if i % 20 == 0 else 0.53 for i in range(len(patients))]
        self.patient_cum = _cumulative(weights)
        self.mix_cum = _cumulative([w for *_, w in EVENT_MIX])
        self.addresses = [f"10.20.{self.rng.randrange(1, 40)}.{self.rng.randrange(2, 250)}" for _ in range(120)]
        self.record_ids = [str(uuid.UUID(int=self.rng.getrandbits(128), version=4)) for _ in range(5_000)]
        self.start = end - dt.timedelta(days=HISTORY_DAYS)
        self.step_us = HISTORY_DAYS * 86_400 * 1_000_000 // total

    def lines(self, first_index: int, count: int, first_id: int, first_seq: int) -> str:
        rng = self.rng
        mix = rng.choices(EVENT_MIX, cum_weights=self.mix_cum, k=count)
        actors = rng.choices(self.actors, cum_weights=self.actor_cum, k=count)
        patients = rng.choices(self.patients, cum_weights=self.patient_cum, k=count)
        out = []
        for k in range(count):
            index = first_index + k
            action, category, object_type, _ = mix[k]
            actor_id, label, _ = actors[k]
            patient_id, public_id = patients[k]
            jitter = rng.randrange(self.step_us)
            occurred = (self.start + dt.timedelta(microseconds=index * self.step_us + jitter)).isoformat()
            detail = "{}"
            object_id = ""
            path = "/"
            if object_type in WITH_PATIENT:
                object_id = public_id if object_type == "patient" else rng.choice(self.record_ids)
                path = f"/patients/{public_id}/" if object_type == "patient" else f"/{object_type}s/{object_id}/"
                patient = str(patient_id)
            else:
                patient = r"\N"
                if object_type == "worklist":
                    path, detail = "/followups/worklist/", '{"filters": "status=due"}'
                elif object_type == "patient_search":
                    path, detail = "/patients/", f'{{"results": {rng.randrange(0, 40)}}}'
                elif object_type == "report_run":
                    object_id = str(rng.randrange(1, 400))
                    path = f"/reports/runs/{object_id}/download/"
                else:
                    path = "/accounts/login/" if action != "sign_out" else "/accounts/logout/"
            if action.startswith("survey_"):
                actor, label = r"\N", "patient:survey-link"
                path = "/s/" + object_id[:8] + "/"
            elif action == "sign_in_failed":
                actor = r"\N"
            else:
                actor = str(actor_id)
            out.append(
                f"{first_id + k}\t{first_seq + k}\t{occurred}\t{actor}\t{label}\t{rng.choice(self.addresses)}\t"
                f"{rng.choice(USER_AGENTS)}\t{action}\t{category}\t{object_type}\t{object_id}\t{patient}\t{path}\t"
                f"{detail}\n"
            )
        return "".join(out)


def _cumulative(weights) -> list[float]:
    total, out = 0.0, []
    for weight in weights:
        total += weight
        out.append(total)
    return out


def seed(target: int) -> None:
    from django.db import connection, transaction

    from apps.audit.db import ACCESS_CHAIN
    from apps.audit.models import AccessEvent

    table = AccessEvent._meta.db_table
    with connection.cursor() as cursor:
        # Counted up to the target only.
        cursor.execute("SELECT count(*) FROM (SELECT 1 FROM audit_accessevent LIMIT %s) t", [target])
        existing = cursor.fetchone()[0]
    if existing >= target:
        print(f"Seeding: none needed, {existing:,} access events kept from an earlier run")
        return
    patients = _patients()  # first: it may seed demo patients, and with them the demo users
    actors = _actors()
    missing = target - existing
    generator = EventGenerator(target, actors, patients, end=_seed_end())
    print(
        f"Seeding: {missing:,} access events ({len(actors)} users, {len(patients):,} patients, {HISTORY_DAYS} days), "
        "COPY into a temporary table, then one INSERT ... SELECT a batch with the hash chain computed in SQL by "
        "the trigger's own function (audit_chain); the chain trigger is disabled for that INSERT only, inside its "
        "transaction"
    )
    started = time.perf_counter()
    connection.ensure_connection()
    raw = connection.connection
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMPORARY TABLE IF NOT EXISTS bench_access_stage (LIKE audit_accessevent)")
    done = 0
    while done < missing:
        count = min(BATCH, missing - done)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL work_mem = '256MB'")
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"painreg.audit.{ACCESS_CHAIN}"])
            cursor.execute(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")
            cursor.execute(
                f"SELECT chain_seq, row_hash FROM {table} WHERE chain_seq IS NOT NULL ORDER BY chain_seq DESC LIMIT 1"  # noqa: S608
            )
            head = cursor.fetchone() or (0, None)
            cursor.execute(f"SELECT coalesce(max(id), 0) FROM {table}")  # noqa: S608
            max_id = cursor.fetchone()[0]
            text = generator.lines(existing + done, count, max_id + 1, head[0] + 1)
            stage_copy = f"COPY bench_access_stage ({', '.join(STAGE_COLUMNS)}) FROM STDIN"
            with raw.cursor() as copy_cursor, copy_cursor.copy(stage_copy) as copy:
                buffer = io.StringIO(text)
                while block := buffer.read(1 << 20):
                    copy.write(block)
            del text
            columns = ", ".join(STAGE_COLUMNS)
            cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER zz_audit_chain")
            cursor.execute(
                f"""
                INSERT INTO {table} ({columns}, row_hash)
                SELECT {", ".join("s." + c for c in STAGE_COLUMNS)},
                       audit_chain(s, %s::bytea) OVER (ORDER BY s.chain_seq ROWS UNBOUNDED PRECEDING)
                FROM bench_access_stage s
                ORDER BY s.chain_seq
                """,  # noqa: S608
                [head[1]],
            )
            cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER zz_audit_chain")
            cursor.execute("TRUNCATE bench_access_stage")
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"  # noqa: S608
            )
        done += count
        rate = done / (time.perf_counter() - started)
        print(f"         {existing + done:,} events ({rate:,.0f} a second)", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_access_stage")
        vacuum_started = time.perf_counter()
        cursor.execute(f"VACUUM (ANALYZE) {table}")
        print(f"         VACUUM ANALYZE in {time.perf_counter() - vacuum_started:.1f} s")
        cursor.execute("SELECT pg_size_pretty(pg_total_relation_size(%s))", [table])
        print(f"         seeded in {time.perf_counter() - started:.1f} s; table with indexes {cursor.fetchone()[0]}")
    _verify_chain()


def _seed_end() -> dt.datetime:
    from django.utils import timezone

    # Seeded history ends yesterday: what the benchmark requests today adds comes after it, in time as in the chain.
    return timezone.now().replace(microsecond=0) - dt.timedelta(days=1)


def _verify_chain() -> None:
    from apps.audit.db import verify_chains

    started = time.perf_counter()
    problems, heads = verify_chains()
    seconds = time.perf_counter() - started
    rows = heads.get("audit_accessevent", (0, ""))[0]
    if problems:
        print(f"         audit_verify: BROKEN after seeding: {problems[0]}")
        raise SystemExit(1)
    print(f"         audit_verify: chain intact over {rows:,} access events ({seconds:.1f} s)")


# Measuring -------------------------------------------------------------------------------------------------------


class Admin:
    def __init__(self) -> None:
        from apps.accounts.models import User
        from apps.demo.generator import demo_users_ensure

        demo_users_ensure()
        admin = User.objects.get(username="admin")
        # The test Client calls itself "testserver", which ALLOWED_HOSTS (localhost, 127.0.0.1) refuses.
        self.user = admin
        self.client = signed_in_client(admin, SERVER_NAME="localhost")

    def page(self, url: str):
        def request():
            response = self.client.get(url)
            if response.status_code != 200:
                raise RuntimeError(f"GET {url} answered {response.status_code}")
            return response

        return request


def _filters() -> list[tuple[str, dict, bool]]:
    """(label, query, also exported): realistic questions, one much-seen patient, a user over a month and over a
    year, a rare and a common action; and the unfiltered log."""
    from django.db.models import Count
    from django.utils import timezone

    from apps.audit.models import AccessEvent
    from apps.patients.models import Patient

    # A hot patient (every 20th of the seed's patients), found through the index rather than a scan.
    patient_ids = list(Patient.objects.order_by("pk").values_list("pk", flat=True)[:200:20])
    counted = (
        AccessEvent.objects.filter(patient_id__in=patient_ids)
        .values("patient_id")
        .annotate(n=Count("id"))
        .order_by("-n")
        .first()
    )
    patient = Patient.objects.get(pk=counted["patient_id"])
    # The demo `staff` user is the busiest; a database seeded without the demo users has clinic users instead.
    user = "staff"
    if not AccessEvent.objects.filter(actor_label=user).exists():
        user = AccessEvent.objects.exclude(actor=None).values_list("actor_label", flat=True).first()
    today = timezone.localdate()
    month_ago = today - dt.timedelta(days=30)
    year_ago = today - dt.timedelta(days=365)
    return [
        ("no filter (newest first)", {}, False),
        (f"patient {patient.mrn} ({counted['n']:,} events)", {"patient": patient.mrn}, True),
        (f"user {user}, last 30 days", {"user": user, "date_from": month_ago, "date_to": today}, False),
        (f"user {user}, last 365 days", {"user": user, "date_from": year_ago, "date_to": today}, True),
        ("action export", {"action": "export"}, False),
        ("action search", {"action": "search"}, True),
    ]


def _query(params: dict) -> str:
    from urllib.parse import urlencode

    return urlencode({k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in params.items()})


def bench_pages(admin: Admin, filters) -> list[str]:
    from django.urls import reverse

    missed = []
    base = reverse("audit:access_log")
    print(f"\nAccess log page (100 rows), {PAGE_REPEAT} requests each   median      p95   target (median)")
    for label, params, _ in filters:
        times = timed(admin.page(f"{base}?{_query(params)}"), PAGE_REPEAT)
        ok = median(times) < PAGE_TARGET_MS
        if not ok:
            missed.append(f"page: {label}")
        print(f"  {label:<46} {median(times):7.1f} ms {p95(times):6.1f} ms  < {PAGE_TARGET_MS} ms  {verdict(ok)}")
    return missed


def _consume(admin: Admin, url: str) -> tuple[int, int, float, float]:
    """(data rows, bytes, seconds, CPU seconds of this process) of one export, its streamed content read to the end."""
    cpu_started = time.process_time()
    started = time.perf_counter()
    response = admin.client.get(url)
    if response.status_code != 200 or not response.streaming:
        raise RuntimeError(f"GET {url} answered {response.status_code}, streaming={response.streaming}")
    lines = size = 0
    for chunk in response.streaming_content:  # a batch of CSV lines, each ending in CRLF
        lines += chunk.count(b"\r\n")
        size += len(chunk)
    response.close()
    return lines - 1, size, time.perf_counter() - started, time.process_time() - cpu_started


def _copy_time(admin: Admin, params: dict) -> tuple[int, float]:
    """(rows, seconds) of PostgreSQL's own COPY (SELECT ...) TO STDOUT WITH CSV of the rows the export writes."""
    from django.db import connection

    from apps.pages.audit.forms import AuditFilterForm
    from apps.pages.audit.selectors import ACCESS_COLUMNS, access_events

    data = {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in params.items()}
    form = AuditFilterForm(data, user=admin.user)
    queryset = access_events(filters=form.filters()).values_list(*ACCESS_COLUMNS)
    sql, sql_params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        select = cursor.mogrify(sql, sql_params)
        started = time.perf_counter()
        rows = 0
        with cursor.copy(f"COPY ({select}) TO STDOUT WITH CSV HEADER") as copy:
            for block in copy:
                rows += bytes(block).count(b"\n")
        return rows - 1, time.perf_counter() - started


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def bench_exports(admin: Admin, filters) -> list[str]:
    from django.urls import reverse

    missed = []
    base = reverse("audit:access_log_csv")
    print(
        "\nCSV export, whole filtered set          rows    Django   rows/s  (CPU s)  peak traced  RSS growth  "
        "COPY (SELECT ...)  ratio"
    )
    for label, params, _ in filters:
        url = f"{base}?{_query(params)}"
        rss_before = _maxrss_mb()
        rows, size, seconds, cpu = _consume(admin, url)
        rss_growth = _maxrss_mb() - rss_before
        # Right after the export, before the traced run adds its own export event (to a patient's log, say).
        copy_rows, copy_seconds = _copy_time(admin, params)
        tracemalloc.start()
        _consume(admin, url)
        peak_mb = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()
        rate = rows / seconds if seconds else 0.0
        # A few hundred rows take the time of one request whatever the throughput: rows/s is judged on big sets.
        judged = rows >= SMALL_EXPORT_ROWS
        ok = (rate >= EXPORT_TARGET_ROWS_PER_S or not judged) and max(peak_mb, rss_growth) < EXPORT_TARGET_MB
        if not ok:
            missed.append(f"export: {label}")
        same = "" if copy_rows == rows else f" (COPY gave {copy_rows:,} rows!)"
        note = "" if judged else f" (under {SMALL_EXPORT_ROWS:,} rows: request latency, rows/s not judged)"
        print(
            f"  {label:<34} {rows:>9,} {seconds:7.2f} s {rate:>8,.0f} {cpu:7.2f}  {peak_mb:8.1f} MB  "
            f"{rss_growth:7.1f} MB  {copy_seconds:12.2f} s  {seconds / copy_seconds:6.1f}x  {verdict(ok)}{same}{note}"
        )
    print(
        f"  targets: >= {EXPORT_TARGET_ROWS_PER_S:,} rows/s (wall clock), peak < {EXPORT_TARGET_MB} MB; CPU s: this "
        "process's CPU time (Django, csv); ratio: Django's time over PostgreSQL's COPY of the same rows"
    )
    return missed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default=BENCH_DATABASE, help="benchmark database (default %(default)s)")
    parser.add_argument("--events", type=int, default=EVENTS, help="access events to seed up to (default 5M)")
    args = parser.parse_args()
    # WhiteNoise warns once that collectstatic has not run; the pages measured here do not serve static files.
    warnings.filterwarnings("ignore", message="No directory at")
    django_setup(args.database)
    from django.conf import settings

    print(f"Database {args.database}, DEBUG={settings.DEBUG}")
    load = os.getloadavg()
    print(f"Load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} on {os.cpu_count()} CPUs (times are wall clock)")
    seed(args.events)
    admin = Admin()
    filters = _filters()
    missed = bench_pages(admin, filters)
    missed += bench_exports(admin, [f for f in filters if f[2]])
    if missed:
        print(f"\nMissed: {', '.join(missed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
