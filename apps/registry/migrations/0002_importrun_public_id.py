import uuid

from django.db import migrations, models


class Migration(migrations.Migration):
    """A random public id for each import run, for the run's page (existing runs get one each)."""

    dependencies = [
        ("registry", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="importrun",
            name="public_id",
            field=models.UUIDField(null=True, editable=False),
        ),
        # One value per row (a default given to AddField would be one value for all of them).
        migrations.RunSQL(
            "UPDATE registry_importrun SET public_id = gen_random_uuid() WHERE public_id IS NULL",
            migrations.RunSQL.noop,
        ),
        migrations.AlterField(
            model_name="importrun",
            name="public_id",
            field=models.UUIDField(default=uuid.uuid4, unique=True, editable=False),
        ),
    ]
