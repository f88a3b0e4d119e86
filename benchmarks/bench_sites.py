"""A network of sites (issue 18): the figures of one site, of the whole network, and the Sites compared page.

    python benchmarks/bench_sites.py          (or: make bench)

Uses painreg_bench_sites, a copy of the 100,000-patient benchmark database of bench_dashboard.py (run that first:
it seeds painreg_bench), with its patients spread over SITES sites (round robin by id), and a physician member of
the first site; or, with PAINREG_BENCH_DATABASE=painreg_bench_network, the network of benchmarks/seed_network.py
(1,000,000 patients over 20 sites). Prints the machine's load average, then, each the median of REPEAT runs with the
dashboard cache cleared before each (the engine computes; PostgreSQL's buffers stay warm):
- the engine's dashboard figures (every section of the page) for one site and for the whole network;
- the Sites compared statement (every site's funnel and 3-month response: the funnel plot's points);
- the Sites compared page as the physician (server time: the statement, the two durability curves, the page).
The issue's targets are for 1,000,000 patients over 20 sites (one site under 300 ms, the network under 1.5 s, the
funnel plot under 1 s): judged when the database holds that many, printed beside them otherwise.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import BENCH_DATABASE, DEFAULT_DATABASE_URL, django_setup, median, signed_in_client, verdict  # noqa: E402

DATABASE = os.environ.get("PAINREG_BENCH_DATABASE", f"{BENCH_DATABASE}_sites")
NETWORK_PATIENTS = 1_000_000
TARGETS_MS = {"one site": 300, "whole network": 1500, "Sites compared statement": 1000}
SITES = 20
REPEAT = 3


def copy_of_the_benchmark_database() -> None:
    """painreg_bench_sites as a copy of painreg_bench, unless it exists (or another database is named)."""
    import psycopg
    from psycopg import sql

    url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL).replace("postgres://", "postgresql://", 1)
    with psycopg.connect(url, dbname="postgres", autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE]).fetchone():
            return
        if f"{BENCH_DATABASE}_sites" != DATABASE:
            sys.exit(f"{DATABASE} does not exist: run benchmarks/seed_network.py first (it seeds it).")
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [BENCH_DATABASE]).fetchone():
            sys.exit(f"{BENCH_DATABASE} does not exist: run benchmarks/bench_dashboard.py first (it seeds it).")
        started = time.perf_counter()
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(*map(sql.Identifier, [DATABASE, BENCH_DATABASE])))
        print(f"copied {BENCH_DATABASE} to {DATABASE} in {time.perf_counter() - started:.0f} s")


def main() -> None:
    copy_of_the_benchmark_database()
    django_setup(DATABASE)
    from django.conf import settings
    from django.core.cache import cache
    from django.db import connection
    from django.urls import reverse

    from apps.accounts.models import Role, User
    from apps.clinic.models import Site
    from apps.patients.models import Patient
    from apps.reports import benchmark, outcomes

    settings.ALLOWED_HOSTS = ["*"]
    if Site.objects.count() < SITES:
        first = Site.objects.order_by("pk").first()
        for n in range(Site.objects.count() + 1, SITES + 1):
            Site.objects.create(name=f"Clinic {n:02d}", time_zone=first.time_zone)
        ids = list(Site.objects.order_by("pk").values_list("pk", flat=True))
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute("UPDATE patients_patient SET site_id = (%s::bigint[])[1 + id %% %s]", [ids, len(ids)])
            cursor.execute("ANALYZE patients_patient")
        spent = time.perf_counter() - started
        print(f"spread {Patient.objects.count():,} patients over {len(ids)} sites in {spent:.0f} s")
    site = Site.objects.order_by("pk").first()
    physician = User.objects.filter(groups__name=Role.PHYSICIAN, is_active=True).order_by("pk").first()
    site.members.add(physician)
    print(
        f"Data: {Patient.objects.count():,} patients over {Site.objects.count()} sites; "
        f"machine load average (1, 5, 15 min): {' '.join(f'{x:.2f}' for x in os.getloadavg())}, {os.cpu_count()} CPUs"
    )

    pooled = outcomes.outcomes_filters()
    one = replace(pooled, site_ids=(site.pk,))

    def timed_ms(work) -> tuple[float, list[float]]:
        times = []
        for _ in range(REPEAT):
            cache.clear()
            started = time.perf_counter()
            work()
            times.append((time.perf_counter() - started) * 1000)
        return median(times), times

    judged = Patient.objects.count() >= NETWORK_PATIENTS

    def judge(label: str, ms: float) -> str:
        target = TARGETS_MS[label]
        return f"(target < {target} ms) {verdict(ms < target)}" if judged else f"(target at 1,000,000: < {target} ms)"

    for label, filters in [("one site", one), ("whole network", pooled)]:
        ms, times = timed_ms(lambda f=filters: outcomes.dashboard_compute(filters=f, page=True))
        runs = ", ".join(f"{t:.0f}" for t in times)
        print(f"dashboard figures, {label}: median {ms:.0f} ms ({runs}) {judge(label, ms)}")
    ms, times = timed_ms(lambda: benchmark.site_figures(filters=pooled))
    print(
        f"Sites compared statement ({Site.objects.count()} sites): median {ms:.0f} ms "
        f"({', '.join(f'{t:.0f}' for t in times)}) {judge('Sites compared statement', ms)}"
    )

    client = signed_in_client(physician)
    url = reverse("reports:benchmark")
    client.get(url)
    ms, times = timed_ms(lambda: client.get(url))
    print(f"Sites compared page, a physician of one site: median {ms:.0f} ms ({', '.join(f'{t:.0f}' for t in times)})")


if __name__ == "__main__":
    main()
