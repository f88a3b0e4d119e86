import django.core.validators
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("blocks", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="diagnosticblock",
            name="needle_gauge",
            field=models.PositiveSmallIntegerField(
                blank=True, help_text="e.g. 25", null=True, validators=[django.core.validators.MinValueValidator(1)]
            ),
        ),
        migrations.AddField(
            model_name="diagnosticblock",
            name="external_id",
            field=models.CharField(blank=True, editable=False, max_length=64, null=True, verbose_name="source id"),
        ),
        migrations.AddConstraint(
            model_name="diagnosticblock",
            constraint=models.UniqueConstraint(
                condition=models.Q(("external_id__isnull", False)),
                fields=("external_id",),
                name="block_external_id_unique",
            ),
        ),
        migrations.AddConstraint(
            model_name="diagnosticblock",
            constraint=models.CheckConstraint(
                condition=models.Q(("needle_gauge__gt", 0), ("needle_gauge__isnull", True), _connector="OR"),
                name="block_needle_gauge_positive",
            ),
        ),
    ]
