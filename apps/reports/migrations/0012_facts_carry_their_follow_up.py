"""The instrument and opioid facts carry what their figures filter, group and count by, so that each figure scans its
own narrow table instead of joining every follow-up fact (measured on 100,000 seeded patients of every kind: the
instruments' statement 804 ms -> see the commit, the opioids' 728 ms -> see the commit).

Each fact now holds its follow-up's time point, window end and whether it is superseded (cryoablations_followup:
superseded_by_id), its treatment's kind, physician, nerve, side and date, and its patient's site, copied at write time from the follow-up
and the treatment as the follow-up facts copy them (migration 0007). An instrument fact also holds what the
instrument's rules make of its two scores, under the instrument's current version (its highest): the change
(follow-up minus baseline, as float8, as the figures computed it), the responder rule (instruments_responder), the
positive screens (instruments_positive) and whether the instrument is asked at that time point (its schedule,
Instrument.time_points). The rules stay in their functions (instruments migration 0003); the facts store their
answers.

What else recomputes the facts, beside what 0010 and 0011 watch:
- a treatment's kind, physician, nerve or side (the treatments' update trigger compares them too);
- an instrument's schedule, and a version of an instrument loaded, changed or removed (the current version's rules):
  the facts of the treatments with an answer to that instrument.

Writes reports_instrumentfact and reports_opioidfact (this app's); watches instruments_instrument and
instruments_instrumentversion besides 0010's tables.
"""

# S608: the SQL is composed of this migration's own constants; no value is formatted in.
# ruff: noqa: S608

import importlib
import re

from django.db import migrations, models

_0010 = importlib.import_module("apps.reports.migrations.0010_instrument_and_opioid_facts")
_0011 = importlib.import_module("apps.reports.migrations.0011_instrument_facts_in_one_pass")


def _before(name: str) -> str:
    """0010's definition of function `name`, to go back to."""
    found = re.search(rf"CREATE FUNCTION {name}\(.*?\n\$\$;\n", _0010.FUNCTIONS, re.S)
    assert found, name
    return found.group(0).replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION")


# The columns a fact copies from its follow-up f and treatment t, and the instrument columns from the rules, under the
# instrument's current version v and the instrument i, of the baseline answer ba and the counted answer ca.
COPIED = "time_point, window_end, superseded, kind, physician_id, nerve_id, side, performed_on, site_id"
COPIED_FROM = (
    "f.time_point, f.window_end, f.superseded_by_id IS NOT NULL, t.kind, t.physician_id, t.nerve_id, t.side, "
    "t.performed_on, pt.site_id"
)
INSTRUMENT_COLUMNS = (
    "follow_up_id, instrument_id, ablation_id, baseline_total, baseline_items, counted_total, counted_items, "
    f"{COPIED}, asked, change, responder, positive_baseline, positive_now"
)
INSTRUMENT_VALUES = f"""
    ba.score_total, ba.score_items, ca.score_total, ca.score_items, {COPIED_FROM},
    f.time_point = ANY (i.time_points),
    (ca.score_total / ca.score_items - ba.score_total / ba.score_items)::float8,
    instruments_responder(v.responder_rule, v.responder_percent, v.minimal_important_change, v.better,
        v.positive_screen, ba.score_total, ba.score_items, ca.score_total, ca.score_items),
    instruments_positive(v.positive_screen, ba.score_total, ba.score_items),
    instruments_positive(v.positive_screen, ca.score_total, ca.score_items)
"""
INSTRUMENT_JOINS = """
    JOIN cryoablations_cryoablation t ON t.id = f.ablation_id
    JOIN patients_patient pt ON pt.id = t.patient_id
    JOIN instruments_instrumentanswer ba ON ba.id = b.answer_id
    JOIN instruments_instrumentanswer ca ON ca.id = c.answer_id
    JOIN instruments_instrument i ON i.id = c.instrument_id
    JOIN LATERAL (
        SELECT * FROM instruments_instrumentversion v WHERE v.instrument_id = i.id ORDER BY v.version DESC LIMIT 1
    ) v ON TRUE
"""

