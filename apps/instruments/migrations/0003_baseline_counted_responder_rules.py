"""The instruments' rules the database knows (outcome-definitions.md, "Version 2: exact readings", Instruments),
defined once here and read by the pages (apps.instruments.selectors) and the report (apps.reports.sql).

- instruments_baseline_answers(tz): per treatment and instrument, its baseline answer: the last answer naming the
  treatment whose clinic-local date is 0..30 days before the treatment date, both ends included.
- instruments_counted_answers(tz): per follow-up and instrument, the answer counted at that time point: the last
  answer naming the treatment inside the follow-up's window (clinic-local dates); none for a superseded follow-up.
- instruments_positive(cutoff, total, items): a score total/items screens positive (at or above the cutoff).
- instruments_responder(...): the instrument's own responder rule, on scores kept as exact fractions
  total/items (apps.instruments.definitions.Score), compared by cross-multiplying so that a reduction of exactly
  30% counts: percent_reduction (baseline above 0, (b - f) x 100 >= percent x b), screen_negative (positive at
  baseline, negative now), minimal_important_change (a change of at least it in the better direction).

Tables read: instruments_instrumentanswer, cryoablations_cryoablation, cryoablations_followup.
"""

from django.db import migrations

FORWARD = """
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

CREATE FUNCTION instruments_positive(cutoff numeric, total numeric, items integer)
RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
    SELECT cutoff IS NOT NULL AND total >= cutoff * items
$$;

CREATE FUNCTION instruments_responder(
    rule text, percent numeric, mic numeric, better text, cutoff numeric,
    b_total numeric, b_items integer, f_total numeric, f_items integer
) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE rule
        WHEN 'percent_reduction' THEN
            b_total > 0 AND (b_total * f_items - f_total * b_items) * 100 >= percent * b_total * f_items
        WHEN 'screen_negative' THEN
            instruments_positive(cutoff, b_total, b_items) AND NOT instruments_positive(cutoff, f_total, f_items)
        WHEN 'minimal_important_change' THEN
            CASE WHEN better = 'lower' THEN (b_total * f_items - f_total * b_items) >= mic * b_items * f_items
                 ELSE (f_total * b_items - b_total * f_items) >= mic * b_items * f_items END
        ELSE FALSE
    END
$$;
"""

BACKWARD = """
DROP FUNCTION instruments_responder(text, numeric, numeric, text, numeric, numeric, integer, numeric, integer);
DROP FUNCTION instruments_positive(numeric, numeric, integer);
DROP FUNCTION instruments_counted_answers(text);
DROP FUNCTION instruments_baseline_answers(text);
"""


class Migration(migrations.Migration):
    dependencies = [
        ("instruments", "0002_shipped_instruments"),
        ("cryoablations", "0006_treatment_repeat_lookup"),
    ]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
