"""The instruments' and the opioids' figures from facts kept by triggers (apps.reports.models.InstrumentFact,
OpioidFact), so that the outcomes engine reads two narrow tables instead of running the instruments' answer rules over
every answer and the MME rule over every follow-up of the patients on opioids on each report or first dashboard load
(measured on 100,000 seeded patients of every kind: see the commit and benchmarks/bench_dashboard.py).

The facts are written by the rules' own functions, the rules' one home: instruments_baseline_answers and
instruments_counted_answers (instruments 0003 to 0005) for one treatment at a time, medications_mme (medications 0002,
0003) for one patient and day.

- reports_time_zone(): the clinic's time zone the instrument facts are computed in (the rules' dates are clinic-local);
  written by reports_time_zone_set(tz), which the reports app calls after every migrate with settings.TIME_ZONE
  (apps.reports.apps): a changed time zone recomputes every instrument fact. NULL before the first: no facts.
- reports_instrument_facts_refresh(treatment_ids): the rows of the given treatments (NULL: all) written again.
  Called per statement with the treatments of the transition tables on inserts, updates and deletes of instrument
  answers, on inserts and deletes of follow-ups and updates of their windows, treatment or superseding treatment, and
  on updates of a treatment's date or patient (the baseline window). Only treatments with an answer are recomputed.
- reports_opioid_facts_refresh(patient_ids): the rows of the given patients' treatments written again. Called per
  statement on inserts, updates and deletes of medication statements, on inserts, deletes and updates of the date or
  patient of treatments, and on inserts and deletes of follow-ups and updates of their target day or treatment. Only
  patients with a statement are recomputed.

Writes reports_instrumentfact and reports_opioidfact (this app's); watches instruments_instrumentanswer,
medications_medicationstatement, cryoablations_cryoablation and cryoablations_followup.
"""

from django.db import migrations, models

