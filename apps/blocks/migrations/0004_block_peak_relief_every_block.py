"""A peak relief row for every block, and whether an ablation names the block (apps.blocks.models.BlockPeakRelief).

So that the funnel's blocks, evaluable, positive and ablated counts are one scan of this narrow table, joined to
nothing: a block that is not evaluable has its row with no value, and `ablated` says whether some ablation names the
block as its qualifying block.

- blocks_peak_relief_refresh(ids) now writes a row for each given block in one statement (an insert, or an update
  of the row when something in it changed, so that unchanged rows are not rewritten), with the value computed from
  the diary entries inside the window (none: NULL) and `ablated`; it is also called per statement on block inserts;
- blocks_peak_relief_refresh_all() does the same for every block (the protocol's evaluation window changed);
- blocks_ablated_refresh(ids) sets `ablated` of the given blocks; called per statement on ablation inserts and
  deletes and on updates of the qualifying block, with the old and new blocks.
A deleted block takes its row with it (ON DELETE CASCADE, 0003).

Writes blocks_blockpeakrelief (this app's); watches blocks_diagnosticblock and cryoablations_cryoablation, a table of
an app above this one (README.md, "Triggers that watch other apps' tables").
"""

from django.db import migrations, models

# S608: the functions are composed of this module's own constant fragments.
# ruff: noqa: S608

ROW = """
    SELECT b.id,
           CASE WHEN b.baseline_nrs > 0 THEN (b.baseline_nrs - min(d.nrs) FILTER (
               WHERE d.minutes_after BETWEEN 0 AND (SELECT evaluation_window_minutes FROM clinic_protocol WHERE id = 1)
           ))::numeric * 100 / b.baseline_nrs END,
           b.performed_at, b.physician_id, b.nerve_id, b.side,
           EXISTS (SELECT 1 FROM cryoablations_cryoablation a WHERE a.qualifying_block_id = b.id)
    FROM blocks_diagnosticblock b
    LEFT JOIN blocks_diaryentry d ON d.block_id = b.id
"""

UPSERT = """
    ON CONFLICT (block_id) DO UPDATE SET peak_relief_percent = excluded.peak_relief_percent,
        performed_at = excluded.performed_at, physician_id = excluded.physician_id, nerve_id = excluded.nerve_id,
        side = excluded.side, ablated = excluded.ablated
    WHERE (blocks_blockpeakrelief.peak_relief_percent, blocks_blockpeakrelief.performed_at,
           blocks_blockpeakrelief.physician_id, blocks_blockpeakrelief.nerve_id, blocks_blockpeakrelief.side,
           blocks_blockpeakrelief.ablated)
          IS DISTINCT FROM (excluded.peak_relief_percent, excluded.performed_at, excluded.physician_id,
                            excluded.nerve_id, excluded.side, excluded.ablated)
"""

COLUMNS = "block_id, peak_relief_percent, performed_at, physician_id, nerve_id, side, ablated"

FUNCTIONS = f"""
CREATE OR REPLACE FUNCTION blocks_peak_relief_refresh(block_ids bigint[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM blocks_diagnosticblock WHERE id = ANY(block_ids) ORDER BY id FOR NO KEY UPDATE;
    INSERT INTO blocks_blockpeakrelief ({COLUMNS})
    {ROW}
    WHERE b.id = ANY(block_ids)
    GROUP BY b.id
    {UPSERT};
END
$$;

CREATE OR REPLACE FUNCTION blocks_peak_relief_refresh_all() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO blocks_blockpeakrelief ({COLUMNS})
    {ROW}
    GROUP BY b.id
    {UPSERT};
END
$$;

CREATE FUNCTION blocks_ablated_refresh(block_ids bigint[]) RETURNS void
LANGUAGE sql AS $$
    UPDATE blocks_blockpeakrelief p
    SET ablated = EXISTS (SELECT 1 FROM cryoablations_cryoablation a WHERE a.qualifying_block_id = p.block_id)
    WHERE p.block_id = ANY(block_ids)
      AND p.ablated IS DISTINCT FROM
          EXISTS (SELECT 1 FROM cryoablations_cryoablation a WHERE a.qualifying_block_id = p.block_id);
$$;

CREATE FUNCTION blocks_block_inserted_peak_relief() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM blocks_peak_relief_refresh(ARRAY(SELECT id FROM new_blocks));
    RETURN NULL;
END
$$;

-- The transition tables are named alike in the three triggers: new_rows (insert, update), old_rows (update, delete).
CREATE FUNCTION blocks_ablation_ablated() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM blocks_ablated_refresh(ARRAY(
            SELECT DISTINCT qualifying_block_id FROM new_rows WHERE qualifying_block_id IS NOT NULL
        ));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM blocks_ablated_refresh(ARRAY(
            SELECT DISTINCT qualifying_block_id FROM old_rows WHERE qualifying_block_id IS NOT NULL
        ));
    ELSE
        -- The blocks named before or after a change, by set differences (hashed; a join of the two transition
        -- tables may be planned as a nested loop over every pair of rows).
        PERFORM blocks_ablated_refresh(ARRAY(
            SELECT qualifying_block_id FROM (
                (SELECT id, qualifying_block_id FROM old_rows EXCEPT SELECT id, qualifying_block_id FROM new_rows)
                UNION
                (SELECT id, qualifying_block_id FROM new_rows EXCEPT SELECT id, qualifying_block_id FROM old_rows)
            ) d
            WHERE qualifying_block_id IS NOT NULL
        ));
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER blocks_block_inserted_peak_relief AFTER INSERT ON blocks_diagnosticblock
    REFERENCING NEW TABLE AS new_blocks
    FOR EACH STATEMENT EXECUTE FUNCTION blocks_block_inserted_peak_relief();
CREATE TRIGGER blocks_ablation_inserted_ablated AFTER INSERT ON cryoablations_cryoablation
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION blocks_ablation_ablated();
CREATE TRIGGER blocks_ablation_updated_ablated AFTER UPDATE ON cryoablations_cryoablation
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION blocks_ablation_ablated();
CREATE TRIGGER blocks_ablation_deleted_ablated AFTER DELETE ON cryoablations_cryoablation
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION blocks_ablation_ablated();
"""

