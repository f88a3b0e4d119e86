"""The durability steps of each ablation, kept by triggers (apps.reports.models.DurabilityStep).

reports_durability_steps_refresh(ablation_ids) writes the given ablations' rows again from their follow-up facts: per
distinct window end of an ablation's follow-ups (in window-end order, equal ends together), the first counted answer
by completion time that is not a responder among the follow-ups with that window end or an earlier one, or else the
last that is; evaluable and responder as in apps.reports.sql.FOLLOW_UP_FLAGS, with the protocol's responder percent
(numeric, exact). It first locks the ablations' rows (FOR NO KEY UPDATE, as blocks_peak_relief_refresh locks the
blocks'), so a second refresh of the same ablation waits for the first to commit and then, its statements taking fresh
snapshots, reads the facts as both transactions wrote them (two answers of one ablation recorded at the same time).
It is called per statement, with the ablations of the transition tables:
- on inserts and deletes of follow-up facts (a deleted follow-up's cascade included);
- on updates of facts that change a column the steps read;
and for every ablation when the protocol's responder percent changes.

Writes reports_durabilitystep (this app's); watches reports_followupfact and clinic_protocol.
"""

from django.db import migrations, models

FUNCTIONS = """
CREATE FUNCTION reports_durability_steps_refresh(ablation_ids bigint[]) RETURNS void
LANGUAGE sql AS $$
    SELECT 1 FROM cryoablations_cryoablation WHERE id = ANY(ablation_ids) ORDER BY id FOR NO KEY UPDATE;
    DELETE FROM reports_durabilitystep WHERE ablation_id = ANY(ablation_ids);
    INSERT INTO reports_durabilitystep (
        follow_up_id, ablation_id, closed_after, until, marker_completed_at, event,
        physician_id, nerve_id, side, performed_on
    )
    SELECT follow_up_id, ablation_id, window_end, until, coalesce(event_at, censor_at), event_at IS NOT NULL,
           physician_id, nerve_id, side, performed_on
    FROM (
        SELECT x.follow_up_id, x.ablation_id, x.window_end, x.physician_id, x.nerve_id, x.side, x.performed_on,
               min(x.completed_at) FILTER (WHERE o.evaluable AND NOT o.responder) OVER closed_by AS event_at,
               max(x.completed_at) FILTER (WHERE o.evaluable AND o.responder) OVER closed_by AS censor_at,
               min(x.window_end) OVER (
                   PARTITION BY x.ablation_id ORDER BY x.window_end GROUPS BETWEEN 1 FOLLOWING AND 1 FOLLOWING
               ) AS until,
               row_number() OVER (PARTITION BY x.ablation_id, x.window_end ORDER BY x.follow_up_id) AS peer
        FROM reports_followupfact x
        CROSS JOIN LATERAL (
            SELECT x.baseline_nrs > 0 AND x.counted_response_id IS NOT NULL AS evaluable,
                   (x.baseline_nrs - x.pain_average) * 100
                       >= (SELECT responder_percent FROM clinic_protocol WHERE id = 1) * x.baseline_nrs AS responder
        ) o
        WHERE x.ablation_id = ANY(ablation_ids)
        WINDOW closed_by AS (
            PARTITION BY x.ablation_id ORDER BY x.window_end RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
        )
    ) s
    WHERE peer = 1 AND coalesce(event_at, censor_at) IS NOT NULL;
$$;

-- The transition tables: new_rows (insert, update), old_rows (update, delete).
CREATE FUNCTION reports_facts_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM reports_durability_steps_refresh(ARRAY(SELECT DISTINCT ablation_id FROM new_rows));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM reports_durability_steps_refresh(ARRAY(SELECT DISTINCT ablation_id FROM old_rows));
    ELSE
        -- The rows whose columns read by the steps changed, by a set difference (see reports_peak_relief_changed),
        -- both ways: a follow-up moved to another ablation changes the steps of both.
        PERFORM reports_durability_steps_refresh(ARRAY(
            WITH n AS (
                SELECT follow_up_id, ablation_id, window_end, counted_response_id, pain_average, completed_at,
                       baseline_nrs, physician_id, nerve_id, side, performed_on FROM new_rows
            ), o AS (
                SELECT follow_up_id, ablation_id, window_end, counted_response_id, pain_average, completed_at,
                       baseline_nrs, physician_id, nerve_id, side, performed_on FROM old_rows
            )
            SELECT DISTINCT ablation_id FROM ((TABLE n EXCEPT TABLE o) UNION ALL (TABLE o EXCEPT TABLE n)) d
        ));
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION reports_responder_percent_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM reports_durability_steps_refresh(ARRAY(SELECT DISTINCT ablation_id FROM reports_followupfact));
    RETURN NULL;
END
$$;

CREATE TRIGGER reports_facts_inserted AFTER INSERT ON reports_followupfact
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION reports_facts_changed();
CREATE TRIGGER reports_facts_updated AFTER UPDATE ON reports_followupfact
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION reports_facts_changed();
CREATE TRIGGER reports_facts_deleted AFTER DELETE ON reports_followupfact
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION reports_facts_changed();
CREATE TRIGGER reports_responder_percent_changed AFTER UPDATE OF responder_percent ON clinic_protocol
    FOR EACH ROW WHEN (NEW.id = 1 AND OLD.responder_percent IS DISTINCT FROM NEW.responder_percent)
    EXECUTE FUNCTION reports_responder_percent_changed();
"""