FUNCTIONS = """
CREATE FUNCTION reports_time_zone() RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT NULL::text
$$;

CREATE FUNCTION reports_instrument_facts_refresh(treatment_ids bigint[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    zone text := reports_time_zone();
    one bigint;
BEGIN
    IF treatment_ids IS NULL THEN
        DELETE FROM reports_instrumentfact;
        IF zone IS NOT NULL THEN
            INSERT INTO reports_instrumentfact (
                follow_up_id, instrument_id, ablation_id, baseline_total, baseline_items, counted_total, counted_items
            )
            SELECT c.follow_up_id, c.instrument_id, f.ablation_id, ba.score_total, ba.score_items, ca.score_total,
                   ca.score_items
            FROM instruments_counted_answers(zone) c
            JOIN cryoablations_followup f ON f.id = c.follow_up_id
            JOIN instruments_baseline_answers(zone) b
              ON b.treatment_id = f.ablation_id AND b.instrument_id = c.instrument_id
            JOIN instruments_instrumentanswer ba ON ba.id = b.answer_id
            JOIN instruments_instrumentanswer ca ON ca.id = c.answer_id;
        END IF;
        RETURN;
    END IF;
    DELETE FROM reports_instrumentfact WHERE ablation_id = ANY(treatment_ids);
    IF zone IS NULL THEN
        RETURN;
    END IF;
    -- One treatment at a time: the rules' functions read its answers through the treatment's index.
    FOR one IN SELECT DISTINCT a.treatment_id FROM instruments_instrumentanswer a WHERE a.treatment_id = ANY(treatment_ids)
    LOOP
        INSERT INTO reports_instrumentfact (
            follow_up_id, instrument_id, ablation_id, baseline_total, baseline_items, counted_total, counted_items
        )
        SELECT c.follow_up_id, c.instrument_id, one, ba.score_total, ba.score_items, ca.score_total, ca.score_items
        FROM instruments_counted_answers(zone, one) c
        JOIN instruments_baseline_answers(zone, one) b ON b.instrument_id = c.instrument_id
        JOIN instruments_instrumentanswer ba ON ba.id = b.answer_id
        JOIN instruments_instrumentanswer ca ON ca.id = c.answer_id;
    END LOOP;
END
$$;

CREATE FUNCTION reports_time_zone_set(zone text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF reports_time_zone() IS DISTINCT FROM zone THEN
        PERFORM now() AT TIME ZONE zone;  -- an unknown time zone is refused here
        EXECUTE format(
            'CREATE OR REPLACE FUNCTION reports_time_zone() RETURNS text LANGUAGE sql STABLE PARALLEL SAFE AS %L',
            format('SELECT %L::text', zone)
        );
        PERFORM reports_instrument_facts_refresh(NULL);
    END IF;
END
$$;

CREATE FUNCTION reports_opioid_facts_refresh(patient_ids bigint[]) RETURNS void
LANGUAGE sql AS $$
    DELETE FROM reports_opioidfact WHERE patient_id = ANY(patient_ids);
    INSERT INTO reports_opioidfact (follow_up_id, ablation_id, patient_id, baseline, mme)
    SELECT f.id, t.id, t.patient_id, o.baseline, medications_mme(t.patient_id, f.target_date)
    FROM cryoablations_cryoablation t
    CROSS JOIN LATERAL (SELECT medications_mme(t.patient_id, t.performed_on) AS baseline) o
    JOIN cryoablations_followup f ON f.ablation_id = t.id
    WHERE t.patient_id = ANY(ARRAY(
        SELECT DISTINCT s.patient_id FROM medications_medicationstatement s WHERE s.patient_id = ANY(patient_ids)
    )) AND o.baseline > 0;
$$;

-- The transition tables: new_rows (insert, update), old_rows (update, delete). An update recomputes the rows whose
-- columns the facts read changed, by a set difference both ways (see reports_treatments_changed, migration 0009).
CREATE FUNCTION reports_facts_answers_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM reports_instrument_facts_refresh(ARRAY(SELECT DISTINCT treatment_id FROM new_rows));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM reports_instrument_facts_refresh(ARRAY(SELECT DISTINCT treatment_id FROM old_rows));
    ELSE
        PERFORM reports_instrument_facts_refresh(ARRAY(
            WITH n AS (
                SELECT id, treatment_id, instrument_id, completed_at, score_total, score_items FROM new_rows
            ), o AS (
                SELECT id, treatment_id, instrument_id, completed_at, score_total, score_items FROM old_rows
            )
            SELECT DISTINCT treatment_id FROM ((TABLE n EXCEPT TABLE o) UNION ALL (TABLE o EXCEPT TABLE n)) d
        ));
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION reports_facts_statements_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM reports_opioid_facts_refresh(ARRAY(SELECT DISTINCT patient_id FROM new_rows));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM reports_opioid_facts_refresh(ARRAY(SELECT DISTINCT patient_id FROM old_rows));
    ELSE
        PERFORM reports_opioid_facts_refresh(ARRAY(
            WITH n AS (SELECT id, patient_id, started_on, stopped_on, daily_dose, opioid FROM new_rows),
                 o AS (SELECT id, patient_id, started_on, stopped_on, daily_dose, opioid FROM old_rows)
            SELECT DISTINCT patient_id FROM ((TABLE n EXCEPT TABLE o) UNION ALL (TABLE o EXCEPT TABLE n)) d
        ));
    END IF;
    RETURN NULL;
END
$$;

-- A treatment's date (the baseline window, the baseline MME) or patient; a deleted one. An inserted one has no
-- follow-up and no answer yet.
CREATE FUNCTION reports_facts_treatments_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    treatment_ids bigint[];
    patient_ids bigint[];
BEGIN
    IF TG_OP = 'DELETE' THEN
        treatment_ids := ARRAY(SELECT id FROM old_rows);
        patient_ids := ARRAY(SELECT DISTINCT patient_id FROM old_rows);
    ELSE
        WITH n AS (SELECT id, patient_id, performed_on FROM new_rows),
             o AS (SELECT id, patient_id, performed_on FROM old_rows),
             d AS (SELECT * FROM ((TABLE n EXCEPT TABLE o) UNION ALL (TABLE o EXCEPT TABLE n)) e)
        SELECT ARRAY(SELECT DISTINCT id FROM d), ARRAY(SELECT DISTINCT patient_id FROM d)
        INTO treatment_ids, patient_ids;
    END IF;
    PERFORM reports_instrument_facts_refresh(treatment_ids);
    PERFORM reports_opioid_facts_refresh(patient_ids);
    RETURN NULL;
END
$$;

-- A follow-up's window, superseding treatment (the counted answers), target day (the MME at the time point) or
-- treatment; an inserted or deleted one.
CREATE FUNCTION reports_facts_follow_ups_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    treatment_ids bigint[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        treatment_ids := ARRAY(SELECT DISTINCT ablation_id FROM new_rows);
    ELSIF TG_OP = 'DELETE' THEN
        treatment_ids := ARRAY(SELECT DISTINCT ablation_id FROM old_rows);
    ELSE
        treatment_ids := ARRAY(
            WITH n AS (
                SELECT id, ablation_id, window_start, window_end, superseded_by_id, target_date FROM new_rows
            ), o AS (
                SELECT id, ablation_id, window_start, window_end, superseded_by_id, target_date FROM old_rows
            )
            SELECT DISTINCT ablation_id FROM ((TABLE n EXCEPT TABLE o) UNION ALL (TABLE o EXCEPT TABLE n)) d
        );
    END IF;
    PERFORM reports_instrument_facts_refresh(treatment_ids);
    PERFORM reports_opioid_facts_refresh(ARRAY(
        SELECT DISTINCT t.patient_id FROM cryoablations_cryoablation t WHERE t.id = ANY(treatment_ids)
    ));
    RETURN NULL;
END
$$;

CREATE TRIGGER reports_facts_answers_inserted AFTER INSERT ON instruments_instrumentanswer
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION reports_facts_answers_changed();
CREATE TRIGGER reports_facts_answers_updated AFTER UPDATE ON instruments_instrumentanswer
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION reports_facts_answers_changed();
CREATE TRIGGER reports_facts_answers_deleted AFTER DELETE ON instruments_instrumentanswer
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION reports_facts_answers_changed();

CREATE TRIGGER reports_facts_statements_inserted AFTER INSERT ON medications_medicationstatement
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION reports_facts_statements_changed();
CREATE TRIGGER reports_facts_statements_updated AFTER UPDATE ON medications_medicationstatement
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION reports_facts_statements_changed();
CREATE TRIGGER reports_facts_statements_deleted AFTER DELETE ON medications_medicationstatement
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION reports_facts_statements_changed();

CREATE TRIGGER reports_facts_treatments_updated AFTER UPDATE ON cryoablations_cryoablation
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION reports_facts_treatments_changed();
CREATE TRIGGER reports_facts_treatments_deleted AFTER DELETE ON cryoablations_cryoablation
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION reports_facts_treatments_changed();

CREATE TRIGGER reports_facts_follow_ups_inserted AFTER INSERT ON cryoablations_followup
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION reports_facts_follow_ups_changed();
CREATE TRIGGER reports_facts_follow_ups_updated AFTER UPDATE ON cryoablations_followup
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION reports_facts_follow_ups_changed();
CREATE TRIGGER reports_facts_follow_ups_deleted AFTER DELETE ON cryoablations_followup
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION reports_facts_follow_ups_changed();
"""