OLD_FUNCTIONS = """
CREATE OR REPLACE FUNCTION blocks_peak_relief_refresh(block_ids bigint[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM blocks_diagnosticblock WHERE id = ANY(block_ids) ORDER BY id FOR NO KEY UPDATE;
    DELETE FROM blocks_blockpeakrelief WHERE block_id = ANY(block_ids);
    INSERT INTO blocks_blockpeakrelief (block_id, peak_relief_percent, performed_at, physician_id, nerve_id, side)
    SELECT b.id, (b.baseline_nrs - min(d.nrs))::numeric * 100 / b.baseline_nrs,
           b.performed_at, b.physician_id, b.nerve_id, b.side
    FROM blocks_diagnosticblock b
    JOIN blocks_diaryentry d ON d.block_id = b.id
    WHERE b.id = ANY(block_ids) AND b.baseline_nrs > 0
      AND d.minutes_after BETWEEN 0 AND (SELECT evaluation_window_minutes FROM clinic_protocol WHERE id = 1)
    GROUP BY b.id
    ON CONFLICT (block_id) DO UPDATE SET peak_relief_percent = excluded.peak_relief_percent,
        performed_at = excluded.performed_at, physician_id = excluded.physician_id, nerve_id = excluded.nerve_id,
        side = excluded.side;
END
$$;

CREATE OR REPLACE FUNCTION blocks_peak_relief_refresh_all() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM blocks_blockpeakrelief;
    INSERT INTO blocks_blockpeakrelief (block_id, peak_relief_percent, performed_at, physician_id, nerve_id, side)
    SELECT b.id, (b.baseline_nrs - min(d.nrs))::numeric * 100 / b.baseline_nrs,
           b.performed_at, b.physician_id, b.nerve_id, b.side
    FROM blocks_diagnosticblock b
    JOIN blocks_diaryentry d ON d.block_id = b.id
    WHERE b.baseline_nrs > 0
      AND d.minutes_after BETWEEN 0 AND (SELECT evaluation_window_minutes FROM clinic_protocol WHERE id = 1)
    GROUP BY b.id
    ON CONFLICT (block_id) DO UPDATE SET peak_relief_percent = excluded.peak_relief_percent,
        performed_at = excluded.performed_at, physician_id = excluded.physician_id, nerve_id = excluded.nerve_id,
        side = excluded.side;
END
$$;

DROP TRIGGER blocks_ablation_deleted_ablated ON cryoablations_cryoablation;
DROP TRIGGER blocks_ablation_updated_ablated ON cryoablations_cryoablation;
DROP TRIGGER blocks_ablation_inserted_ablated ON cryoablations_cryoablation;
DROP TRIGGER blocks_block_inserted_peak_relief ON blocks_diagnosticblock;
DROP FUNCTION blocks_ablation_ablated();
DROP FUNCTION blocks_block_inserted_peak_relief();
DROP FUNCTION blocks_ablated_refresh(bigint[]);
DELETE FROM blocks_blockpeakrelief WHERE peak_relief_percent IS NULL;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("blocks", "0003_block_peak_relief"),
        ("cryoablations", "0004_cryoablation_external_id"),
    ]

    operations = [
        migrations.AlterField(
            "blockpeakrelief",
            "peak_relief_percent",
            models.DecimalField(decimal_places=16, editable=False, max_digits=30, null=True),
        ),
        migrations.AddField("blockpeakrelief", "ablated", models.BooleanField(default=False, editable=False)),
        migrations.RunSQL(FUNCTIONS, OLD_FUNCTIONS),
        # The blocks already recorded, written again from empty (compact: the figures scan this table).
        migrations.RunSQL(
            "TRUNCATE blocks_blockpeakrelief; SELECT blocks_peak_relief_refresh_all(); ANALYZE blocks_blockpeakrelief;",
            migrations.RunSQL.noop,
        ),
    ]
