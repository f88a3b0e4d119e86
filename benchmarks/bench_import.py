"""The registry import at scale: a synthetic folder with 100,000 survey answers, imported into an empty database.

    python benchmarks/bench_import.py          (or: make bench)

Writes a registry folder (data-exchange.md) of 20,000 patients, 60,000 blocks with diaries, 20,000 ablations and
100,000 survey answers into a temporary directory, then runs `import_registry` on it in a fresh database
(painreg_bench_import, dropped and created again each run; PAINREG_BENCH_IMPORT_DATABASE names another), and a
second time to show that matching every row again is fast too. Target: the first import under 60 s. Then
`audit_verify` must pass: every created row has its change event, in the hash chain.

    python benchmarks/bench_import.py --patients 2000      (a tenth of the size, to profile)
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import DEFAULT_DATABASE_URL, bench_database_url, django_setup, verdict  # noqa: E402

DATABASE = os.environ.get("PAINREG_BENCH_IMPORT_DATABASE", "painreg_bench_import")
PATIENTS = 20_000
BLOCKS_PER_PATIENT = 3
ANSWERS_PER_ABLATION = 5
TARGET_S = 60
NERVES = ["superior_cluneal", "middle_cluneal", "genicular_superior_lateral", "medial_branch", "tibial"]
PHYSICIANS = ["dr_import_a", "dr_import_b", "dr_import_c", "dr_import_d"]
ANSWER_DAYS = [14, 30, 90, 182, 365]


def write_folder(folder: Path, seed: int = 1, patients: int = PATIENTS) -> dict[str, int]:
    """The four CSV files; clinic-local times without an offset, answers with offsets (some UTC, late evening)."""
    rng = random.Random(seed)
    counts = dict.fromkeys(("patients", "blocks", "ablations", "answers"), 0)
    files = {name: (folder / f"{name}.csv").open("w", newline="", encoding="utf-8") for name in
             ("patients", "blocks", "ablations", "survey_responses")}  # fmt: skip
    writers = {name: csv.writer(handle) for name, handle in files.items()}
    writers["patients"].writerow(
        ["mrn", "first_name", "last_name", "date_of_birth", "sex", "email", "mobile_phone", "preferred_channel",
         "timezone"]
    )  # fmt: skip
    writers["blocks"].writerow(
        ["block_id", "mrn", "performed_at", "physician", "nerve", "side", "guidance", "drug", "concentration_percent",
         "volume_ml", "needle_gauge", "baseline_nrs", "diary"]
    )  # fmt: skip
    writers["ablations"].writerow(
        ["ablation_id", "mrn", "performed_on", "physician", "nerve", "side", "baseline_nrs", "device", "probe",
         "cycles", "freeze_seconds", "qualifying_block_id"]
    )  # fmt: skip
    writers["survey_responses"].writerow(
        ["mrn", "ablation_id", "completed_at", "pain_average", "pain_current", "pain_worst", "percent_relief", "pgic"]
    )
    first_day = dt.date(2023, 1, 1)
    for n in range(1, patients + 1):
        mrn = f"BI{n:07d}"
        writers["patients"].writerow(
            [mrn, "Test", f"Import{n}", f"{rng.randint(1940, 2000)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
             rng.choice("FMXU"), f"p{n}@example.org", f"+1212555{rng.randint(100, 199):04d}",
             rng.choice(["email", "sms", "none"]), ""]
        )  # fmt: skip
        nerve, side = rng.choice(NERVES), rng.choice(["left", "right"])
        ablated_on = first_day + dt.timedelta(days=rng.randint(90, 900))
        baseline = rng.randint(4, 10)
        for b in range(BLOCKS_PER_PATIENT):
            performed = dt.datetime.combine(ablated_on - dt.timedelta(days=20 + 30 * b), dt.time(rng.randint(8, 16)))
            diary = ";".join(f"{m}:{rng.randint(0, baseline)}" for m in (15, 30, 60, 240))
            writers["blocks"].writerow(
                [f"BB{n:07d}-{b}", mrn, performed.strftime("%Y-%m-%dT%H:%M"), rng.choice(PHYSICIANS), nerve, side,
                 "ultrasound", "lidocaine", "2", "1", "25", baseline, diary]
            )  # fmt: skip
            counts["blocks"] += 1
        ablation_id = f"BA{n:07d}"
        writers["ablations"].writerow(
            [ablation_id, mrn, ablated_on.isoformat(), rng.choice(PHYSICIANS), nerve, side, baseline, "cryo", "27G",
             2, 120, ""]
        )  # fmt: skip
        for day in ANSWER_DAYS[:ANSWERS_PER_ABLATION]:
            local = dt.datetime.combine(ablated_on + dt.timedelta(days=day + rng.randint(-3, 3)), dt.time(10))
            if rng.random() < 0.1:  # a late-evening call, written in UTC: the next day's date
                completed = (local + dt.timedelta(hours=13, minutes=30)).strftime("%Y-%m-%dT%H:%M:00Z")
            else:
                completed = local.strftime("%Y-%m-%dT%H:%M:00-05:00")
            pain = rng.randint(0, 10)
            writers["survey_responses"].writerow(
                [mrn, ablation_id, completed, pain, pain, min(10, pain + 1), "", rng.randint(1, 7)]
            )
            counts["answers"] += 1
        counts["patients"] += 1
        counts["ablations"] += 1
    for handle in files.values():
        handle.close()
    return counts


def fresh_database(name: str) -> None:
    import psycopg
    from psycopg import sql

    url = bench_database_url(os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL), name)
    parts = urlsplit(url)
    conninfo = urlunsplit(("postgresql", parts.netloc, "/postgres", parts.query, ""))
    with psycopg.connect(conninfo, autocommit=True, connect_timeout=10) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=PATIENTS, help="patients in the folder (default %(default)s)")
    args = parser.parse_args()
    fresh_database(DATABASE)
    django_setup(DATABASE)
    from django.core.management import CommandError, call_command

    load = os.getloadavg()
    print(f"Load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} on {os.cpu_count()} CPUs (times are wall clock)")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        counts = write_folder(folder, patients=args.patients)
        print(
            f"Folder: {counts['patients']:,} patients, {counts['blocks']:,} blocks, {counts['ablations']:,} "
            f"ablations, {counts['answers']:,} survey answers, written in {time.perf_counter() - started:.1f} s"
        )
        started = time.perf_counter()
        out = io.StringIO()
        call_command("import_registry", str(folder), stdout=out)
        first = time.perf_counter() - started
        print(out.getvalue().rstrip())
        print(f"import_registry: {first:.1f} s (target < {TARGET_S} s) {verdict(first < TARGET_S)}")
        started = time.perf_counter()
        out = io.StringIO()
        call_command("import_registry", str(folder), stdout=out)
        print(f"import_registry again (every row matched, nothing written): {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    try:
        call_command("audit_verify", stdout=io.StringIO())
    except CommandError as error:
        print(f"audit_verify: BROKEN {error}")
        return 1
    print(f"audit_verify: intact ({time.perf_counter() - started:.1f} s)")
    return 0 if first < TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