DROP_FUNCTIONS = """
DROP TRIGGER reports_responder_percent_changed ON clinic_protocol;
DROP TRIGGER reports_facts_deleted ON reports_followupfact;
DROP TRIGGER reports_facts_updated ON reports_followupfact;
DROP TRIGGER reports_facts_inserted ON reports_followupfact;
DROP FUNCTION reports_responder_percent_changed();
DROP FUNCTION reports_facts_changed();
DROP FUNCTION reports_durability_steps_refresh(bigint[]);
"""


class Migration(migrations.Migration):
    dependencies = [
        ("cryoablations", "0004_cryoablation_external_id"),
        ("reports", "0003_follow_up_fact_ablation_columns"),
        ("clinic", "0003_protocol_reminder_cadence"),
    ]

    operations = [
        migrations.CreateModel(
            name="DurabilityStep",
            fields=[
                ("follow_up_id", models.BigIntegerField(editable=False, primary_key=True, serialize=False)),
                ("ablation_id", models.BigIntegerField(editable=False)),
                ("closed_after", models.DateField(editable=False)),
                ("until", models.DateField(editable=False, null=True)),
                ("marker_completed_at", models.DateTimeField(editable=False)),
                ("event", models.BooleanField(editable=False)),
                ("physician_id", models.BigIntegerField(editable=False)),
                ("nerve_id", models.BigIntegerField(editable=False)),
                ("side", models.CharField(editable=False, max_length=9)),
                ("performed_on", models.DateField(editable=False)),
            ],
            options={
                "db_table": "reports_durabilitystep",
            },
        ),
        migrations.AddIndex(
            model_name="followupfact",
            index=models.Index(fields=["ablation_id"], name="follow_up_fact_ablation"),
        ),
        migrations.AddIndex(
            model_name="durabilitystep",
            index=models.Index(fields=["ablation_id"], name="durability_step_ablation"),
        ),
        migrations.RunSQL(FUNCTIONS, DROP_FUNCTIONS),
        # The ablations already recorded.
        migrations.RunSQL(
            "SELECT reports_durability_steps_refresh(ARRAY(SELECT DISTINCT ablation_id FROM reports_followupfact)); "
            "ANALYZE reports_durabilitystep;",
            migrations.RunSQL.noop,
        ),
    ]
