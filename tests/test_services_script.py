"""scripts/services.py, behind `make run` and `make stop`: what it hands the processes and what it stops."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.db import connection

from tests.factories import PatientFactory

ROOT = Path(__file__).resolve().parent.parent
# Not for the database: the conftest's autouse clinic catalog wants the test database all the same.
pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def services():
    spec = importlib.util.spec_from_file_location("painreg_services_script", ROOT / "scripts" / "services.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def site_url_under(env: dict[str, str]) -> str:
    """SITE_URL as a process started with env sees it (make run's settings module)."""
    env = {**env, "DJANGO_SETTINGS_MODULE": "config.settings.local", "PATH": "/usr/bin:/bin"}
    code = "import django; django.setup(); from django.conf import settings; print(settings.SITE_URL)"
    command = [sys.executable, "-c", code]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=True)  # noqa: S603
    return result.stdout.strip()


def test_make_run_links_point_at_the_port_it_serves(services):
    # given: `WEB_PORT=8020 make run`
    outer = {"WEB_PORT": "8020", "DATABASE_URL": "postgres://x@127.0.0.1/x", "REDIS_URL": "redis://127.0.0.1/0"}
    # when: the environment web, worker and beat are started with (honcho passes it to all three)
    env = services.run_environment(outer)
    # then
    assert env["WEB_PORT"] == "8020"
    assert site_url_under(env) == "http://127.0.0.1:8020"


def test_make_run_serves_on_8000_by_default_and_keeps_a_site_url_that_is_set(services):
    base = {"DATABASE_URL": "postgres://x@127.0.0.1/x", "REDIS_URL": "redis://127.0.0.1/0"}
    assert services.run_environment(base)["SITE_URL"] == "http://127.0.0.1:8000"
    env = services.run_environment({**base, "WEB_PORT": "8020", "SITE_URL": "https://pain.example.org"})
    assert site_url_under(env) == "https://pain.example.org"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def data_dir(services, tmp_path, monkeypatch):
    """.data/ of this test alone: the checkout's own may hold the servers of a `make run`."""
    monkeypatch.setattr(services, "ROOT", tmp_path)
    for name, path in {"DATA": "", "STATE": "servers.json", "PG_DATA": "pg", "VALKEY_DATA": "valkey"}.items():
        monkeypatch.setattr(services, name, tmp_path / ".data" / path)
    (tmp_path / ".data").mkdir()
    return tmp_path / ".data"


@pytest.fixture
def valkey(services, data_dir, monkeypatch):
    """A real embedded Valkey, started as `make run` starts it, on a port of its own."""
    monkeypatch.setattr(services, "REDIS_PORT", free_port())
    servers = []
    services.start_valkey(servers)
    yield servers[0]
    servers[0].stop()


@pytest.fixture
def run_in_another_terminal(services, valkey):
    """The `services.py run` that started the Valkey, still running."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "scripts/services.py", "run"])  # noqa: S603
    while "services.py" not in services.process_command(process.pid):  # until it has started
        time.sleep(0.05)
    state = json.loads(services.STATE.read_text())
    state[valkey.key]["owner"] = process.pid
    services.STATE.write_text(json.dumps(state))
    yield process
    process.kill()
    process.wait()


def test_stop_leaves_the_servers_of_a_run_still_going_and_says_so(
    services, valkey, run_in_another_terminal, monkeypatch, capsys
):
    # given: that run used other ports than the ones `make stop` is run with
    monkeypatch.setattr(services, "REDIS_PORT", free_port())
    # when
    status = services.stop_leftovers()
    # then
    assert status == 1
    assert valkey.proc.poll() is None
    out = capsys.readouterr().out
    assert f"Valkey on 127.0.0.1:{valkey.port} is still running (pid {run_in_another_terminal.pid})" in out
    assert "nothing stopped: press Ctrl-C in its terminal" in out


def test_stop_stops_what_a_killed_run_started_on_the_ports_it_used(services, valkey, monkeypatch, capsys):
    # given: the run that started Valkey was killed (its recorded owner is no `services.py` process); `make stop`
    # is run without that run's PAINREG_REDIS_PORT
    monkeypatch.setattr(services, "REDIS_PORT", free_port())
    # when
    status = services.stop_leftovers()
    # then
    assert status == 0
    assert valkey.proc.wait(timeout=5) is not None
    assert f"stopped Valkey on 127.0.0.1:{valkey.port}" in capsys.readouterr().out
    assert not services.STATE.exists()


def test_stop_says_which_recorded_server_was_gone_already(services, data_dir, capsys):
    # given: a record of a PostgreSQL whose process has gone (the machine restarted, say)
    gone = subprocess.Popen(["true"])  # noqa: S607
    gone.wait()
    services.STATE.write_text(json.dumps({"PostgreSQL on 127.0.0.1:54439": {"pid": gone.pid, "owner": 1, "signal": 2}}))
    # when
    status = services.stop_leftovers()
    # then
    assert status == 0
    assert f"PostgreSQL on 127.0.0.1:54439 (pid {gone.pid}) was no longer running" in capsys.readouterr().out
    assert not services.STATE.exists()


def test_a_run_records_the_servers_it_started_and_forgets_them_once_stopped(services, valkey):
    assert json.loads(services.STATE.read_text()) == {
        valkey.key: {"pid": valkey.proc.pid, "owner": os.getpid(), "signal": signal.SIGTERM}
    }
    valkey.stop()
    assert not services.STATE.exists()


def test_make_run_prints_the_address_once_the_server_answers(services, capsys):
    # given: web still starting on its port
    port, done = str(free_port()), threading.Event()
    announcer = threading.Thread(target=services.announce_when_up, args=(port, "Open http://127.0.0.1/", done))
    announcer.start()
    time.sleep(1.5)
    assert "Open" not in capsys.readouterr().out
    # when: it listens
    with socket.create_server(("127.0.0.1", int(port))):
        announcer.join(timeout=5)
    done.set()
    # then
    assert capsys.readouterr().out == "Open http://127.0.0.1/\n"


@pytest.mark.django_db(transaction=True)
def test_make_run_seeds_only_an_empty_database(services):
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    assert services.demo_data_loaded(url) is False
    PatientFactory()
    assert services.demo_data_loaded(url) is True


def test_a_run_takes_over_the_servers_a_killed_run_left_and_stops_them_on_its_way_out(services, valkey, capsys):
    # given: the Valkey a killed run started is still answering
    # when: the next run starts, then ends
    servers = []
    services.start_valkey(servers)
    servers[-1].stop()
    # then
    assert valkey.proc.wait(timeout=5) is not None
    assert f"stopped Valkey on 127.0.0.1:{valkey.port}" in capsys.readouterr().out
    assert not services.STATE.exists()