# The facts of many treatments in one pass (0011's), in a function of its own: planned at each call (an SQL function
# is not inlined when it sets a parameter) and without nested loops. It runs at the end of a load's COPY, when the
# statistics still describe the tables before the load: planned from them, with nested loops, this insert took
# minutes for a few thousand answers (the plan's joins walked every answer per answer); hash joins read each table
# once whatever the statistics say.
INSTRUMENT_REFRESH = f"""
CREATE FUNCTION reports_instrument_facts_write_many(zone text, treatment_ids bigint[]) RETURNS void
LANGUAGE sql SET enable_nestloop = off AS $$
    INSERT INTO reports_instrumentfact ({INSTRUMENT_COLUMNS})
    SELECT c.follow_up_id, c.instrument_id, f.ablation_id, {INSTRUMENT_VALUES}
    FROM instruments_counted_answers(zone) c
    JOIN cryoablations_followup f ON f.id = c.follow_up_id
    JOIN instruments_baseline_answers(zone) b ON b.treatment_id = f.ablation_id AND b.instrument_id = c.instrument_id
    {INSTRUMENT_JOINS}
    WHERE treatment_ids IS NULL OR f.ablation_id = ANY(treatment_ids);
$$;

CREATE OR REPLACE FUNCTION reports_instrument_facts_refresh(treatment_ids bigint[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    zone text := reports_time_zone();
    one bigint;
BEGIN
    IF treatment_ids IS NULL THEN
        DELETE FROM reports_instrumentfact;
    ELSE
        DELETE FROM reports_instrumentfact WHERE ablation_id = ANY(treatment_ids);
    END IF;
    IF zone IS NULL THEN
        RETURN;
    END IF;
    IF treatment_ids IS NULL OR cardinality(treatment_ids) > 16 THEN
        -- Every treatment's facts by the rules at once, kept to the given treatments (NULL: all): see 0011.
        PERFORM reports_instrument_facts_write_many(zone, treatment_ids);
        RETURN;
    END IF;
    -- One treatment at a time: the rules' functions read its answers through the treatment's index.
    FOR one IN SELECT DISTINCT a.treatment_id FROM instruments_instrumentanswer a WHERE a.treatment_id = ANY(treatment_ids)
    LOOP
        INSERT INTO reports_instrumentfact ({INSTRUMENT_COLUMNS})
        SELECT c.follow_up_id, c.instrument_id, one, {INSTRUMENT_VALUES}
        FROM instruments_counted_answers(zone, one) c
        JOIN instruments_baseline_answers(zone, one) b ON b.instrument_id = c.instrument_id
        JOIN cryoablations_followup f ON f.id = c.follow_up_id
        {INSTRUMENT_JOINS};
    END LOOP;
END
$$;
"""

OPIOID_REFRESH = f"""
CREATE OR REPLACE FUNCTION reports_opioid_facts_refresh(patient_ids bigint[]) RETURNS void
LANGUAGE sql AS $$
    DELETE FROM reports_opioidfact WHERE patient_id = ANY(patient_ids);
    INSERT INTO reports_opioidfact (follow_up_id, ablation_id, patient_id, baseline, mme, {COPIED})
    SELECT f.id, t.id, t.patient_id, o.baseline, medications_mme(t.patient_id, f.target_date), {COPIED_FROM}
    FROM cryoablations_cryoablation t
    JOIN patients_patient pt ON pt.id = t.patient_id
    CROSS JOIN LATERAL (SELECT medications_mme(t.patient_id, t.performed_on) AS baseline) o
    JOIN cryoablations_followup f ON f.ablation_id = t.id
    WHERE t.patient_id = ANY(ARRAY(
        SELECT DISTINCT s.patient_id FROM medications_medicationstatement s WHERE s.patient_id = ANY(patient_ids)
    )) AND o.baseline > 0;
$$;
"""

# 0010's, comparing the treatment's kind, physician, nerve and side too.
TREATMENTS_CHANGED = _before("reports_facts_treatments_changed").replace(
    "SELECT id, patient_id, performed_on FROM",
    "SELECT id, patient_id, performed_on, kind, physician_id, nerve_id, side FROM",
)

