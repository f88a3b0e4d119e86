"""The MME rule of migration 0002 in two named parts, so that a report can compute it for many days at once by a
join (apps.reports.sql) rather than by a call per day, and still read the one rule:
- medications_active(started_on, stopped_on, day): a statement is active on a day when started on or before it and
  not stopped on or before it (a same-day handover counts the new statement only);
- medications_statement_mme(daily_dose, opioid): a statement's daily MME, its dose times its factor (0 without one).
medications_mme(patient, day), the sum over the patient's statements active on the day, is rewritten with them and
decides exactly as before. Both parts are plain expressions, which PostgreSQL inlines."""

from django.db import migrations

FORWARD = """
CREATE FUNCTION medications_active(started_on date, stopped_on date, day date) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT started_on <= day AND (stopped_on IS NULL OR stopped_on > day)
$$;

CREATE FUNCTION medications_statement_mme(daily_dose numeric, opioid text) RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT daily_dose * coalesce(medications_mme_factor(opioid), 0)
$$;

CREATE OR REPLACE FUNCTION medications_mme(patient bigint, day date) RETURNS numeric
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce(sum(medications_statement_mme(s.daily_dose, s.opioid)), 0)::numeric
    FROM medications_medicationstatement s
    WHERE s.patient_id = patient AND medications_active(s.started_on, s.stopped_on, day)
$$;
"""

BACKWARD = """
CREATE OR REPLACE FUNCTION medications_mme(patient bigint, day date) RETURNS numeric
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce(sum(s.daily_dose * coalesce(medications_mme_factor(s.opioid), 0)), 0)::numeric
    FROM medications_medicationstatement s
    WHERE s.patient_id = patient AND s.started_on <= day AND (s.stopped_on IS NULL OR s.stopped_on > day)
$$;
DROP FUNCTION medications_statement_mme(numeric, text);
DROP FUNCTION medications_active(date, date, date);
"""


class Migration(migrations.Migration):
    dependencies = [("medications", "0002_mme_rule")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
