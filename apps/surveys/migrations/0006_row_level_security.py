"""Row-level security (apps.clinic.row_security) on the survey responses (of a visible treatment) and links (of a
visible patient)."""

from django.db import migrations

from apps.clinic.row_security import site_scope_policy


class Migration(migrations.Migration):
    dependencies = [
        ("cryoablations", "0007_row_level_security"),
        ("surveys", "0005_baseline_link"),
    ]

    operations = [
        site_scope_policy(
            "surveys_surveyresponse", "EXISTS (SELECT FROM cryoablations_cryoablation a WHERE a.id = ablation_id)"
        ),
        site_scope_policy("surveys_surveylink", "painreg_patient_visible(patient_id)"),
    ]
