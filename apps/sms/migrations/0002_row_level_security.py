"""Row-level security (apps.clinic.row_security) on the texts received: those of a visible patient, and those from a
number no one patient has (everyone's to sort, as apps.sms.selectors)."""

from django.db import migrations

from apps.clinic.row_security import site_scope_policy


class Migration(migrations.Migration):
    dependencies = [
        ("patients", "0007_row_level_security"),
        ("sms", "0001_initial"),
    ]

    operations = [
        site_scope_policy("sms_inboundsms", "patient_id IS NULL OR painreg_patient_visible(patient_id)"),
    ]
