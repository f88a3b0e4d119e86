from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("cryoablations", "0003_followup_counted_response"),
    ]

    operations = [
        migrations.AddField(
            model_name="cryoablation",
            name="external_id",
            field=models.CharField(blank=True, editable=False, max_length=64, null=True, verbose_name="source id"),
        ),
        migrations.AddConstraint(
            model_name="cryoablation",
            constraint=models.UniqueConstraint(
                condition=models.Q(("external_id__isnull", False)),
                fields=("external_id",),
                name="ablation_external_id_unique",
            ),
        ),
    ]
