"""Each peak relief carries its block's patient's site (Patient.site), so that the figures of one site read its rows
by an index instead of looking every block's patient up (README: "Sites"; benchmarks/bench_sites.py).

blocks_peak_relief_refresh(ids) and blocks_peak_relief_refresh_all() write the site with the view's columns; a block
moved to another patient refreshes its row (the block trigger now watches patient_id too), and a patient moved to
another site moves their rows (blocks_patient_site_changed).

Writes blocks_blockpeakrelief (this app's); watches patients_patient besides 0003-0005's tables.
"""

import importlib

from django.db import migrations, models

# S608: the functions are composed of this module's own constant fragments.
# ruff: noqa: S608

_0004 = importlib.import_module("apps.blocks.migrations.0004_block_peak_relief_every_block")
_0005 = importlib.import_module("apps.blocks.migrations.0005_one_definition_of_the_block_rules")

COLUMNS = _0005.COLUMNS
FROM_RULE = """
    SELECT r.block_id, r.peak_relief_percent, r.performed_at, r.physician_id, r.nerve_id, r.side, r.ablated, p.site_id
    FROM blocks_peak_relief_rule r
    JOIN blocks_diagnosticblock db ON db.id = r.block_id
    JOIN patients_patient p ON p.id = db.patient_id
"""
UPSERT = (
    _0004.UPSERT.replace("ablated = excluded.ablated", "ablated = excluded.ablated, site_id = excluded.site_id")
    .replace("blocks_blockpeakrelief.ablated)", "blocks_blockpeakrelief.ablated, blocks_blockpeakrelief.site_id)")
    .replace("excluded.ablated)", "excluded.ablated, excluded.site_id)")
)

FUNCTIONS = f"""
CREATE OR REPLACE FUNCTION blocks_peak_relief_refresh(block_ids bigint[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM blocks_diagnosticblock WHERE id = ANY(block_ids) ORDER BY id FOR NO KEY UPDATE;
    INSERT INTO blocks_blockpeakrelief ({COLUMNS}, site_id)
    {FROM_RULE} WHERE r.block_id = ANY(block_ids)
    {UPSERT};
END
$$;

CREATE OR REPLACE FUNCTION blocks_peak_relief_refresh_all() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO blocks_blockpeakrelief ({COLUMNS}, site_id)
    {FROM_RULE}
    {UPSERT};
END
$$;

DROP TRIGGER blocks_block_peak_relief ON blocks_diagnosticblock;
CREATE TRIGGER blocks_block_peak_relief
    AFTER UPDATE OF baseline_nrs, performed_at, physician_id, nerve_id, side, patient_id ON blocks_diagnosticblock
    FOR EACH ROW WHEN (
        (OLD.baseline_nrs, OLD.performed_at, OLD.physician_id, OLD.nerve_id, OLD.side, OLD.patient_id)
        IS DISTINCT FROM (NEW.baseline_nrs, NEW.performed_at, NEW.physician_id, NEW.nerve_id, NEW.side, NEW.patient_id)
    )
    EXECUTE FUNCTION blocks_block_peak_relief();

CREATE FUNCTION blocks_patient_site_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE blocks_blockpeakrelief r SET site_id = n.site_id
    FROM new_rows n JOIN old_rows o ON o.id = n.id JOIN blocks_diagnosticblock b ON b.patient_id = n.id
    WHERE n.site_id IS DISTINCT FROM o.site_id AND r.block_id = b.id;
    RETURN NULL;
END
$$;
CREATE TRIGGER blocks_patient_site_changed AFTER UPDATE ON patients_patient
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION blocks_patient_site_changed();
"""

BACK = (
    _0005.FUNCTIONS[_0005.FUNCTIONS.index("CREATE OR REPLACE FUNCTION blocks_peak_relief_refresh(") :].split(
        "DROP TRIGGER blocks_window_peak_relief"
    )[0]
    + """
DROP TRIGGER blocks_patient_site_changed ON patients_patient;
DROP FUNCTION blocks_patient_site_changed();
DROP TRIGGER blocks_block_peak_relief ON blocks_diagnosticblock;
CREATE TRIGGER blocks_block_peak_relief
    AFTER UPDATE OF baseline_nrs, performed_at, physician_id, nerve_id, side ON blocks_diagnosticblock
    FOR EACH ROW WHEN (
        (OLD.baseline_nrs, OLD.performed_at, OLD.physician_id, OLD.nerve_id, OLD.side)
        IS DISTINCT FROM (NEW.baseline_nrs, NEW.performed_at, NEW.physician_id, NEW.nerve_id, NEW.side)
    )
    EXECUTE FUNCTION blocks_block_peak_relief();
"""
)


class Migration(migrations.Migration):
    dependencies = [
        ("blocks", "0008_row_level_security"),
        ("patients", "0007_row_level_security"),
    ]

    operations = [
        migrations.AddField(
            model_name="blockpeakrelief", name="site_id", field=models.BigIntegerField(null=True, editable=False)
        ),
        migrations.RunSQL(
            # Then the table written afresh, without the update's dead copy of every row (see reports 0014).
            "UPDATE blocks_blockpeakrelief r SET site_id = p.site_id FROM blocks_diagnosticblock b "
            "JOIN patients_patient p ON p.id = b.patient_id WHERE b.id = r.block_id; "
            "CLUSTER blocks_blockpeakrelief USING blocks_blockpeakrelief_pkey; "
            "ALTER TABLE blocks_blockpeakrelief SET WITHOUT CLUSTER; ANALYZE blocks_blockpeakrelief;",
            migrations.RunSQL.noop,
        ),
        migrations.AlterField(
            model_name="blockpeakrelief", name="site_id", field=models.BigIntegerField(editable=False)
        ),
        migrations.AddIndex(
            model_name="blockpeakrelief", index=models.Index(fields=["site_id"], name="peak_relief_site")
        ),
        migrations.RunSQL(FUNCTIONS, BACK),
    ]
