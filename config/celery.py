import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("painreg")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Static schedule: the reminder sweep every minute. A beat that misses a minute loses nothing: the rows are in
# the database and the next sweep claims whatever is due.
app.conf.beat_schedule = {
    "reminders-sweep": {"task": "apps.reminders.tasks.reminders_sweep", "schedule": 60.0, "options": {"expires": 55}},
}
