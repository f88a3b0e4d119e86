"""One MRN prefix index instead of two.

`mrn` is unique, so Django gave it, besides the unique constraint, an index of its own for LIKE 'prefix%'
(patients_patient_mrn_44c0c6a8_like, varchar_pattern_ops), the very index that Meta.indexes names
patient_mrn_prefix and the patient search's plan uses. Two identical indexes cost every write to the table twice and
the planner a choice between equals; Django's own goes. (A later change of the field's type would make Django create
it again: drop it again then.)
"""

from django.db import migrations

INDEX = "patients_patient_mrn_44c0c6a8_like"


class Migration(migrations.Migration):
    dependencies = [("patients", "0003_patient_reminder_state")]

    operations = [
        migrations.RunSQL(
            f"DROP INDEX IF EXISTS {INDEX}",
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON patients_patient (mrn varchar_pattern_ops)",
        ),
    ]
