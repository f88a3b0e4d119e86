# The repeat rule's lookup (view cryoablations_supersession, migration 0005): the next treatment of the same
# patient, nerve and side by one index probe.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("cryoablations", "0005_treatment_kinds_and_supersession")]

    operations = [
        migrations.AddIndex(
            model_name="cryoablation",
            index=models.Index(
                fields=["patient", "nerve", "side", "performed_on", "id"], name="treatment_repeat_lookup"
            ),
        ),
    ]
