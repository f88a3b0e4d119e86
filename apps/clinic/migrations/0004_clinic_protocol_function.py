"""clinic_protocol(): the clinic's protocol as SQL reads it (triggers, report statements), with no key written in
them: the table holds one row (protocol_single_row), so the function reads the table whole. Declared as a set of one
row so that the planner inlines it: `(SELECT evaluation_window_minutes FROM clinic_protocol())` costs what a read
of the table costs, once per statement."""

from django.db import migrations

FUNCTION = """
CREATE FUNCTION clinic_protocol() RETURNS SETOF clinic_protocol
LANGUAGE sql STABLE ROWS 1 AS $$
    SELECT * FROM clinic_protocol
$$;
"""


class Migration(migrations.Migration):
    dependencies = [("clinic", "0003_protocol_reminder_cadence")]

    operations = [migrations.RunSQL(FUNCTION, "DROP FUNCTION clinic_protocol();")]
