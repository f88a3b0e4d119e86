"""Staff at work, 50 at once (issue 18): a locust run on loopback against gunicorn, with requests/s, p95 and errors.

    python benchmarks/bench_load.py          (or: make bench)

Seeds its database with `seed_demo` patients (BENCH_LOAD_PATIENTS, default 10,000; kept between runs), makes
BENCH_LOAD_USERS (50) staff users, each with an authenticator (staff may enrol one: so every sign-in passes the
second factor, as tests/browser sign in), and starts gunicorn serving config.wsgi on 127.0.0.1
(BENCH_LOAD_WORKERS sync workers, default 3, and BENCH_LOAD_THREADS threads each, default 1). Then locust
(benchmarks/locust_staff.py) runs headless for BENCH_LOAD_SECONDS (60): each user signs in, then searches patients,
opens patient pages and, now and then, opens the staff answers form of a follow-up due today and saves answers.
Printed per request kind and overall: requests, requests/s, median and p95, errors. An error is any answer but the
expected one (a saved form must redirect: the form shown again is an error), and none is allowed; every save must
also be in the database afterwards. gunicorn and locust are stopped on exit.

Uses the database painreg_bench_load (PAINREG_BENCH_DATABASE names another) on DATABASE_URL's server. In a network
(PAINREG_BENCH_DATABASE=painreg_bench_network, seeded by benchmarks/seed_network.py: 1,000,000 patients over 20
sites), staff user n is a member of the n-th site round robin and works on its patients only, as staff do.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ROOT, demo_seed, django_setup, free_port, start_server, stop_server, verdict  # noqa: E402

DATABASE = os.environ.get("PAINREG_BENCH_DATABASE", "painreg_bench_load")
PATIENTS = int(os.environ.get("BENCH_LOAD_PATIENTS", "10000"))
USERS = int(os.environ.get("BENCH_LOAD_USERS", "50"))
SECONDS = int(os.environ.get("BENCH_LOAD_SECONDS", "60"))
WORKERS = int(os.environ.get("BENCH_LOAD_WORKERS", "3"))
THREADS = int(os.environ.get("BENCH_LOAD_THREADS", "1"))
SPAWN_RATE = 10  # users started per second
USERNAME_PREFIX = "bench_load_"
PASSWORD = "bench-load-pass-2026"  # noqa: S105 - a benchmark's own users, on loopback
SAMPLE = 2_000  # patients to open and names to search for


def staff_users(sites: list[Any]) -> list[dict[str, Any]]:
    """USERS staff users with a password and a confirmed authenticator, user n a member of sites[n mod len(sites)];
    their names, the authenticators' keys and their site's position in `sites`."""
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from apps.accounts.models import Role, User
    from apps.clinic.services import user_sites_set

    staff = Group.objects.get(name=Role.STAFF)
    password = make_password(PASSWORD)  # hashed once: the hasher takes a good part of a second per call
    users = []
    for n in range(USERS):
        user, _ = User.objects.update_or_create(
            username=f"{USERNAME_PREFIX}{n:03d}",
            defaults={"first_name": "Bench", "last_name": f"Staff {n}", "password": password, "is_active": True},
        )
        user.groups.set([staff])
        user_sites_set(user=user, sites=[sites[n % len(sites)]])
        TOTPDevice.objects.filter(user=user).delete()
        device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)
        users.append({"username": user.username, "key": device.key, "site": n % len(sites)})
    return users


def due_follow_ups(site: Any, count: int) -> list[str]:
    """Up to `count` follow-ups of `site`'s patients due today with no answer counted yet, shuffled: the ones staff
    phone about."""
    from django.utils import timezone

    from apps.cryoablations.models import FollowUp

    today = timezone.localdate()
    due = FollowUp.objects.filter(
        window_start__lte=today,
        window_end__gte=today,
        counted_response__isnull=True,
        ablation__patient__is_active=True,
        ablation__patient__site=site,
    )
    return [str(public_id) for public_id in due.order_by("?").values_list("public_id", flat=True)[:count]]


def workload() -> dict:
    """What the locust users work on: themselves, and for each site (in a network, each user works at one) patients
    to open, words to search for; for each user, follow-ups of their site to answer, none shared."""
    from django.conf import settings

    from apps.clinic.selectors import site_list
    from apps.patients.models import Patient

    sites = list(site_list().order_by("pk"))
    users = staff_users(sites)
    work = []
    for position, site in enumerate(sites):
        patients = list(
            Patient.objects.filter(site=site)
            .order_by("?")
            .values_list("public_id", "mrn", "last_name")[: max(SAMPLE // len(sites), 100)]
        )
        searches = {last_name[:4].lower() for _, _, last_name in patients} | {mrn[:-2] for _, mrn, _ in patients}
        workers = [user for user in users if user["site"] == position]
        follow_ups = due_follow_ups(site, len(workers) * 40)
        if len(follow_ups) < len(workers):
            raise SystemExit(f"only {len(follow_ups)} follow-ups due today at {site}: seed more patients")
        for n, user in enumerate(workers):
            user["follow_ups"] = follow_ups[n :: len(workers)]
        work.append({"patients": [str(public_id) for public_id, _, _ in patients], "searches": sorted(searches)})
    return {"password": PASSWORD, "time_zone": settings.TIME_ZONE, "users": users, "sites": work}


def run_locust(port: int, data_file: Path, result_file: Path) -> dict:
    """locust, headless, for SECONDS; its final figures (each kind of request's, with its response-time histogram)
    and errors. Its own output goes to a file, shown only when it left no figures."""
    command = [
        str(ROOT / ".venv/bin/locust"), "-f", str(ROOT / "benchmarks/locust_staff.py"), "--headless",
        "--host", f"http://127.0.0.1:{port}", "--users", str(USERS), "--spawn-rate", str(SPAWN_RATE),
        "--run-time", f"{SECONDS}s", "--stop-timeout", "10", "--only-summary", "--loglevel", "WARNING",
    ]  # fmt: skip
    env = {**os.environ, "BENCH_LOAD_DATA": str(data_file), "BENCH_LOAD_RESULT": str(result_file)}
    log = result_file.with_suffix(".log")
    with log.open("w") as output:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=output)  # noqa: S603 - our venv's
        try:
            process.wait(timeout=SECONDS + 120)
        finally:
            stop_server(process)
    if not result_file.exists():
        raise SystemExit(f"locust left no figures:\n{log.read_text()[-3000:]}")
    return json.loads(result_file.read_text())


def percentile(times: Counter[int], count: int, fraction: float) -> int:
    """The response time (ms, as locust rounds them) under which `fraction` of the `count` requests answered.
    (Importing locust here would monkey-patch this process with gevent.)"""
    seen = 0
    for ms in sorted(times):
        seen += times[ms]
        if seen >= fraction * count:
            return ms
    return 0


SIGN_IN = ("sign in", "sign in (form)", "second factor", "second factor (form)")


def report(result: dict) -> tuple[int, int]:
    """Requests, requests/s, median and p95 of each kind of request, of the staff's work (after signing in) and
    overall; the errors. Returns the number of errors and of answers saved."""
    entries = result["stats"]
    seconds = max(e["last_request_timestamp"] or 0 for e in entries) - min(e["start_time"] for e in entries)

    def line(name: str, chosen: list[dict]) -> None:
        times: Counter[int] = Counter()
        for entry in chosen:
            times.update({int(ms): count for ms, count in entry["response_times"].items()})
        count = sum(e["num_requests"] for e in chosen)
        errors = sum(e["num_failures"] for e in chosen)
        print(
            f"{name:<24} {count:>9,} {count / seconds:>7.1f} {percentile(times, count, 0.5):>6} ms "
            f"{percentile(times, count, 0.95):>6} ms {errors:>7}"
        )

    print(f"\n{'request':<24} {'requests':>9} {'req/s':>7} {'median':>9} {'p95':>9} {'errors':>7}   ({seconds:.0f} s)")
    for entry in sorted(entries, key=lambda e: (e["name"] in SIGN_IN, e["name"])):
        line(entry["name"], [entry])
    line("staff work (signed in)", [e for e in entries if e["name"] not in SIGN_IN])
    line("overall", entries)
    for error in result["errors"]:
        print(f"  error x{error['occurrences']}: {error['method']} {error['name']}: {error['error']}")
    saved = sum(e["num_requests"] - e["num_failures"] for e in entries if e["name"] == "save answers")
    return sum(e["num_failures"] for e in entries), saved


def main() -> int:
    port = free_port()
    os.environ["SITE_URL"] = f"http://127.0.0.1:{port}"
    django_setup(DATABASE)
    from django.utils import timezone

    from apps.patients.models import Patient
    from apps.surveys.models import SurveyResponse

    demo_seed(PATIENTS)
    data = workload()
    print(
        f"{Patient.objects.count():,} patients at {len(data['sites'])} site(s), {USERS} staff users, "
        f"{sum(len(user['follow_ups']) for user in data['users'])} follow-ups due today to answer; "
        f"gunicorn {WORKERS} workers x {THREADS} threads; {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}"
    )
    started = timezone.now() - timedelta(seconds=1)
    with tempfile.TemporaryDirectory(prefix="bench_load_") as tmp:
        data_file = Path(tmp) / "workload.json"
        data_file.write_text(json.dumps(data))
        # Static files are not asked for (no collectstatic here): whitenoise's warning about their directory is not.
        env = {**os.environ, "PYTHONWARNINGS": "ignore:No directory at"}
        server = start_server(port, env, workers=WORKERS, threads=THREADS)
        try:
            print(f"locust: {USERS} users ({SPAWN_RATE} started a second) for {SECONDS} s on 127.0.0.1:{port} ...")
            result = run_locust(port, data_file, Path(tmp) / "result.json")
        finally:
            stop_server(server)
    errors, saves = report(result)
    stored = SurveyResponse.objects.filter(
        recorded_by__username__startswith=USERNAME_PREFIX, recorded_at__gte=started
    ).count()
    print(f"errors: {errors} ({verdict(errors == 0)}); answers saved {saves:,}, in the database {stored:,} "
          f"({verdict(saves == stored)})")  # fmt: skip
    return 0 if errors == 0 and saves == stored else 1


if __name__ == "__main__":
    sys.exit(main())
