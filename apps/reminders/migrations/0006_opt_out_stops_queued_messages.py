"""A patient's opt-out stops their queued messages in the same transaction (watches patients_patient).

The surveys app records the opt-out (surveys.services.patient_opt_out) and sits below reminders, so it does not
call this app; the database does the work instead, as for a completed follow-up (0004): the patient's page shows
"Not sent: opted out" the moment the patient opts out, not after the next sweep. Rows already sent, or being sent,
stay as they are: the send's re-check (the messaging rule, reminders.selectors) stops a claimed one.
"""

from django.db import migrations

FUNCTIONS = """
CREATE FUNCTION reminders_patient_opted_out() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE reminders_message m
    SET status = 'cancelled', detail = 'opted out', updated_at = now()
    FROM new_rows n JOIN old_rows o ON o.id = n.id
    WHERE m.patient_id = n.id AND m.status = 'queued'
      AND n.opted_out_at IS NOT NULL AND o.opted_out_at IS NULL;
    RETURN NULL;
END
$$;

CREATE TRIGGER reminders_patient_opted_out AFTER UPDATE ON patients_patient
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION reminders_patient_opted_out();
"""

DROP_FUNCTIONS = """
DROP TRIGGER reminders_patient_opted_out ON patients_patient;
DROP FUNCTION reminders_patient_opted_out();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("reminders", "0005_staff_send_and_phone_channel"),
        ("patients", "0003_patient_reminder_state"),
    ]

    operations = [migrations.RunSQL(FUNCTIONS, DROP_FUNCTIONS)]
