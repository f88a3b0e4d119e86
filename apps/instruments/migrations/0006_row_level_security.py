"""Row-level security (apps.clinic.row_security) on the instruments' answers: those of a visible treatment."""

from django.db import migrations

from apps.clinic.row_security import site_scope_policy


class Migration(migrations.Migration):
    dependencies = [
        ("cryoablations", "0007_row_level_security"),
        ("instruments", "0005_baseline_first_day"),
    ]

    operations = [
        site_scope_policy(
            "instruments_instrumentanswer",
            "EXISTS (SELECT FROM cryoablations_cryoablation a WHERE a.id = treatment_id)",
        ),
    ]
