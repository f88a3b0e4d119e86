"""scripts/services.py, behind `make run` and `make stop`: what it hands the processes and what it stops."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

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
