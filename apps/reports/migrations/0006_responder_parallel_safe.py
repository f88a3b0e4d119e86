"""reports_responder (0005) is PARALLEL SAFE, as the expression it replaced was: at PostgreSQL's default (UNSAFE)
it keeps the report's statements off parallel workers even when inlined (see blocks 0006)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("reports", "0005_one_definition_of_the_responder")]

    operations = [
        migrations.RunSQL(
            "ALTER FUNCTION reports_responder(integer, integer, numeric) PARALLEL SAFE;",
            "ALTER FUNCTION reports_responder(integer, integer, numeric) PARALLEL UNSAFE;",
        )
    ]
