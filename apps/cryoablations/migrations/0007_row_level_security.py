"""Row-level security (apps.clinic.row_security) on the treatments and their follow-ups: those of a visible patient;
the supersession views read as their reader, so that the policies apply through them."""

from django.db import migrations

from apps.clinic.row_security import site_scope_policy, view_as_invoker


class Migration(migrations.Migration):
    dependencies = [
        ("patients", "0007_row_level_security"),
        ("cryoablations", "0006_treatment_repeat_lookup"),
    ]

    operations = [
        site_scope_policy("cryoablations_cryoablation", "painreg_patient_visible(patient_id)"),
        site_scope_policy(
            "cryoablations_followup", "EXISTS (SELECT FROM cryoablations_cryoablation a WHERE a.id = ablation_id)"
        ),
        view_as_invoker("cryoablations_supersession"),
        view_as_invoker("cryoablations_followup_supersession"),
    ]
