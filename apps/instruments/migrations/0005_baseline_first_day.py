"""The baseline window's first day as a rule of its own, instruments_baseline_first_day(performed_on): 30 days before
the treatment date (outcome-definitions.md, "Version 2: exact readings", Instruments). instruments_baseline_answers
reads it, deciding exactly as before, and so do the pages that say the window and the staff form that refuses a date
outside it (apps.instruments.selectors.baseline_first_day): the 30 is written here only."""

from django.db import migrations

FORWARD = """
CREATE FUNCTION instruments_baseline_first_day(performed_on date) RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT performed_on - 30
$$;

CREATE OR REPLACE FUNCTION instruments_baseline_answers(tz text, treatment bigint DEFAULT NULL)
RETURNS TABLE (treatment_id bigint, instrument_id bigint, answer_id bigint)
LANGUAGE sql STABLE AS $$
    SELECT DISTINCT ON (a.treatment_id, a.instrument_id) a.treatment_id, a.instrument_id, a.id
    FROM instruments_instrumentanswer a
    JOIN cryoablations_cryoablation t ON t.id = a.treatment_id
    WHERE (treatment IS NULL OR a.treatment_id = treatment)
      AND (a.completed_at AT TIME ZONE tz)::date BETWEEN instruments_baseline_first_day(t.performed_on) AND t.performed_on
    ORDER BY a.treatment_id, a.instrument_id, a.completed_at DESC, a.id DESC
$$;
"""

BACKWARD = """
CREATE OR REPLACE FUNCTION instruments_baseline_answers(tz text, treatment bigint DEFAULT NULL)
RETURNS TABLE (treatment_id bigint, instrument_id bigint, answer_id bigint)
LANGUAGE sql STABLE AS $$
    SELECT DISTINCT ON (a.treatment_id, a.instrument_id) a.treatment_id, a.instrument_id, a.id
    FROM instruments_instrumentanswer a
    JOIN cryoablations_cryoablation t ON t.id = a.treatment_id
    WHERE (treatment IS NULL OR a.treatment_id = treatment)
      AND (a.completed_at AT TIME ZONE tz)::date BETWEEN t.performed_on - 30 AND t.performed_on
    ORDER BY a.treatment_id, a.instrument_id, a.completed_at DESC, a.id DESC
$$;
DROP FUNCTION instruments_baseline_first_day(date);
"""


class Migration(migrations.Migration):
    dependencies = [("instruments", "0004_rules_for_one_treatment")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
