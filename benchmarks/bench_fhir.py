"""FHIR export on 100,000 demo patients: `$everything` for a patient with a long history, and the bulk NDJSON export
of the whole registry.

    PAINREG_BENCH_DATABASE=painreg_bench_fhir python benchmarks/bench_fhir.py     (or: make bench)

Uses its own database (PAINREG_BENCH_DATABASE, default painreg_bench; see _common.py), seeded once with `seed_demo`
data plus one patient with 50 procedures (30 blocks with a 4-score diary, 20 ablations) and 200 survey answers.
`$everything` is requested in-process with Django's test Client, signed in as the demo `staff` user (view, queries,
JSON and the access event; no network), for that patient and for one with a single block and ablation: the number
of queries must be the same. The bulk export writes every resource of the registry to a temporary folder, as
`manage.py export_fhir` does; its memory is the process's resident size (VmRSS), sampled while it runs, from its
peak reset just before (VmHWM, /proc/self/clear_refs).
Targets: `$everything` p95 < 300 ms, the same number of queries whatever the history; export >= 5,000 resources/s
with flat memory (no growth after the first rounds of patients).
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
import warnings
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import BENCH_DATABASE, django_setup, median, p95, timed, verdict  # noqa: E402

DATABASE = os.environ.get("PAINREG_BENCH_DATABASE", BENCH_DATABASE)
PATIENTS = 100_000
LONG_MRN = "FHIRBENCH50"
LONG_BLOCKS, LONG_ABLATIONS, LONG_ANSWERS = 30, 20, 200
EVERYTHING_REPEAT = 30
EVERYTHING_TARGET_MS = 300
EXPORT_TARGET_PER_SECOND = 5_000
# Flat memory: the resident size at the end of the export may exceed the one a tenth of the way through by this much.
EXPORT_MEMORY_DRIFT_MB = 20
RSS_SAMPLE_SECONDS = 0.5


def seed() -> None:
    from django.db import connection

    from apps.demo.generator import seed_demo
    from apps.patients.models import Patient

    existing = Patient.objects.exclude(mrn=LONG_MRN).count()
    missing = max(0, PATIENTS - existing)
    if missing:
        result = seed_demo(patients=missing)
        counts = result.counts
        print(
            f"Seeding: {counts['patients']:,} patients in {result.seconds:.1f} s ({counts['blocks']:,} blocks, "
            f"{counts['diary']:,} diary entries, {counts['ablations']:,} ablations, "
            f"{counts['responses']:,} survey responses)"
        )
    else:
        print(f"Seeding: none needed, {existing:,} patients kept from an earlier run")
    if not Patient.objects.filter(mrn=LONG_MRN).exists():
        _long_history_create()
        print(f"         plus {LONG_MRN}: {LONG_BLOCKS} blocks, {LONG_ABLATIONS} ablations, {LONG_ANSWERS} answers")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
        print(f"         database size {cursor.fetchone()[0]}")


def _long_history_create() -> None:
    """50 procedures and 200 answers over the last five years (synthetic, written in bulk in one transaction)."""
    import datetime as dt

    from django.db import transaction
    from django.utils import timezone

    from apps.accounts.models import User
    from apps.blocks.models import DiagnosticBlock, DiaryEntry
    from apps.clinic.models import Nerve
    from apps.cryoablations.models import Cryoablation
    from apps.patients.services import patient_create
    from apps.surveys.models import SurveyResponse

    physician = User.objects.get(username="physician")
    staff = User.objects.get(username="staff")
    nerve = Nerve.objects.order_by("pk").first()
    start = timezone.now() - timedelta(days=5 * 365)
    with transaction.atomic():
        patient = patient_create(
            mrn=LONG_MRN, first_name="Long", last_name="History", date_of_birth=dt.date(1960, 2, 3), sex="F"
        )
        blocks = DiagnosticBlock.objects.bulk_create(
            DiagnosticBlock(
                patient=patient,
                performed_at=start + timedelta(days=30 * n),
                physician=physician,
                nerve=nerve,
                side="left" if n % 2 else "right",
                baseline_nrs=7,
                suspected_diagnosis="superior_cluneal",
                notes="Synthetic benchmark record",
            )
            for n in range(LONG_BLOCKS)
        )
        DiaryEntry.objects.bulk_create(
            DiaryEntry(block=block, minutes_after=minutes, nrs=score)
            for block in blocks
            for minutes, score in [(15, 3), (30, 2), (60, 3), (240, 6)]
        )
        ablations = Cryoablation.objects.bulk_create(
            Cryoablation(
                patient=patient,
                performed_on=timezone.localdate(start) + timedelta(days=30 * n + 7),
                physician=physician,
                nerve=nerve,
                side=blocks[n].side,
                baseline_nrs=7,
                qualifying_block=blocks[n],
                qualifying_source="staff",
            )
            for n in range(LONG_ABLATIONS)
        )
        per_ablation = LONG_ANSWERS // LONG_ABLATIONS
        SurveyResponse.objects.bulk_create(
            SurveyResponse(
                ablation=ablation,
                completed_at=start + timedelta(days=30 * n + 10 + 2 * k),
                pain_average=3,
                pain_current=2,
                pain_worst=5,
                percent_relief=60,
                pgic=2,
                collected_via="phone",
                recorded_by=staff,
            )
            for n, ablation in enumerate(ablations)
            for k in range(per_ablation)
        )


def _short_history_patient():
    from django.db.models import Count

    from apps.patients.models import Patient

    return (
        Patient.objects.annotate(blocks_n=Count("blocks", distinct=True), ablations_n=Count("cryoablations"))
        .filter(blocks_n=1, ablations_n=1)
        .order_by("pk")
        .first()
    )


def bench_everything() -> bool:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from apps.accounts.models import User
    from apps.patients.models import Patient

    client = Client(SERVER_NAME="localhost")  # the test Client's "testserver" is not in ALLOWED_HOSTS
    client.force_login(User.objects.get(username="staff"))
    print(f"\n$everything, {EVERYTHING_REPEAT} requests each        median      p95  queries  resources  target (p95)")
    ok, counts = True, []
    for label, patient in [
        ("short history (1 block, 1 ablation)", _short_history_patient()),
        ("long history (50 procedures, 200 answers)", Patient.objects.get(mrn=LONG_MRN)),
    ]:
        url = reverse("fhir:patient_everything", args=[patient.public_id])

        def request(url=url):
            response = client.get(url)
            if response.status_code != 200:
                raise RuntimeError(f"GET {url} answered {response.status_code}")
            return response

        times = timed(request, EVERYTHING_REPEAT)
        with CaptureQueriesContext(connection) as queries:
            total = request().json()["total"]
        counts.append(len(queries))
        fast = p95(times) < EVERYTHING_TARGET_MS
        ok &= fast
        print(
            f"  {label:<42} {median(times):6.1f} ms {p95(times):6.1f} ms {len(queries):6d} {total:10,d}  "
            f"< {EVERYTHING_TARGET_MS} ms  {verdict(fast)}"
        )
    same = counts[0] == counts[1]
    print(f"  same number of queries whatever the history: {verdict(same)}")
    return ok and same


def _rss_mb(field: str = "VmRSS") -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def _reset_peak_rss() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")  # resets VmHWM to the current resident size
        return True
    except OSError:
        return False


def bench_export() -> bool:
    from apps.api.fhir import EXPORT_CHUNK_PATIENTS, fhir_bulk_export

    print(f"\nBulk export of the whole registry (NDJSON, {EXPORT_CHUNK_PATIENTS} patients a round)")
    samples: list[tuple[float, float]] = []
    done = threading.Event()

    def sample() -> None:
        started = time.perf_counter()
        while not done.wait(RSS_SAMPLE_SECONDS):
            samples.append((time.perf_counter() - started, _rss_mb()))

    with tempfile.TemporaryDirectory(prefix="bench_fhir_") as folder:
        peak_reset = _reset_peak_rss()
        before = _rss_mb()
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            result = fhir_bulk_export(directory=Path(folder), actor_label="system:benchmark")
        finally:
            done.set()
            sampler.join()
        peak = _rss_mb("VmHWM") if peak_reset else max((rss for _, rss in samples), default=before)
        size = sum(path.stat().st_size for path in Path(folder).iterdir())
    rate = result.total / result.seconds
    fast = rate >= EXPORT_TARGET_PER_SECOND
    for resource_type, count in result.counts.items():
        print(f"  {resource_type + '.ndjson':<32} {count:>10,d}")
    print(f"  {'total':<32} {result.total:>10,d} resources, {size / 2**20:,.0f} MB, in {result.seconds:.1f} s")
    print(f"  {'rate':<32} {rate:>10,.0f} resources/s   >= {EXPORT_TARGET_PER_SECOND:,}/s  {verdict(fast)}")
    tenth = next((rss for at, rss in samples if at >= result.seconds / 10), before)
    drift = (samples[-1][1] if samples else before) - tenth
    flat = drift <= EXPORT_MEMORY_DRIFT_MB
    print(
        f"  {'memory (resident)':<32} {before:,.0f} MB before, {tenth:,.0f} MB a tenth of the way, "
        f"{samples[-1][1] if samples else before:,.0f} MB at the end, peak {peak:,.0f} MB (+{peak - before:,.0f} MB)"
    )
    print(
        f"  {'flat memory':<32} {drift:+10.1f} MB from a tenth of the way to the end, "
        f"<= {EXPORT_MEMORY_DRIFT_MB} MB  {verdict(flat)}"
    )
    return fast and flat


def main() -> int:
    warnings.filterwarnings("ignore", message="No directory at")  # WhiteNoise: no static files served here
    django_setup(DATABASE)
    from django.conf import settings

    print(f"Database {DATABASE}, DEBUG={settings.DEBUG}, load average {os.getloadavg()[0]:.2f} (2 cores shared)")
    seed()
    everything_ok = bench_everything()
    export_ok = bench_export()
    print(f"\nAll targets met: {verdict(everything_ok and export_ok)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
