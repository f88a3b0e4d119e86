"""Row-level security (apps.clinic.row_security) on the opioid statements and reviews: those of a visible patient."""

from django.db import migrations

from apps.clinic.row_security import site_scope_policy


class Migration(migrations.Migration):
    dependencies = [
        ("patients", "0007_row_level_security"),
        ("medications", "0003_mme_rule_in_parts"),
    ]

    operations = [
        site_scope_policy("medications_medicationstatement", "painreg_patient_visible(patient_id)"),
        site_scope_policy("medications_medicationreview", "painreg_patient_visible(patient_id)"),
    ]
