"""Every patient belongs to a site (clinic 0006). The column is added with its default, clinic_only_site(): being
STABLE, PostgreSQL evaluates it once for the rows already there, which so all get the registry's one site, and the
column is NOT NULL from the start. Later rows that do not name a site get the same default (refused once the
registry has two or more sites). Reversed by dropping the column."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("clinic", "0006_site"),
        ("patients", "0005_sms_consent_and_text_stop"),
    ]

    operations = [
        migrations.AddField(
            model_name="patient",
            name="site",
            field=models.ForeignKey(
                db_default=models.Func(function="clinic_only_site", output_field=models.BigIntegerField()),
                on_delete=django.db.models.deletion.PROTECT,
                related_name="patients",
                to="clinic.site",
            ),
        ),
    ]
