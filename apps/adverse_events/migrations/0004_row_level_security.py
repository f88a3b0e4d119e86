"""Row-level security (apps.clinic.row_security) on the adverse events (of a visible treatment or block, as
AdverseEvent.patient_paths) and the reviews of new problems (of a visible survey response)."""

from django.db import migrations

from apps.clinic.row_security import site_scope_policy


class Migration(migrations.Migration):
    dependencies = [
        ("blocks", "0008_row_level_security"),
        ("surveys", "0006_row_level_security"),
        ("adverse_events", "0003_new_problem_queue_index"),
    ]

    operations = [
        site_scope_policy(
            "adverse_events_adverseevent",
            "EXISTS (SELECT FROM cryoablations_cryoablation a WHERE a.id = treatment_id)"
            " OR EXISTS (SELECT FROM blocks_diagnosticblock b WHERE b.id = block_id)",
        ),
        site_scope_policy(
            "adverse_events_problemreview", "EXISTS (SELECT FROM surveys_surveyresponse r WHERE r.id = response_id)"
        ),
    ]
