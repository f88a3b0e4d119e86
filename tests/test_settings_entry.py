"""The server entry points (gunicorn's config.wsgi, config.asgi, `celery -A config`) never fall back to the
development settings: without DJANGO_SETTINGS_MODULE they run production, which refuses to start without a
secret key."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

# No database work here, but tests/conftest.py's autouse fixture reads the clinic catalogue.
pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[1]

PRODUCTION_ENV = {
    "DJANGO_SECRET_KEY": "x" * 20 + "a-long-random-production-secret-value-0123456789",
    "DJANGO_ALLOWED_HOSTS": "registry.example.org",
    "EMAIL_URL": "smtp+tls://registry:secret@mail.example.org:587",
}

# What each entry point does first when a server starts it; then the settings it ended up with.
ENTRY_POINTS = {
    "wsgi": "import config.wsgi",
    "asgi": "import config.asgi",
    # `celery -A config worker` imports the package and reads the app's configuration from Django's settings.
    "celery": "import config; config.celery_app.conf.broker_url",
}
SHOW_SETTINGS = "; from django.conf import settings; print(settings.SETTINGS_MODULE, settings.DEBUG)"


def run_clean(code: str, extra_env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    # A server's environment: no settings module, no secret key, nothing the test run exported for Django.
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")} | extra_env
    return subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )


@pytest.mark.parametrize("entry_point", ENTRY_POINTS)
def test_an_entry_point_without_settings_refuses_to_start_without_a_secret_key(entry_point):
    # when
    result = run_clean(ENTRY_POINTS[entry_point] + SHOW_SETTINGS, {})

    # then
    assert result.returncode != 0, result.stdout
    assert "DJANGO_SECRET_KEY" in result.stderr
    assert "True" not in result.stdout


@pytest.mark.parametrize("entry_point", ENTRY_POINTS)
def test_an_entry_point_without_settings_runs_production(entry_point):
    # when
    result = run_clean(ENTRY_POINTS[entry_point] + SHOW_SETTINGS, PRODUCTION_ENV)

    # then
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["config.settings.production", "False"]


def test_manage_py_still_runs_the_development_settings():
    # when
    result = run_clean("import manage, os, sys; sys.argv = ['manage.py', 'diffsettings']; manage.main()", {})

    # then
    assert result.returncode == 0, result.stderr
    assert "DEBUG = True" in result.stdout
