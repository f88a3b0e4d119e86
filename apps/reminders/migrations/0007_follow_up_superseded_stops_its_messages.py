"""A follow-up superseded by a repeat treatment stops its queued messages in the same transaction, as an answered
one does (0004): the same statement trigger on cryoablations_followup, now watching both columns."""

from django.db import migrations

FUNCTION = """
CREATE OR REPLACE FUNCTION reminders_follow_up_answered() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE reminders_message m
    SET status = 'cancelled',
        detail = CASE WHEN n.superseded_by_id IS NOT NULL AND o.superseded_by_id IS NULL
                      THEN 'superseded by a repeat treatment' ELSE 'survey completed' END,
        updated_at = now()
    FROM new_rows n JOIN old_rows o ON o.id = n.id
    WHERE m.follow_up_id = n.id AND m.status = 'queued'
      AND ((n.counted_response_id IS NOT NULL AND o.counted_response_id IS NULL)
           OR (n.superseded_by_id IS NOT NULL AND o.superseded_by_id IS NULL));
    RETURN NULL;
END
$$;
"""

PREVIOUS = """
CREATE OR REPLACE FUNCTION reminders_follow_up_answered() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE reminders_message m
    SET status = 'cancelled', detail = 'survey completed', updated_at = now()
    FROM new_rows n JOIN old_rows o ON o.id = n.id
    WHERE m.follow_up_id = n.id AND m.status = 'queued'
      AND n.counted_response_id IS NOT NULL AND o.counted_response_id IS NULL;
    RETURN NULL;
END
$$;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("reminders", "0006_opt_out_stops_queued_messages"),
        ("cryoablations", "0005_treatment_kinds_and_supersession"),
    ]

    operations = [migrations.RunSQL(FUNCTION, PREVIOUS)]
