"""Settings for `make run` on a developer's or an evaluator's machine."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
SECRET_KEY = env("DJANGO_SECRET_KEY", default="local-only-secret-not-for-production-use-0123456789")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# `make run` runs web, worker and beat under honcho, which starts each line with the time: the processes' own
# lines leave theirs out, so the console shows one clock (Django's and Celery's would be in the clinic's zone).
LOGGING = {**LOGGING, "formatters": {"plain": {"format": "%(levelname)s %(name)s %(message)s"}}}  # noqa: F405
CELERY_WORKER_LOG_FORMAT = "%(levelname)s/%(processName)s %(message)s"
CELERY_WORKER_TASK_LOG_FORMAT = "%(levelname)s/%(processName)s %(task_name)s[%(task_id)s] %(message)s"