DROP_FUNCTIONS = """
DROP TRIGGER reports_facts_follow_ups_deleted ON cryoablations_followup;
DROP TRIGGER reports_facts_follow_ups_updated ON cryoablations_followup;
DROP TRIGGER reports_facts_follow_ups_inserted ON cryoablations_followup;
DROP TRIGGER reports_facts_treatments_deleted ON cryoablations_cryoablation;
DROP TRIGGER reports_facts_treatments_updated ON cryoablations_cryoablation;
DROP TRIGGER reports_facts_statements_deleted ON medications_medicationstatement;
DROP TRIGGER reports_facts_statements_updated ON medications_medicationstatement;
DROP TRIGGER reports_facts_statements_inserted ON medications_medicationstatement;
DROP TRIGGER reports_facts_answers_deleted ON instruments_instrumentanswer;
DROP TRIGGER reports_facts_answers_updated ON instruments_instrumentanswer;
DROP TRIGGER reports_facts_answers_inserted ON instruments_instrumentanswer;
DROP FUNCTION reports_facts_follow_ups_changed();
DROP FUNCTION reports_facts_treatments_changed();
DROP FUNCTION reports_facts_statements_changed();
DROP FUNCTION reports_facts_answers_changed();
DROP FUNCTION reports_opioid_facts_refresh(bigint[]);
DROP FUNCTION reports_time_zone_set(text);
DROP FUNCTION reports_instrument_facts_refresh(bigint[]);
DROP FUNCTION reports_time_zone();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0009_treatment_fact"),
        ("instruments", "0005_baseline_first_day"),
        ("medications", "0003_mme_rule_in_parts"),
        ("cryoablations", "0006_treatment_repeat_lookup"),
    ]

    operations = [
        migrations.CreateModel(
            name="InstrumentFact",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "follow_up_id", "instrument_id", blank=True, editable=False, primary_key=True, serialize=False
                    ),
                ),
                ("follow_up_id", models.BigIntegerField(editable=False)),
                ("instrument_id", models.BigIntegerField(editable=False)),
                ("ablation_id", models.BigIntegerField(editable=False)),
                ("baseline_total", models.DecimalField(decimal_places=4, editable=False, max_digits=12)),
                ("baseline_items", models.PositiveSmallIntegerField(editable=False)),
                ("counted_total", models.DecimalField(decimal_places=4, editable=False, max_digits=12)),
                ("counted_items", models.PositiveSmallIntegerField(editable=False)),
            ],
            options={
                "db_table": "reports_instrumentfact",
                "indexes": [models.Index(fields=["ablation_id"], name="instrument_fact_ablation")],
            },
        ),
        migrations.CreateModel(
            name="OpioidFact",
            fields=[
                ("follow_up_id", models.BigIntegerField(editable=False, primary_key=True, serialize=False)),
                ("ablation_id", models.BigIntegerField(editable=False)),
                ("patient_id", models.BigIntegerField(editable=False)),
                ("baseline", models.DecimalField(decimal_places=6, editable=False, max_digits=20)),
                ("mme", models.DecimalField(decimal_places=6, editable=False, max_digits=20)),
            ],
            options={
                "db_table": "reports_opioidfact",
                "indexes": [models.Index(fields=["patient_id"], name="opioid_fact_patient")],
            },
        ),
        migrations.RunSQL(FUNCTIONS, DROP_FUNCTIONS),
        # The answers and statements already recorded: the instrument facts at the first reports_time_zone_set.
        migrations.RunSQL(
            "SELECT reports_opioid_facts_refresh(ARRAY(SELECT DISTINCT patient_id FROM medications_medicationstatement));"
            " ANALYZE reports_opioidfact;",
            migrations.RunSQL.noop,
        ),
    ]