INSTRUMENTS_CHANGED = """
-- An instrument's schedule, or its versions (the current one's rules): the facts of the treatments answering it.
CREATE FUNCTION reports_facts_instruments_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    instrument_ids bigint[];
BEGIN
    IF TG_TABLE_NAME = 'instruments_instrument' THEN
        instrument_ids := ARRAY(
            SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE n.time_points IS DISTINCT FROM o.time_points
        );
    ELSIF TG_OP = 'INSERT' THEN
        instrument_ids := ARRAY(SELECT DISTINCT instrument_id FROM new_rows);
    ELSIF TG_OP = 'DELETE' THEN
        instrument_ids := ARRAY(SELECT DISTINCT instrument_id FROM old_rows);
    ELSE
        instrument_ids := ARRAY(SELECT instrument_id FROM new_rows UNION SELECT instrument_id FROM old_rows);
    END IF;
    IF cardinality(instrument_ids) > 0 THEN
        PERFORM reports_instrument_facts_refresh(ARRAY(
            SELECT DISTINCT a.treatment_id FROM instruments_instrumentanswer a WHERE a.instrument_id = ANY(instrument_ids)
        ));
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER reports_facts_instrument_updated AFTER UPDATE ON instruments_instrument
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION reports_facts_instruments_changed();
CREATE TRIGGER reports_facts_version_inserted AFTER INSERT ON instruments_instrumentversion
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION reports_facts_instruments_changed();
CREATE TRIGGER reports_facts_version_updated AFTER UPDATE ON instruments_instrumentversion
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION reports_facts_instruments_changed();
CREATE TRIGGER reports_facts_version_deleted AFTER DELETE ON instruments_instrumentversion
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION reports_facts_instruments_changed();
"""

DROP_INSTRUMENTS_CHANGED = """
DROP FUNCTION reports_instrument_facts_write_many(text, bigint[]);
DROP TRIGGER reports_facts_version_deleted ON instruments_instrumentversion;
DROP TRIGGER reports_facts_version_updated ON instruments_instrumentversion;
DROP TRIGGER reports_facts_version_inserted ON instruments_instrumentversion;
DROP TRIGGER reports_facts_instrument_updated ON instruments_instrument;
DROP FUNCTION reports_facts_instruments_changed();
"""

RECOMPUTE = """
SELECT reports_instrument_facts_refresh(NULL);
SELECT reports_opioid_facts_refresh(ARRAY(SELECT DISTINCT patient_id FROM medications_medicationstatement));
ANALYZE reports_instrumentfact;
ANALYZE reports_opioidfact;
"""


def _copied_fields() -> list[tuple[str, models.Field]]:
    return [
        ("time_point", models.CharField(max_length=10, default="", editable=False)),
        ("window_end", models.DateField(default="2000-01-01", editable=False)),
        ("superseded", models.BooleanField(default=False, editable=False)),
        ("kind", models.CharField(max_length=15, default="", editable=False)),
        ("physician_id", models.BigIntegerField(default=0, editable=False)),
        ("nerve_id", models.BigIntegerField(default=0, editable=False)),
        ("side", models.CharField(max_length=9, default="", editable=False)),
        ("performed_on", models.DateField(default="2000-01-01", editable=False)),
        ("site_id", models.BigIntegerField(default=0, editable=False)),
    ]


def _add(model: str, fields: list[tuple[str, models.Field]]) -> list[migrations.AddField]:
    # The defaults only fill the rows that are emptied first and recomputed last.
    return [
        migrations.AddField(model_name=model, name=name, field=field, preserve_default=False) for name, field in fields
    ]


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0011_instrument_facts_in_one_pass"),
        ("instruments", "0005_baseline_first_day"),
        ("medications", "0003_mme_rule_in_parts"),
        ("cryoablations", "0006_treatment_repeat_lookup"),
        ("patients", "0006_patient_site"),
    ]

    operations = [
        migrations.RunSQL(
            "TRUNCATE reports_instrumentfact, reports_opioidfact;",
            migrations.RunSQL.noop,
        ),
        *_add("instrumentfact", _copied_fields()),
        *_add(
            "instrumentfact",
            [
                ("asked", models.BooleanField(default=False, editable=False)),
                ("change", models.FloatField(default=0, editable=False)),
                ("responder", models.BooleanField(null=True, editable=False)),
                ("positive_baseline", models.BooleanField(null=True, editable=False)),
                ("positive_now", models.BooleanField(null=True, editable=False)),
            ],
        ),
        *_add("opioidfact", _copied_fields()),
        migrations.RunSQL(
            INSTRUMENT_REFRESH + OPIOID_REFRESH + TREATMENTS_CHANGED + INSTRUMENTS_CHANGED,
            DROP_INSTRUMENTS_CHANGED
            + _0011.function("treatment_ids IS NULL OR cardinality(treatment_ids) > 16")
            + _before("reports_opioid_facts_refresh")
            + _before("reports_facts_treatments_changed"),
        ),
        migrations.RunSQL(RECOMPUTE, migrations.RunSQL.noop),
    ]
