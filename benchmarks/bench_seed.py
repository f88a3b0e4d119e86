"""Demo data at scale: `seed_demo` of 100,000 patients into an empty database, with the counts it wrote.

    python benchmarks/bench_seed.py                      (or: make bench)
    python benchmarks/bench_seed.py --patients 20000     (a fifth of the size: compare two versions on a busy machine)

Seeds a fresh database (painreg_bench_seed, dropped and created again each run; PAINREG_BENCH_SEED_DATABASE names
another) at a fixed seed and date, so two runs write the same data. Target: 100,000 patients in under 250 s (the
figure before the demo data went through the registry's bulk writer). Then the tables' statistics: each table seeded,
derived ones included, analyzed (bulk.tables_analyze), with no row versions left dead by the load.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import django_setup, verdict  # noqa: E402
from bench_import import fresh_database  # noqa: E402

DATABASE = os.environ.get("PAINREG_BENCH_SEED_DATABASE", "painreg_bench_seed")
PATIENTS = 100_000
TARGET_S_PER_100K = 250
TODAY = dt.date(2026, 6, 30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=PATIENTS, help="patients to seed (default %(default)s)")
    args = parser.parse_args()
    fresh_database(DATABASE)
    django_setup(DATABASE)
    from django.db import connection

    from apps.demo.generator import seed_demo
    from apps.registry import bulk

    load = os.getloadavg()
    print(f"Load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} on {os.cpu_count()} CPUs (times are wall clock)")
    result = seed_demo(patients=args.patients, seed=1, today=TODAY)
    print("Seeded: " + ", ".join(f"{count:,} {key}" for key, count in result.counts.items()))
    target = TARGET_S_PER_100K * args.patients / PATIENTS
    print(f"seed_demo: {result.seconds:.1f} s (target < {target:.0f} s) {verdict(result.seconds < target)}")
    tables = [model._meta.db_table for model in bulk.WRITTEN + bulk.DERIVED]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_force_next_flush()")  # this session's counts, flushed at its next statement
        cursor.execute("SELECT 1")
        cursor.execute(
            "SELECT relname, n_live_tup, n_dead_tup, n_mod_since_analyze, last_vacuum IS NOT NULL, "
            "last_analyze IS NOT NULL FROM pg_stat_user_tables WHERE relname = ANY(%s) ORDER BY relname",
            [tables],
        )
        print(f"{'table':32} {'live':>10} {'dead':>8} {'modified since analyze':>24}  vacuumed analyzed")
        for name, live, dead, modified, vacuumed, analyzed in cursor.fetchall():
            print(f"{name:32} {live:>10,} {dead:>8,} {modified:>24,}  {vacuumed!s:8} {analyzed!s}")
    return 0 if result.seconds < target else 1


if __name__ == "__main__":
    sys.exit(main())
