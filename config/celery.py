import os

from celery import Celery
from celery.schedules import crontab

# `celery -A config` starts a deployment's worker and beat: like gunicorn (config.wsgi), it runs production
# unless told otherwise. config/__init__.py imports this module first, so this default is also the one
# config.wsgi and config.asgi get; only manage.py and `make run` (Procfile) choose the development settings.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

app = Celery("painreg")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Static schedule: the reminder sweep every minute. A beat that misses a minute loses nothing: the rows are in
# the database and the next sweep claims whatever is due.
app.conf.beat_schedule = {
    "reminders-sweep": {"task": "apps.reminders.tasks.reminders_sweep", "schedule": 60.0, "options": {"expires": 55}},
    # Inbound text messages stored but not read (the task enqueued on commit was lost, or its worker killed).
    "sms-inbound-sweep": {"task": "apps.sms.tasks.inbound_sweep", "schedule": 60.0, "options": {"expires": 55}},
    # The dashboards' counts by month merged, each cell's rows into one (apps.reports.models.FollowUpCell): they stay
    # right unmerged, only slower to add up as changes accumulate.
    "reports-cells-compact": {
        "task": "apps.reports.tasks.cells_compact",
        "schedule": 600.0,
        "options": {"expires": 590},
    },
    # Last month's outcomes report for every physician, on the 1st at 06:00 UTC (one per physician and month, so
    # a beat firing twice changes nothing).
    "reports-monthly": {
        "task": "apps.reports.tasks.reports_monthly",
        "schedule": crontab(minute=0, hour=6, day_of_month=1),
    },
}
