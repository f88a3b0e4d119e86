"""What the benchmark scripts share: a database of their own, Django set up on it, and timing figures.

The scripts measure against `painreg_bench` on the server DATABASE_URL names (default the local PostgreSQL),
never the database that `make run` uses, and keep its data between runs: seeding 100,000 patients takes a
minute or two, the measurements a few seconds.
"""

from __future__ import annotations

import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
BENCH_DATABASE = "painreg_bench"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/painreg"


def bench_database_url(url: str, name: str = BENCH_DATABASE) -> str:
    """The same server, user and options as `url`, with another database name."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def ensure_database(url: str) -> bool:
    """Create the database `url` names when it does not exist yet; True when it was created."""
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    conninfo = urlunsplit(("postgresql", parts.netloc, parts.path, parts.query, ""))
    name = psycopg.conninfo.conninfo_to_dict(conninfo)["dbname"]
    with psycopg.connect(conninfo, dbname="postgres", autocommit=True, connect_timeout=10) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            return False
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return True


def django_setup(database: str = BENCH_DATABASE) -> str:
    """Point this process at the benchmark database (created and migrated if need be) and set Django up.
    DEBUG is off unless DJANGO_DEBUG says otherwise, so the figures are those of a production-like run."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    url = bench_database_url(os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL), database)
    if ensure_database(url):
        print(f"created database {database}")
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.local"
    os.environ.setdefault("DJANGO_DEBUG", "false")

    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    return url


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    """Milliseconds of `repeat` calls, after one warm-up call that is not counted."""
    fn()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return times


def median(times: list[float]) -> float:
    return statistics.median(times)


def p95(times: list[float]) -> float:
    return statistics.quantiles(times, n=20, method="inclusive")[18] if len(times) > 1 else times[0]


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(port: int, env: dict[str, str], *, workers: int = 2, threads: int = 4) -> subprocess.Popen:
    """gunicorn serving config.wsgi on 127.0.0.1:`port`, once it accepts connections; stop it with stop_server."""
    process = subprocess.Popen(  # noqa: S603 - our own venv's gunicorn
        [str(ROOT / ".venv/bin/gunicorn"), "config.wsgi", "-b", f"127.0.0.1:{port}", "-w", str(workers),
         "--threads", str(threads), "--log-level", "warning"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return process
        except OSError:
            time.sleep(0.2)
    stop_server(process)
    raise SystemExit("gunicorn did not start")


def stop_server(process: subprocess.Popen) -> None:
    """Ends a process this script started (gunicorn stops its workers on SIGTERM), killing it if it lingers."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def demo_seed(patients: int) -> None:
    """Tops the benchmark database up to `patients` demo patients (seed_demo), printing what it wrote."""
    from apps.demo.generator import seed_demo
    from apps.patients.models import Patient

    existing = Patient.objects.count()
    missing = max(0, patients - existing)
    if not missing:
        print(f"Seeding: none needed, {existing:,} patients kept from an earlier run")
        return
    result = seed_demo(patients=missing)
    counts = result.counts
    print(
        f"Seeding: {counts['patients']:,} patients in {result.seconds:.1f} s "
        f"({counts['blocks']:,} blocks, {counts['ablations']:,} ablations, {counts['follow_ups']:,} follow-ups)"
    )


def signed_in_client(user, **client_options):
    """A test Client signed in as `user`, as if they had just entered a code from a confirmed authenticator (as
    tests/conftest.py does): the pages' second factor asks nothing more. Django must be set up."""
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    client = Client(**client_options)
    client.force_login(user)
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or TOTPDevice.objects.create(
        user=user, name="authenticator", confirmed=True
    )
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client
