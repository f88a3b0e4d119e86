"""The morphine milligram equivalents, defined once in the database (outcome-definitions.md, Version 2: Opioids).

- medications_mme_factor_table(): the factor table's name and version, the one place they are written; every MME
  shown or reported carries them.
- medications_mme_factor(opioid): its factor in that table (per mg a day; the fentanyl patch per mcg an hour), NULL
  for an opioid the table gives none (buprenorphine): such a statement is listed, flagged, and adds 0.
- medications_mme(patient, day): the daily MME of the patient on the day, the sum over the statements active that
  day (started on or before it, and not stopped, or stopped after it: a same-day handover counts the new statement
  only) of daily dose x factor. Exact numeric arithmetic; 0 with no active statement.

The factors are the CDC Clinical Practice Guideline for Prescribing Opioids for Pain, 2022 (Dowell D, Ragan KR,
Jones CM, Baldwin GT, Chou R. MMWR Recomm Rep 2022;71(No. RR-3):1-95), its table of morphine milligram equivalent
conversion factors. A later table is a new migration that changes the version with the factors."""

from django.db import migrations

CREATE = """
CREATE FUNCTION medications_mme_factor_table(OUT name text, OUT version text)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT 'CDC 2022 opioid guideline MME conversion factors (Dowell 2022, MMWR Recomm Rep 71(3))'::text,
           'CDC-2022'::text
$$;

CREATE FUNCTION medications_mme_factor(opioid text) RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE opioid
        WHEN 'codeine' THEN 0.15
        WHEN 'fentanyl_transdermal' THEN 2.4
        WHEN 'hydrocodone' THEN 1
        WHEN 'hydromorphone' THEN 5
        WHEN 'methadone' THEN 4.7
        WHEN 'morphine' THEN 1
        WHEN 'oxycodone' THEN 1.5
        WHEN 'oxymorphone' THEN 3
        WHEN 'tapentadol' THEN 0.4
        WHEN 'tramadol' THEN 0.2
    END::numeric
$$;

CREATE FUNCTION medications_mme(patient bigint, day date) RETURNS numeric
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce(sum(s.daily_dose * coalesce(medications_mme_factor(s.opioid), 0)), 0)::numeric
    FROM medications_medicationstatement s
    WHERE s.patient_id = patient AND s.started_on <= day AND (s.stopped_on IS NULL OR s.stopped_on > day)
$$;
"""

DROP = """
DROP FUNCTION medications_mme(bigint, date);
DROP FUNCTION medications_mme_factor(text);
DROP FUNCTION medications_mme_factor_table();
"""


class Migration(migrations.Migration):
    dependencies = [("medications", "0001_statements_and_reviews")]

    operations = [migrations.RunSQL(CREATE, DROP)]
