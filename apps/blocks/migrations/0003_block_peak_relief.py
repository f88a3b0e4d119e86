"""Each block's peak relief, derived from its diary and kept by triggers (apps.blocks.models.BlockPeakRelief).

The rule (outcome-definitions.md, Diagnostic block): peak relief = the largest percent reduction from the block's
baseline among its diary entries 0..W minutes after injection (W: the protocol's evaluation window), i.e. computed
from the lowest score in the window; no value when the baseline is 0 or no entry is inside the window.

blocks_peak_relief_refresh(ids) recomputes the blocks it is given in two statements; it is called
- per statement on diary inserts, updates and deletes, with the blocks of the transition tables (a bulk insert of
  240,000 entries recomputes each of its blocks once per batch, not once per entry);
- per row when a block's baseline changes, or one of the columns copied beside the value (date and time, physician,
  nerve, side: what the reports filter and group blocks by, so that they read this narrow table alone);
and blocks_peak_relief_refresh_all() recomputes every block when the protocol's evaluation window changes.

The refresh first locks the blocks' rows (FOR NO KEY UPDATE: diary inserts of other transactions, which take
FOR KEY SHARE on the block for their foreign key, are not blocked, only a second refresh of the same block, which
then reads the diary as the first one committed it), so two transactions writing one block's diary at the same time
cannot leave a value computed from a diary neither of them saw.

Writes blocks_blockpeakrelief (this app's); watches blocks_diaryentry, blocks_diagnosticblock and clinic_protocol.
"""

import django.db.models.deletion
from django.db import migrations, models

FUNCTIONS = """
CREATE FUNCTION blocks_peak_relief_refresh(block_ids bigint[]) RETURNS void
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

CREATE FUNCTION blocks_peak_relief_refresh_all() RETURNS void
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

-- The transition tables are named alike in the three diary triggers: new_entries (insert, update) and
-- old_entries (update, delete).
CREATE FUNCTION blocks_diary_peak_relief() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM blocks_peak_relief_refresh(ARRAY(SELECT DISTINCT block_id FROM new_entries));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM blocks_peak_relief_refresh(ARRAY(SELECT DISTINCT block_id FROM old_entries));
    ELSE
        PERFORM blocks_peak_relief_refresh(
            ARRAY(SELECT block_id FROM old_entries UNION SELECT block_id FROM new_entries)
        );
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION blocks_block_peak_relief() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM blocks_peak_relief_refresh(ARRAY[NEW.id]);
    RETURN NULL;
END
$$;

CREATE FUNCTION blocks_window_peak_relief() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM blocks_peak_relief_refresh_all();
    RETURN NULL;
END
$$;

CREATE TRIGGER blocks_diary_insert_peak_relief AFTER INSERT ON blocks_diaryentry
    REFERENCING NEW TABLE AS new_entries
    FOR EACH STATEMENT EXECUTE FUNCTION blocks_diary_peak_relief();
CREATE TRIGGER blocks_diary_update_peak_relief AFTER UPDATE ON blocks_diaryentry
    REFERENCING OLD TABLE AS old_entries NEW TABLE AS new_entries
    FOR EACH STATEMENT EXECUTE FUNCTION blocks_diary_peak_relief();
CREATE TRIGGER blocks_diary_delete_peak_relief AFTER DELETE ON blocks_diaryentry
    REFERENCING OLD TABLE AS old_entries
    FOR EACH STATEMENT EXECUTE FUNCTION blocks_diary_peak_relief();
CREATE TRIGGER blocks_block_peak_relief
    AFTER UPDATE OF baseline_nrs, performed_at, physician_id, nerve_id, side ON blocks_diagnosticblock
    FOR EACH ROW WHEN (
        (OLD.baseline_nrs, OLD.performed_at, OLD.physician_id, OLD.nerve_id, OLD.side)
        IS DISTINCT FROM (NEW.baseline_nrs, NEW.performed_at, NEW.physician_id, NEW.nerve_id, NEW.side)
    )
    EXECUTE FUNCTION blocks_block_peak_relief();
CREATE TRIGGER blocks_window_peak_relief AFTER UPDATE OF evaluation_window_minutes ON clinic_protocol
    FOR EACH ROW WHEN (NEW.id = 1 AND OLD.evaluation_window_minutes IS DISTINCT FROM NEW.evaluation_window_minutes)
    EXECUTE FUNCTION blocks_window_peak_relief();
"""

DROP_FUNCTIONS = """
DROP TRIGGER blocks_window_peak_relief ON clinic_protocol;
DROP TRIGGER blocks_block_peak_relief ON blocks_diagnosticblock;
DROP TRIGGER blocks_diary_delete_peak_relief ON blocks_diaryentry;
DROP TRIGGER blocks_diary_update_peak_relief ON blocks_diaryentry;
DROP TRIGGER blocks_diary_insert_peak_relief ON blocks_diaryentry;
DROP FUNCTION blocks_window_peak_relief();
DROP FUNCTION blocks_block_peak_relief();
DROP FUNCTION blocks_diary_peak_relief();
DROP FUNCTION blocks_peak_relief_refresh_all();
DROP FUNCTION blocks_peak_relief_refresh(bigint[]);
"""


class Migration(migrations.Migration):
    dependencies = [
        ("blocks", "0002_block_external_id_needle_gauge"),
        ("clinic", "0003_protocol_reminder_cadence"),
    ]

    operations = [
        migrations.CreateModel(
            name="BlockPeakRelief",
            fields=[
                (
                    "block",
                    models.OneToOneField(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        primary_key=True,
                        related_name="peak_relief",
                        serialize=False,
                        to="blocks.diagnosticblock",
                    ),
                ),
                ("peak_relief_percent", models.DecimalField(decimal_places=16, editable=False, max_digits=30)),
                ("performed_at", models.DateTimeField(editable=False)),
                ("physician_id", models.BigIntegerField(editable=False)),
                ("nerve_id", models.BigIntegerField(editable=False)),
                ("side", models.CharField(editable=False, max_length=9)),
            ],
            options={"db_table": "blocks_blockpeakrelief"},
        ),
        migrations.RunSQL(
            "ALTER TABLE blocks_blockpeakrelief ADD CONSTRAINT blocks_blockpeakrelief_block_fk FOREIGN KEY (block_id) "
            "REFERENCES blocks_diagnosticblock (id) ON DELETE CASCADE",
            "ALTER TABLE blocks_blockpeakrelief DROP CONSTRAINT blocks_blockpeakrelief_block_fk",
        ),
        migrations.RunSQL(FUNCTIONS, DROP_FUNCTIONS),
        # The blocks already recorded.
        migrations.RunSQL(
            "SELECT blocks_peak_relief_refresh_all(); ANALYZE blocks_blockpeakrelief;", migrations.RunSQL.noop
        ),
    ]
