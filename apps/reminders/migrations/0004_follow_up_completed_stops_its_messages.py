"""A follow-up answered stops its queued messages in the same transaction (watches cryoablations_followup).

However the answer arrives (the patient's link, staff's form, the API, the import, the admin), the follow-up's
counted answer is set by one UPDATE of cryoablations_followup; this statement trigger turns that follow-up's queued
messages into "not sent" right then, so the patient's page never shows a reminder as queued after the answer (the
sweep's own stop, messages_cancel_stopped, came up to a minute later). Rows already sent, or being sent, stay as
they are: the send's claim re-checks the counted answer itself.
"""

from django.db import migrations

FUNCTIONS = """
CREATE FUNCTION reminders_follow_up_answered() RETURNS trigger
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

CREATE TRIGGER reminders_follow_up_answered AFTER UPDATE ON cryoablations_followup
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION reminders_follow_up_answered();
"""

DROP_FUNCTIONS = """
DROP TRIGGER reminders_follow_up_answered ON cryoablations_followup;
DROP FUNCTION reminders_follow_up_answered();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("reminders", "0003_message_patient_history_index"),
        ("cryoablations", "0004_cryoablation_external_id"),
    ]

    operations = [migrations.RunSQL(FUNCTIONS, DROP_FUNCTIONS)]
