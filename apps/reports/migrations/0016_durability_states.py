"""Where each treatment stands in the durability estimate, as of any date, kept by triggers
(apps.reports.models.DurabilityState), so that the Kaplan-Meier counts read one table of the treatments' states
instead of joining every durability step to its treatment's repeat date (measured on a network of 1,000,000 patients:
1.7 s of the whole network's 2.4 s; benchmarks/bench_sites.py).

reports_durability_states_refresh(ablation_ids) writes the given treatments' rows again from their durability steps
(0004: from one window end to the next, the first non-responding counted answer, or else the last responding one) and
their treatment facts (0009: the repeat date, the columns the figures filter on), for the treatments whose baseline
is above 0, by the rule of outcome-definitions.md ("Version 2: exact readings"):
- before the repeat date, or with no repeat: each step, from the day after its window end to the day after the next;
- from the repeat date on: an event, on the day of the step's non-responding answer when that came before the
  repeat date, otherwise on the repeat date itself (also while no step holds yet).
The day is the answer's date in the clinic's time zone (reports_time_zone(), 0010; UTC until the application has
told the database its zone), minus the treatment's date. Like the steps' refresh, it first locks the treatments' rows
(FOR NO KEY UPDATE), so two refreshes of one treatment follow each other.

It is called:
- at the end of reports_durability_steps_refresh, with the same treatments (the steps changed);
- per statement on the treatment facts, with the treatments of the transition tables (a repeat date, a column or the
  baseline changed; a treatment added or deleted);
- for every treatment when the clinic's time zone changes (reports_time_zone_set).

Writes reports_durabilitystate (this app's); watches reports_treatmentfact, and reports_durabilitystep through its
refresh.
"""

import importlib

from django.db import migrations, models

# S608: the functions are composed of the earlier migrations' own text.
# ruff: noqa: S608

_0007 = importlib.import_module("apps.reports.migrations.0007_facts_kind_and_superseded")
_0010 = importlib.import_module("apps.reports.migrations.0010_instrument_and_opioid_facts")
_0014 = importlib.import_module("apps.reports.migrations.0014_facts_site")

STEPS_REFRESH = _0014._function(_0007.REFRESH, "reports_durability_steps_refresh")
TIME_ZONE_SET = _0014._function(_0010.FUNCTIONS, "reports_time_zone_set")

