# Each audit table's chain head (last position and hash), kept apart from the table so that rows removed from the
# end of a chain, or a table emptied, are seen by audit_verify (apps/audit/db.py). The heads start from the chains
# as they stand; the triggers that keep them and refuse TRUNCATE are installed after migrate, as the others are.

from django.db import migrations, models


def _record_heads(apps, schema_editor):
    connection = schema_editor.connection
    existing = set(connection.introspection.table_names())
    with connection.cursor() as cursor:
        for model in apps.get_app_config("audit").get_models():
            table = model._meta.db_table
            if table not in existing or not {"chain_seq", "row_hash"} <= {f.name for f in model._meta.fields}:
                continue
            cursor.execute(
                f"""
                INSERT INTO audit_chainhead (table_name, last_seq, last_hash)
                SELECT %s, chain_seq, row_hash FROM {connection.ops.quote_name(table)}
                WHERE chain_seq IS NOT NULL ORDER BY chain_seq DESC LIMIT 1
                """,  # noqa: S608
                [table],
            )


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0004_track_api_tokens"),
    ]

    operations = [
        migrations.CreateModel(
            name="ChainHead",
            fields=[
                ("table_name", models.CharField(max_length=63, primary_key=True, serialize=False)),
                ("last_seq", models.BigIntegerField()),
                ("last_hash", models.BinaryField()),
            ],
        ),
        migrations.RunPython(_record_heads, migrations.RunPython.noop),
    ]
