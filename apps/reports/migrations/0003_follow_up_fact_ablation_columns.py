"""The follow-up facts carry what the figures filter, group and compute on, so each section is one scan of them.

Beside each follow-up's window and counted answer (0002), its row now holds copies of its ablation's physician,
nerve, side, date and baseline, and of its qualifying block: the id and, when the block is evaluable, its peak relief,
date and time, and physician (blocks_blockpeakrelief's row; the block's nerve and side are the ablation's). The
refresh function computes all of them in one statement; besides the triggers of 0002 it is now called, per
statement, with the follow-ups of
- ablations whose copied columns change (physician, nerve, side, date, baseline, qualifying block);
- ablations naming a block whose peak relief row is inserted or deleted, or updated in a copied column (the diary,
  the block's baseline, date or physician, or the protocol's evaluation window changed; not `ablated` alone, which
  every ablation insert sets for its block).

Writes reports_followupfact (this app's); watches cryoablations_cryoablation and blocks_blockpeakrelief.
"""

from django.db import migrations, models

REFRESH = """
CREATE OR REPLACE FUNCTION reports_follow_up_facts_refresh(follow_up_ids bigint[]) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO reports_followupfact (
        follow_up_id, ablation_id, time_point, window_end, counted_response_id, pain_average, pgic, completed_at,
        physician_id, nerve_id, side, performed_on, baseline_nrs, qualifying_block_id,
        qualifying_peak_relief_percent, qualifying_block_performed_at, qualifying_block_physician_id
    )
    SELECT f.id, f.ablation_id, f.time_point, f.window_end, r.id, r.pain_average, r.pgic, r.completed_at,
           a.physician_id, a.nerve_id, a.side, a.performed_on, a.baseline_nrs, a.qualifying_block_id,
           p.peak_relief_percent, p.performed_at, p.physician_id
    FROM cryoablations_followup f
    JOIN cryoablations_cryoablation a ON a.id = f.ablation_id
    LEFT JOIN surveys_surveyresponse r ON r.id = f.counted_response_id
    LEFT JOIN blocks_blockpeakrelief p ON p.block_id = a.qualifying_block_id
    WHERE f.id = ANY(follow_up_ids)
    ON CONFLICT (follow_up_id) DO UPDATE SET
        ablation_id = excluded.ablation_id, time_point = excluded.time_point, window_end = excluded.window_end,
        counted_response_id = excluded.counted_response_id, pain_average = excluded.pain_average,
        pgic = excluded.pgic, completed_at = excluded.completed_at,
        physician_id = excluded.physician_id, nerve_id = excluded.nerve_id, side = excluded.side,
        performed_on = excluded.performed_on, baseline_nrs = excluded.baseline_nrs,
        qualifying_block_id = excluded.qualifying_block_id,
        qualifying_peak_relief_percent = excluded.qualifying_peak_relief_percent,
        qualifying_block_performed_at = excluded.qualifying_block_performed_at,
        qualifying_block_physician_id = excluded.qualifying_block_physician_id;
$$;
"""

OLD_REFRESH = """
CREATE OR REPLACE FUNCTION reports_follow_up_facts_refresh(follow_up_ids bigint[]) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO reports_followupfact (
        follow_up_id, ablation_id, time_point, window_end, counted_response_id, pain_average, pgic, completed_at
    )
    SELECT f.id, f.ablation_id, f.time_point, f.window_end, r.id, r.pain_average, r.pgic, r.completed_at
    FROM cryoablations_followup f
    LEFT JOIN surveys_surveyresponse r ON r.id = f.counted_response_id
    WHERE f.id = ANY(follow_up_ids)
    ON CONFLICT (follow_up_id) DO UPDATE SET
        ablation_id = excluded.ablation_id, time_point = excluded.time_point, window_end = excluded.window_end,
        counted_response_id = excluded.counted_response_id, pain_average = excluded.pain_average,
        pgic = excluded.pgic, completed_at = excluded.completed_at;
$$;
"""

