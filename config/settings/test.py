"""Settings for the test suite: the real PostgreSQL and Redis from DATABASE_URL / REDIS_URL."""

import tempfile
from pathlib import Path

from .base import *  # noqa: F403

SECRET_KEY = "test-only-secret-not-for-production-use-0123456789"  # noqa: S105
DEBUG = False
ALLOWED_HOSTS = ["*"]
# Hashing with argon2 on every test sign-in would dominate the suite's run time.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Tests never run collectstatic: let WhiteNoise serve from the finders instead of warning about STATIC_ROOT.
WHITENOISE_AUTOREFRESH = True
# Report files and registry uploads of the tests: out of the checkout.
REPORT_FILES_ROOT = str(Path(tempfile.gettempdir()) / "painreg-test-media" / "reports")
REGISTRY_UPLOADS_ROOT = str(Path(tempfile.gettempdir()) / "painreg-test-media" / "registry-uploads")
# A "replica" alias that is the test database itself (Django's TEST MIRROR): the tests of apps.clinic.replica turn
# the replica reads on with settings.READ_REPLICA = "replica" and ask for databases=["default", "replica"]. Every
# other test runs as a deployment without DATABASE_REPLICA_URL: READ_REPLICA stays "", nothing reads from the alias.
DATABASES["replica"] = {**DATABASES["default"], "TEST": {"MIRROR": "default"}}  # noqa: F405
# Commits without waiting for the WAL's flush to disk: a test never needs a commit to survive a crash of the server,
# and the suite commits thousands of times (transactional tests, live servers, workers). No JIT compilation: the
# tests' tables are small, and a plan costed on unanalysed ones may still be compiled, which takes longer than the
# query (the engine's own statements turn it off themselves). Per connection: the server's settings are left alone.
DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c synchronous_commit=off -c jit=off"  # noqa: F405