FUNCTIONS = (
    """
CREATE FUNCTION reports_durability_states_refresh(ablation_ids bigint[]) RETURNS void
LANGUAGE sql AS $$
    SELECT 1 FROM cryoablations_cryoablation WHERE id = ANY(ablation_ids) ORDER BY id FOR NO KEY UPDATE;
    DELETE FROM reports_durabilitystate WHERE ablation_id = ANY(ablation_ids);
    WITH t AS (
        SELECT f.*, f.repeat_on - f.performed_on AS repeat_day
        FROM reports_treatmentfact f
        WHERE f.ablation_id = ANY(ablation_ids) AND f.baseline_nrs > 0
    ), s AS (
        SELECT t.ablation_id, t.repeat_on, t.repeat_day, x.closed_after + 1 AS valid_from, x.until + 1 AS valid_until,
               x.event,
               (x.marker_completed_at AT TIME ZONE coalesce(reports_time_zone(), 'UTC'))::date - x.performed_on AS day
        FROM t JOIN reports_durabilitystep x ON x.ablation_id = t.ablation_id
    ), p AS (
        -- Before the repeat date (least ignores a NULL: no repeat, or no next window end).
        SELECT s.ablation_id, s.valid_from, least(s.valid_until, s.repeat_on) AS valid_until, s.event, s.day
        FROM s
        WHERE s.repeat_on IS NULL OR s.valid_from < s.repeat_on
        UNION ALL
        -- From the repeat date on, while a step holds.
        SELECT s.ablation_id, greatest(s.valid_from, s.repeat_on), s.valid_until, TRUE,
               CASE WHEN s.event AND s.day < s.repeat_day THEN s.day ELSE s.repeat_day END
        FROM s
        WHERE s.repeat_on IS NOT NULL AND (s.valid_until IS NULL OR s.valid_until > s.repeat_on)
        UNION ALL
        -- From the repeat date to the first step, or on with none.
        SELECT t.ablation_id, t.repeat_on, f.valid_from, TRUE, t.repeat_day
        FROM t LEFT JOIN (SELECT ablation_id, min(valid_from) AS valid_from FROM s GROUP BY 1) f USING (ablation_id)
        WHERE t.repeat_on IS NOT NULL AND (f.valid_from IS NULL OR f.valid_from > t.repeat_on)
    )
    INSERT INTO reports_durabilitystate (
        ablation_id, site_id, kind, nerve_id, physician_id, side, performed_on, valid_from, valid_until, event, day
    )
    SELECT t.ablation_id, t.site_id, t.kind, t.nerve_id, t.physician_id, t.side, t.performed_on,
           p.valid_from, p.valid_until, p.event, p.day
    FROM p JOIN t USING (ablation_id)
    WHERE p.valid_until IS NULL OR p.valid_from < p.valid_until;
$$;

-- The transition tables: new_rows (insert, update), old_rows (update, delete). The treatment facts' refresh updates
-- only the rows that change.
CREATE FUNCTION reports_durability_states_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM reports_durability_states_refresh(ARRAY(SELECT ablation_id FROM old_rows));
    ELSE
        PERFORM reports_durability_states_refresh(ARRAY(SELECT ablation_id FROM new_rows));
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER reports_durability_states_inserted AFTER INSERT ON reports_treatmentfact
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION reports_durability_states_changed();
CREATE TRIGGER reports_durability_states_updated AFTER UPDATE ON reports_treatmentfact
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION reports_durability_states_changed();
CREATE TRIGGER reports_durability_states_deleted AFTER DELETE ON reports_treatmentfact
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION reports_durability_states_changed();
"""
    + _0014._edited(
        STEPS_REFRESH,
        (
            "WHERE peer = 1 AND coalesce(event_at, censor_at) IS NOT NULL;\n",
            "WHERE peer = 1 AND coalesce(event_at, censor_at) IS NOT NULL;\n"
            "    SELECT reports_durability_states_refresh(ablation_ids);\n",
        ),
    )
    + _0014._edited(
        TIME_ZONE_SET,
        (
            "PERFORM reports_instrument_facts_refresh(NULL);\n",
            "PERFORM reports_instrument_facts_refresh(NULL);\n"
            "        PERFORM reports_durability_states_refresh(ARRAY(SELECT ablation_id FROM reports_treatmentfact));\n",
        ),
    )
)

BACK = (
    STEPS_REFRESH
    + TIME_ZONE_SET
    + """
DROP TRIGGER reports_durability_states_deleted ON reports_treatmentfact;
DROP TRIGGER reports_durability_states_updated ON reports_treatmentfact;
DROP TRIGGER reports_durability_states_inserted ON reports_treatmentfact;
DROP FUNCTION reports_durability_states_changed();
DROP FUNCTION reports_durability_states_refresh(bigint[]);
"""
)


class Migration(migrations.Migration):
    dependencies = [("reports", "0015_cells")]

    operations = [
        migrations.CreateModel(
            name="DurabilityState",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "ablation_id", "valid_from", blank=True, editable=False, primary_key=True, serialize=False
                    ),
                ),
                ("ablation_id", models.BigIntegerField(editable=False)),
                ("site_id", models.BigIntegerField(editable=False)),
                ("kind", models.CharField(editable=False, max_length=15)),
                ("nerve_id", models.BigIntegerField(editable=False)),
                ("physician_id", models.BigIntegerField(editable=False)),
                ("side", models.CharField(editable=False, max_length=9)),
                ("performed_on", models.DateField(editable=False)),
                ("valid_from", models.DateField(editable=False)),
                ("valid_until", models.DateField(editable=False, null=True)),
                ("event", models.BooleanField(editable=False)),
                ("day", models.IntegerField(editable=False)),
            ],
            options={
                "db_table": "reports_durabilitystate",
                "indexes": [models.Index(fields=["site_id"], name="durability_state_site")],
            },
        ),
        migrations.RunSQL(FUNCTIONS, BACK),
        migrations.RunSQL(
            "SELECT reports_durability_states_refresh(ARRAY(SELECT ablation_id FROM reports_treatmentfact)); "
            "ANALYZE reports_durabilitystate;",
            migrations.RunSQL.noop,
        ),
    ]
