"""Server time of the API's patient list on 100,000 demo patients: the default page, a search, an ordering.

    python benchmarks/bench_api.py          (or: make bench)

Uses its own database, painreg_bench_api (PAINREG_BENCH_DATABASE to name another; see _common.py), seeded once
with `seed_demo` data as bench_clinical.py does. Requests go in-process through Django's test Client with a
read-only API token (`Authorization: Bearer ...`), so the times are the server's own: token lookup, throttle
(Redis), role check, queries, access event and JSON, no network. The throttle stays on, at a rate these requests
cannot reach. Target (issue 6): p95 < 100 ms for each list.
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import demo_seed, django_setup, median, p95, timed, verdict  # noqa: E402

DATABASE = os.environ.get("PAINREG_BENCH_DATABASE", "painreg_bench_api")
PATIENTS = 100_000
REPEAT = 50
TARGET_P95_MS = 100


def token_client():
    """A test Client sending a fresh read-only token of a front-desk (staff) user."""
    from datetime import timedelta

    from django.contrib.auth.models import Group
    from django.test import Client
    from django.utils import timezone

    from apps.accounts.models import Role, User
    from apps.api.services import token_issue

    user, created = User.objects.get_or_create(username="bench_api", defaults={"first_name": "Bench"})
    if created:
        user.groups.add(Group.objects.get(name=Role.STAFF))
    _, raw = token_issue(user=user, name="bench_api", expires_at=timezone.now() + timedelta(hours=1))
    # The test Client calls itself "testserver", which ALLOWED_HOSTS (localhost, 127.0.0.1) refuses.
    return Client(SERVER_NAME="localhost", HTTP_AUTHORIZATION=f"Bearer {raw}")


def main() -> int:
    warnings.filterwarnings("ignore", message="No directory at")
    os.environ["API_RATE_LIMIT"] = "1000000/min"
    django_setup(DATABASE)
    from django.conf import settings
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from apps.patients.models import Patient

    print(f"Database {DATABASE}, DEBUG={settings.DEBUG}")
    demo_seed(PATIENTS)
    print(f"{Patient.objects.count():,} patients; load average {os.getloadavg()[0]:.2f} (1 min)")
    client = token_client()
    url = reverse("api:patient_list")
    # A surname the demo data holds, for a realistic search.
    surname = Patient.objects.order_by("pk").values_list("last_name", flat=True)[500]
    cases = [
        ("default page (50, by name)", {}),
        (f"search q={surname[:4].lower()}", {"q": surname[:4].lower()}),
        ("search MRN prefix", {"q": Patient.objects.order_by("pk").values_list("mrn", flat=True)[1234][:-2]}),
        ("ordering=-last_name", {"ordering": "-last_name"}),
        ("ordering=mrn, page 40", {"ordering": "mrn", "page": 40}),
        ("search q=zzz (no match)", {"q": "zzz"}),
        ("search q=m (a broad prefix)", {"q": "m"}),
    ]
    failed = False
    print(f"\nGET {url}, {REPEAT} requests each          median      p95  queries  target p95")
    for label, params in cases:

        def request(params=params, label=label):
            response = client.get(url, params)
            if response.status_code != 200:
                raise RuntimeError(f"{label}: answered {response.status_code} {response.content[:200]!r}")
            return response

        times = timed(request, REPEAT)
        with CaptureQueriesContext(connection) as queries:
            count = request().json()["count"]
        ok = p95(times) < TARGET_P95_MS
        failed |= not ok
        print(
            f"  {label:<36} {median(times):7.1f} ms {p95(times):6.1f} ms  {len(queries):5d}    "
            f"< {TARGET_P95_MS} ms  {verdict(ok)}   ({count:,} found)"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
