"""Server time of the clinical pages on 100,000 demo patients: search, the patient page, the worklist.

    python benchmarks/bench_clinical.py          (or: make bench)

Uses its own database, painreg_bench (see _common.py), seeded once with `seed_demo` data (about 300,000
blocks, 1.2M diary entries, 100,000 ablations, 500,000 follow-ups, 300,000 survey answers) plus one patient
with a long history (40 blocks, 15 ablations). Pages are requested in-process with Django's test Client, signed
in as the demo `staff` user, so the times are the server's own: view, queries and template, no network.
Targets: search median < 50 ms; patient page median < 100 ms in at most 22 queries, the same number however
long the history; worklist median < 150 ms.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import django_setup, median, p95, timed, verdict  # noqa: E402

PATIENTS = 100_000
SEARCH_REPEAT = 30
PAGE_REPEAT = 30
WORKLIST_REPEAT = 20
SEARCH_TARGET_MS = 50
PATIENT_PAGE_TARGET_MS = 100
# The page's budget of tests/patients/test_views.py: session, user, permissions and the sites check, the access
# record, and the patient's records, one query per kind of record.
PATIENT_PAGE_MAX_QUERIES = 22
WORKLIST_TARGET_MS = 150


def seed() -> None:
    from django.db import connection

    from apps.demo.generator import seed_demo
    from apps.patients.models import Patient

    existing = Patient.objects.count()
    missing = max(0, PATIENTS - existing)
    long_history = _longest_history_patient() is None
    if not missing and not long_history:
        print(f"Seeding: none needed, {existing:,} patients kept from an earlier run")
        return
    result = seed_demo(patients=missing, long_history=long_history)
    counts = result.counts
    print(
        f"Seeding: {counts['patients']:,} patients in {result.seconds:.1f} s "
        f"({counts['blocks']:,} blocks, {counts['diary']:,} diary entries, {counts['ablations']:,} ablations, "
        f"{counts['follow_ups']:,} follow-ups, {counts['responses']:,} survey responses)"
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
        print(f"         database size now {cursor.fetchone()[0]}")


def _longest_history_patient():
    from django.db.models import Count

    from apps.blocks.models import DiagnosticBlock
    from apps.patients.models import Patient

    row = (
        DiagnosticBlock.objects.values("patient")
        .annotate(n=Count("id"))
        .filter(n__gte=30)
        .order_by("-n", "patient")
        .first()
    )
    return Patient.objects.get(pk=row["patient"]) if row else None


def _short_history_patient():
    """A patient with one block and one ablation: the least a patient page usually shows."""
    from django.db.models import Count

    from apps.patients.models import Patient

    return (
        Patient.objects.annotate(blocks_n=Count("blocks", distinct=True), ablations_n=Count("cryoablations"))
        .filter(blocks_n=1, ablations_n=1)
        .order_by("pk")
        .first()
    )


def _history(patient) -> str:
    blocks, ablations = patient.blocks.count(), patient.cryoablations.count()
    return f"{blocks} block{'s' * (blocks != 1)}, {ablations} ablation{'s' * (ablations != 1)}"


class Pages:
    def __init__(self) -> None:
        from django.test import Client

        from apps.accounts.models import User

        # The test Client calls itself "testserver", which ALLOWED_HOSTS (localhost, 127.0.0.1) refuses.
        self.client = Client(SERVER_NAME="localhost")
        self.client.force_login(User.objects.get(username="staff"))
        self.failed: list[str] = []

    def get(self, url: str):
        def request():
            response = self.client.get(url)
            if response.status_code != 200:
                raise RuntimeError(f"GET {url} answered {response.status_code}")
            return response

        return request

    def reverse(self, name: str, *args) -> str | None:
        from django.urls import NoReverseMatch, reverse

        try:
            return reverse(name, args=args)
        except NoReverseMatch:
            print(f"  {name}: no such URL yet, skipped")
            self.failed.append(name)
            return None

    def measure(self, label: str, url: str, repeat: int) -> list[float] | None:
        try:
            return timed(self.get(url), repeat)
        except RuntimeError as error:
            print(f"  {label:<44} {error}")
            self.failed.append(label)
            return None


def bench_search(pages: Pages) -> None:
    print(f"\nPatient search, {SEARCH_REPEAT} requests each       median      p95   target (median)")
    base = pages.reverse("patients:list")
    if base is None:
        return
    for label, term in [
        ("name word 'garc'", "garc"),
        ("MRN prefix 'D00123'", "D00123"),
        ("two words 'jose garc'", "jose garc"),
    ]:
        times = pages.measure(label, f"{base}?q={term.replace(' ', '+')}", SEARCH_REPEAT)
        if times:
            ok = median(times) < SEARCH_TARGET_MS
            print(f"  {label:<40} {median(times):7.1f} ms {p95(times):6.1f} ms  < {SEARCH_TARGET_MS} ms  {verdict(ok)}")


def bench_patient_page(pages: Pages) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    print(f"\nPatient page, {PAGE_REPEAT} requests each           median  queries  target")
    counts = []
    for label, patient in [
        ("short history", _short_history_patient()),
        ("longest history", _longest_history_patient()),
    ]:
        if patient is None:
            print(f"  {label}: no such patient in the data")
            pages.failed.append(label)
            continue
        url = pages.reverse("patients:detail", patient.public_id)
        if url is None:
            return
        times = pages.measure(label, url, PAGE_REPEAT)
        if not times:
            continue
        with CaptureQueriesContext(connection) as queries:
            pages.get(url)()
        counts.append(len(queries))
        ok = median(times) < PATIENT_PAGE_TARGET_MS and len(queries) <= PATIENT_PAGE_MAX_QUERIES
        described = f"{label} ({_history(patient)})"
        print(
            f"  {described:<40} {median(times):7.1f} ms {len(queries):6d}    "
            f"< {PATIENT_PAGE_TARGET_MS} ms, <= {PATIENT_PAGE_MAX_QUERIES} queries  {verdict(ok)}"
        )
    if len(counts) == 2:
        print(f"  same number of queries whatever the history: {verdict(counts[0] == counts[1])}")


def bench_worklist(pages: Pages) -> None:
    from apps.accounts.models import User

    print(f"\nWorklist, {WORKLIST_REPEAT} requests each               median      p95   target (median)")
    base = pages.reverse("cryoablations:worklist")
    if base is None:
        return
    physician = User.objects.get(username="physician")
    for label, query in [
        ("no filter", ""),
        ("?status=overdue", "?status=overdue"),
        ("?physician=<physician>&time_point=3m", f"?physician={physician.pk}&time_point=3m"),
    ]:
        times = pages.measure(label, base + query, WORKLIST_REPEAT)
        if times:
            ok = median(times) < WORKLIST_TARGET_MS
            print(
                f"  {label:<40} {median(times):7.1f} ms {p95(times):6.1f} ms  < {WORKLIST_TARGET_MS} ms  {verdict(ok)}"
            )


def main() -> int:
    # WhiteNoise warns once that collectstatic has not run; the pages measured here do not serve static files.
    warnings.filterwarnings("ignore", message="No directory at")
    django_setup()
    from django.conf import settings

    print(f"Database painreg_bench, DEBUG={settings.DEBUG}")
    seed()
    pages = Pages()
    bench_search(pages)
    bench_patient_page(pages)
    bench_worklist(pages)
    if pages.failed:
        print(f"\nNot measured: {', '.join(pages.failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
