"""The staff queue's index: answers reporting a new problem, in the order the worklist's New problems tab reads them.

Partial (only the yeses, a few in a hundred answers), so the tab's count on every worklist page reads a handful of
rows, not every answer. On the surveys table, but the queue's: this app reads it, the surveys app knows no queue."""

from django.db import migrations

INDEX = "adverse_events_new_problem_queue"


class Migration(migrations.Migration):
    dependencies = [
        ("adverse_events", "0002_problem_review"),
        ("surveys", "0003_survey_new_problem"),
    ]

    operations = [
        migrations.RunSQL(
            f"CREATE INDEX {INDEX} ON surveys_surveyresponse (recorded_at, id) WHERE new_problem",
            f"DROP INDEX {INDEX}",
        ),
    ]
