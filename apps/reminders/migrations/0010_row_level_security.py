"""Row-level security (apps.clinic.row_security) on the messages to patients: those of a visible patient."""

from django.db import migrations

from apps.clinic.row_security import site_scope_policy


class Migration(migrations.Migration):
    dependencies = [
        ("patients", "0007_row_level_security"),
        ("reminders", "0009_baseline_message"),
    ]

    operations = [
        site_scope_policy("reminders_message", "painreg_patient_visible(patient_id)"),
    ]
