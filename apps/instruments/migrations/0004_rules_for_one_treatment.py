"""The baseline and counted-answer rules of migration 0003, unchanged in what they decide, given an optional
treatment: a page asking about one treatment reads its answers through the treatment's index instead of computing
every treatment's (instruments_baseline_answers(tz, treatment), instruments_counted_answers(tz, treatment); NULL:
every treatment, as the report reads them). The counted answers take each answer's clinic-local date once, not once
per follow-up of its treatment (measured at 460,000 answers: 1.1 s -> 0.7 s)."""

from django.db import migrations

FORWARD = """
DROP FUNCTION instruments_counted_answers(text);
DROP FUNCTION instruments_baseline_answers(text);

CREATE FUNCTION instruments_baseline_answers(tz text, treatment bigint DEFAULT NULL)
RETURNS TABLE (treatment_id bigint, instrument_id bigint, answer_id bigint)
LANGUAGE sql STABLE AS $$
    SELECT DISTINCT ON (a.treatment_id, a.instrument_id) a.treatment_id, a.instrument_id, a.id
    FROM instruments_instrumentanswer a
    JOIN cryoablations_cryoablation t ON t.id = a.treatment_id
    WHERE (treatment IS NULL OR a.treatment_id = treatment)
      AND (a.completed_at AT TIME ZONE tz)::date BETWEEN t.performed_on - 30 AND t.performed_on
    ORDER BY a.treatment_id, a.instrument_id, a.completed_at DESC, a.id DESC
$$;

CREATE FUNCTION instruments_counted_answers(tz text, treatment bigint DEFAULT NULL)
RETURNS TABLE (follow_up_id bigint, instrument_id bigint, answer_id bigint)
LANGUAGE sql STABLE AS $$
    SELECT DISTINCT ON (f.id, a.instrument_id) f.id, a.instrument_id, a.id
    FROM (
        SELECT a.id, a.treatment_id, a.instrument_id, a.completed_at, (a.completed_at AT TIME ZONE tz)::date AS day
        FROM instruments_instrumentanswer a
        WHERE treatment IS NULL OR a.treatment_id = treatment
        OFFSET 0  -- kept apart, so that the date is computed once per answer
    ) a
    JOIN cryoablations_followup f ON f.ablation_id = a.treatment_id AND a.day BETWEEN f.window_start AND f.window_end
    WHERE f.superseded_by_id IS NULL
    ORDER BY f.id, a.instrument_id, a.completed_at DESC, a.id DESC
$$;
"""

BACKWARD = """
DROP FUNCTION instruments_counted_answers(text, bigint);
DROP FUNCTION instruments_baseline_answers(text, bigint);

CREATE FUNCTION instruments_baseline_answers(tz text)
RETURNS TABLE (treatment_id bigint, instrument_id bigint, answer_id bigint)
LANGUAGE sql STABLE AS $$
    SELECT DISTINCT ON (a.treatment_id, a.instrument_id) a.treatment_id, a.instrument_id, a.id
    FROM instruments_instrumentanswer a
    JOIN cryoablations_cryoablation t ON t.id = a.treatment_id
    WHERE (a.completed_at AT TIME ZONE tz)::date BETWEEN t.performed_on - 30 AND t.performed_on
    ORDER BY a.treatment_id, a.instrument_id, a.completed_at DESC, a.id DESC
$$;

CREATE FUNCTION instruments_counted_answers(tz text)
RETURNS TABLE (follow_up_id bigint, instrument_id bigint, answer_id bigint)
LANGUAGE sql STABLE AS $$
    SELECT DISTINCT ON (f.id, a.instrument_id) f.id, a.instrument_id, a.id
    FROM cryoablations_followup f
    JOIN instruments_instrumentanswer a ON a.treatment_id = f.ablation_id
    WHERE f.superseded_by_id IS NULL
      AND (a.completed_at AT TIME ZONE tz)::date BETWEEN f.window_start AND f.window_end
    ORDER BY f.id, a.instrument_id, a.completed_at DESC, a.id DESC
$$;
"""


class Migration(migrations.Migration):
    dependencies = [("instruments", "0003_baseline_counted_responder_rules")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