FUNCTIONS = """
CREATE FUNCTION reports_ablation_facts_refresh(ablation_ids bigint[]) RETURNS void
LANGUAGE sql AS $$
    SELECT reports_follow_up_facts_refresh(ARRAY(
        SELECT id FROM cryoablations_followup WHERE ablation_id = ANY(ablation_ids)
    ));
$$;

CREATE FUNCTION reports_ablation_updated() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- The ablations whose copied columns changed, by a set difference (see reports_peak_relief_changed).
    PERFORM reports_ablation_facts_refresh(ARRAY(
        SELECT id FROM (
            SELECT id, physician_id, nerve_id, side, performed_on, baseline_nrs, qualifying_block_id FROM new_rows
            EXCEPT
            SELECT id, physician_id, nerve_id, side, performed_on, baseline_nrs, qualifying_block_id FROM old_rows
        ) d
    ));
    RETURN NULL;
END
$$;

-- The transition tables are named alike in the three triggers: new_rows (insert, update), old_rows (update, delete).
CREATE FUNCTION reports_peak_relief_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    changed bigint[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        changed := ARRAY(SELECT block_id FROM new_rows);
    ELSIF TG_OP = 'DELETE' THEN
        changed := ARRAY(SELECT block_id FROM old_rows);
    ELSE
        -- The rows whose copied columns changed, by a set difference (hashed): a join of the two transition
        -- tables may be planned as a nested loop, 15,000 x 15,000 rows for an import's diary.
        changed := ARRAY(
            SELECT block_id FROM (
                SELECT block_id, peak_relief_percent, performed_at, physician_id FROM new_rows
                EXCEPT
                SELECT block_id, peak_relief_percent, performed_at, physician_id FROM old_rows
            ) d
        );
    END IF;
    IF cardinality(changed) > 0 THEN
        PERFORM reports_ablation_facts_refresh(ARRAY(
            SELECT a.id FROM cryoablations_cryoablation a WHERE a.qualifying_block_id = ANY(changed)
        ));
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER reports_ablation_updated AFTER UPDATE ON cryoablations_cryoablation
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION reports_ablation_updated();
CREATE TRIGGER reports_peak_relief_inserted AFTER INSERT ON blocks_blockpeakrelief
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION reports_peak_relief_changed();
CREATE TRIGGER reports_peak_relief_updated AFTER UPDATE ON blocks_blockpeakrelief
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION reports_peak_relief_changed();
CREATE TRIGGER reports_peak_relief_deleted AFTER DELETE ON blocks_blockpeakrelief
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION reports_peak_relief_changed();
"""

DROP_FUNCTIONS = """
DROP TRIGGER reports_peak_relief_deleted ON blocks_blockpeakrelief;
DROP TRIGGER reports_peak_relief_updated ON blocks_blockpeakrelief;
DROP TRIGGER reports_peak_relief_inserted ON blocks_blockpeakrelief;
DROP TRIGGER reports_ablation_updated ON cryoablations_cryoablation;
DROP FUNCTION reports_peak_relief_changed();
DROP FUNCTION reports_ablation_updated();
DROP FUNCTION reports_ablation_facts_refresh(bigint[]);
"""


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0002_follow_up_fact"),
        ("blocks", "0004_block_peak_relief_every_block"),
    ]

    operations = [
        # Added nullable, filled from the ablations below, then made NOT NULL where the ablation's column is.
        migrations.AddField("followupfact", "physician_id", models.BigIntegerField(editable=False, null=True)),
        migrations.AddField("followupfact", "nerve_id", models.BigIntegerField(editable=False, null=True)),
        migrations.AddField("followupfact", "side", models.CharField(editable=False, max_length=9, null=True)),
        migrations.AddField("followupfact", "performed_on", models.DateField(editable=False, null=True)),
        migrations.AddField(
            "followupfact", "baseline_nrs", models.PositiveSmallIntegerField(editable=False, null=True)
        ),
        migrations.AddField("followupfact", "qualifying_block_id", models.BigIntegerField(editable=False, null=True)),
        migrations.AddField(
            "followupfact",
            "qualifying_peak_relief_percent",
            models.DecimalField(decimal_places=16, editable=False, max_digits=30, null=True),
        ),
        migrations.AddField(
            "followupfact", "qualifying_block_performed_at", models.DateTimeField(editable=False, null=True)
        ),
        migrations.AddField(
            "followupfact", "qualifying_block_physician_id", models.BigIntegerField(editable=False, null=True)
        ),
        migrations.RunSQL(REFRESH, OLD_REFRESH),
        migrations.RunSQL(FUNCTIONS, DROP_FUNCTIONS),
        # The follow-ups already recorded, written again from empty (an update of every row would leave the table
        # twice its size until a VACUUM FULL, and every figure scans it).
        migrations.RunSQL(
            "TRUNCATE reports_followupfact; "
            "SELECT reports_follow_up_facts_refresh(ARRAY(SELECT id FROM cryoablations_followup ORDER BY id)); "
            "ANALYZE reports_followupfact;",
            migrations.RunSQL.noop,
        ),
        migrations.AlterField("followupfact", "physician_id", models.BigIntegerField(editable=False)),
        migrations.AlterField("followupfact", "nerve_id", models.BigIntegerField(editable=False)),
        migrations.AlterField("followupfact", "side", models.CharField(editable=False, max_length=9)),
        migrations.AlterField("followupfact", "performed_on", models.DateField(editable=False)),
        migrations.AlterField("followupfact", "baseline_nrs", models.PositiveSmallIntegerField(editable=False)),
    ]
