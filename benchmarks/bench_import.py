"""The registry import at scale: a synthetic folder with 100,000 survey answers, imported into an empty database.

    python benchmarks/bench_import.py          (or: make bench)

Writes a registry folder (data-exchange.md) of 20,000 patients, 60,000 blocks with diaries, 20,000 ablations and
100,000 survey answers into a temporary directory, then runs `import_registry` on it in a fresh database
(painreg_bench_import, dropped and created again each run; PAINREG_BENCH_IMPORT_DATABASE names another), and a
second time to show that matching every row again is fast too. Target: the first import under 60 s. Then
`audit_verify` must pass: every created row has its change event, in the hash chain.

    python benchmarks/bench_import.py --patients 2000      (a tenth of the size, to profile)
    python benchmarks/bench_import.py --v2                 (version 2 files: treatments.csv of every kind, a repeat
                                                            treatment for a tenth of the patients, new-problem answers
                                                            and adverse_events.csv; the same 100,000 answers)
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
# Version 2: each kind with details of its own (cryoablations.models.KIND_DETAILS), a repeat for REPEAT_SHARE of the
# patients (same nerve and side, REPEAT_AFTER_DAYS later: it supersedes the first treatment's later time points),
# an adverse event after EVENT_SHARE of the treatments.
KIND_ROWS = {
    "cryoablation": {"device": "cryo", "probe": "27G", "cycles": "2", "freeze_seconds": "120"},
    "rf_conventional": {"cannula_gauge": "18", "active_tip_mm": "10", "temperature_c": "80", "lesion_seconds": "90",
                        "lesions": "2"},
    "rf_cooled": {"cannula_gauge": "17", "active_tip_mm": "4", "temperature_c": "60", "lesion_seconds": "150",
                  "lesions": "3"},
    "rf_pulsed": {"cannula_gauge": "22", "active_tip_mm": "5", "lesion_seconds": "120", "lesions": "1"},
    "pns_temporary": {"device": "StimRouter", "leads": "1"},
    "pns_permanent": {"device": "Freedom", "leads": "2"},
}  # fmt: skip
TREATMENT_COLUMNS = [
    "treatment_id", "mrn", "kind", "performed_on", "physician", "nerve", "side", "baseline_nrs", "guidance",
    "qualifying_block_id", "device", "probe", "cycles", "freeze_seconds", "cannula_gauge", "active_tip_mm",
    "temperature_c", "lesion_seconds", "lesions", "leads", "removed_on",
]  # fmt: skip
REPEAT_SHARE, REPEAT_AFTER_DAYS, EVENT_SHARE = 0.1, 120, 0.05


def write_folder(folder: Path, seed: int = 1, patients: int = PATIENTS, v2: bool = False) -> dict[str, int]:
    """The four CSV files; clinic-local times without an offset, answers with offsets (some UTC, late evening).
    With `v2`, treatments.csv instead of ablations.csv, new-problem answers, and adverse_events.csv."""
    rng = random.Random(seed)
    counts = dict.fromkeys(("patients", "blocks", "ablations", "answers", "repeats", "events"), 0)
    names = (
        "patients",
        "blocks",
        "treatments" if v2 else "ablations",
        "survey_responses",
        *(("adverse_events",) if v2 else ()),
    )
    files = {name: (folder / f"{name}.csv").open("w", newline="", encoding="utf-8") for name in names}
    writers = {name: csv.writer(handle) for name, handle in files.items()}
    if v2:
        writers["ablations"] = writers["treatments"]
        writers["treatments"].writerow(TREATMENT_COLUMNS)
        writers["adverse_events"].writerow(
            ["event_id", "treatment_id", "block_id", "occurred_on", "category", "severity", "serious", "relatedness",
             "resolved_on", "notes"]
        )  # fmt: skip
    writers["patients"].writerow(
        ["mrn", "first_name", "last_name", "date_of_birth", "sex", "email", "mobile_phone", "preferred_channel",
         "timezone"]
    )  # fmt: skip
    writers["blocks"].writerow(
        ["block_id", "mrn", "performed_at", "physician", "nerve", "side", "guidance", "drug", "concentration_percent",
         "volume_ml", "needle_gauge", "baseline_nrs", "diary"]
    )  # fmt: skip
    if not v2:
        writers["ablations"].writerow(
            ["ablation_id", "mrn", "performed_on", "physician", "nerve", "side", "baseline_nrs", "device", "probe",
             "cycles", "freeze_seconds", "qualifying_block_id"]
        )  # fmt: skip
    writers["survey_responses"].writerow(
        ["mrn", "treatment_id" if v2 else "ablation_id", "completed_at", "pain_average", "pain_current", "pain_worst",
         "percent_relief", "pgic", *(("new_problem", "new_problem_text") if v2 else ())]
    )  # fmt: skip
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
        if v2:
            _treatment_write(writers, rng, ablation_id, mrn, ablated_on, nerve, side, baseline, counts)
            if rng.random() < REPEAT_SHARE:
                repeat_on = ablated_on + dt.timedelta(days=REPEAT_AFTER_DAYS)
                _treatment_write(writers, rng, f"BR{n:07d}", mrn, repeat_on, nerve, side, baseline, counts)
                counts["repeats"] += 1
                counts["ablations"] += 1
        else:
            writers["ablations"].writerow(
                [ablation_id, mrn, ablated_on.isoformat(), rng.choice(PHYSICIANS), nerve, side, baseline, "cryo",
                 "27G", 2, 120, ""]
            )  # fmt: skip
        for day in ANSWER_DAYS[:ANSWERS_PER_ABLATION]:
            local = dt.datetime.combine(ablated_on + dt.timedelta(days=day + rng.randint(-3, 3)), dt.time(10))
            if rng.random() < 0.1:  # a late-evening call, written in UTC: the next day's date
                completed = (local + dt.timedelta(hours=13, minutes=30)).strftime("%Y-%m-%dT%H:%M:00Z")
            else:
                completed = local.strftime("%Y-%m-%dT%H:%M:00-05:00")
            pain = rng.randint(0, 10)
            new_problem = (["yes", "Numb patch"] if rng.random() < 0.05 else ["no", ""]) if v2 else []
            writers["survey_responses"].writerow(
                [mrn, ablation_id, completed, pain, pain, min(10, pain + 1), "", rng.randint(1, 7), *new_problem]
            )
            counts["answers"] += 1
        counts["patients"] += 1
        counts["ablations"] += 1
    for handle in files.values():
        handle.close()
    return counts


def _treatment_write(
    writers: dict, rng: random.Random, treatment_id: str, mrn: str, day: dt.date, nerve: str, side: str,
    baseline: int, counts: dict[str, int],
) -> None:  # fmt: skip
    kind = rng.choice(list(KIND_ROWS))
    details = dict(KIND_ROWS[kind])
    if kind == "pns_temporary":
        details["removed_on"] = (day + dt.timedelta(days=60)).isoformat()
    row = {"treatment_id": treatment_id, "mrn": mrn, "kind": kind, "performed_on": day.isoformat(),
           "physician": rng.choice(PHYSICIANS), "nerve": nerve, "side": side, "baseline_nrs": baseline,
           "guidance": rng.choice(["ultrasound", "fluoroscopy"]), **details}  # fmt: skip
    writers["treatments"].writerow([row.get(column, "") for column in TREATMENT_COLUMNS])
    if rng.random() < EVENT_SHARE:
        counts["events"] += 1
        writers["adverse_events"].writerow(
            [f"BE{treatment_id}", treatment_id, "", (day + dt.timedelta(days=3)).isoformat(),
             rng.choice(["numbness", "increased_pain", "bleeding"]), "mild", "no", "possible", "", ""]
        )  # fmt: skip


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
    parser.add_argument("--v2", action="store_true", help="version 2 files (treatments.csv, adverse events)")
    args = parser.parse_args()
    fresh_database(DATABASE)
    django_setup(DATABASE)
    from django.core.management import CommandError, call_command

    load = os.getloadavg()
    print(f"Load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} on {os.cpu_count()} CPUs (times are wall clock)")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        counts = write_folder(folder, patients=args.patients, v2=args.v2)
        extra = f" ({counts['repeats']:,} repeats), {counts['events']:,} adverse events" if args.v2 else ""
        print(
            f"Folder: {counts['patients']:,} patients, {counts['blocks']:,} blocks, {counts['ablations']:,} "
            f"{'treatments' if args.v2 else 'ablations'}{extra}, {counts['answers']:,} survey answers, written in "
            f"{time.perf_counter() - started:.1f} s"
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
