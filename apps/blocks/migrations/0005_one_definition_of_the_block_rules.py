"""The block rules of outcome-definitions.md, each defined once in SQL, which Python and the reports read.

- blocks_peak_relief_rule (a view): each block's peak relief under the protocol's evaluation window, the largest
  percent reduction from the baseline among the diary entries 0..W minutes after injection (both ends included),
  NULL when the baseline is 0 or no entry is inside the window; with the columns kept beside it in
  blocks_blockpeakrelief. blocks_peak_relief_refresh(ids) and blocks_peak_relief_refresh_all() now write the view's
  rows (the triggers of 0003-0004 call them as before); DiagnosticBlock.assess reads the stored value.
- blocks_positive(peak_relief, threshold): a block is positive when its peak relief reaches the threshold. Inlined
  by the planner (one SQL expression), so a filter on it costs what the comparison costs.
- blocks_qualifying_block(patient, nerve, side, ablation date, look-back days, threshold, time zone): the latest
  positive block of the same patient, nerve and side whose date in the time zone is 0..days before the ablation
  date, latest by time then id; NULL when there is none. apps.blocks.selectors.qualifying_block_pick (one ablation)
  and the registry import (apps.reports.sql.QUALIFYING_BLOCKS_PICK, many) both call it.
- The protocol is read through clinic_protocol() (clinic 0004), so no statement names its key: the trigger on a
  change of the evaluation window fires for the protocol's one row.

Writes blocks_blockpeakrelief (this app's); watches blocks_diaryentry, blocks_diagnosticblock, clinic_protocol and
cryoablations_cryoablation (0003-0004).
"""

import importlib

from django.db import migrations

# S608: the functions are composed of this module's own constant fragments.
# ruff: noqa: S608

COLUMNS = "block_id, peak_relief_percent, performed_at, physician_id, nerve_id, side, ablated"

UPSERT = importlib.import_module("apps.blocks.migrations.0004_block_peak_relief_every_block").UPSERT

FUNCTIONS = f"""
CREATE FUNCTION blocks_positive(peak_relief numeric, threshold numeric) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT peak_relief >= threshold
$$;

CREATE VIEW blocks_peak_relief_rule AS
    SELECT b.id AS block_id,
           CASE WHEN b.baseline_nrs > 0 THEN (b.baseline_nrs - min(d.nrs) FILTER (
               WHERE d.minutes_after BETWEEN 0 AND (SELECT evaluation_window_minutes FROM clinic_protocol())
           ))::numeric * 100 / b.baseline_nrs END AS peak_relief_percent,
           b.performed_at, b.physician_id, b.nerve_id, b.side,
           EXISTS (SELECT 1 FROM cryoablations_cryoablation a WHERE a.qualifying_block_id = b.id) AS ablated
    FROM blocks_diagnosticblock b
    LEFT JOIN blocks_diaryentry d ON d.block_id = b.id
    GROUP BY b.id;

CREATE OR REPLACE FUNCTION blocks_peak_relief_refresh(block_ids bigint[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM blocks_diagnosticblock WHERE id = ANY(block_ids) ORDER BY id FOR NO KEY UPDATE;
    INSERT INTO blocks_blockpeakrelief ({COLUMNS})
    SELECT {COLUMNS} FROM blocks_peak_relief_rule WHERE block_id = ANY(block_ids)
    {UPSERT};
END
$$;

CREATE OR REPLACE FUNCTION blocks_peak_relief_refresh_all() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO blocks_blockpeakrelief ({COLUMNS})
    SELECT {COLUMNS} FROM blocks_peak_relief_rule
    {UPSERT};
END
$$;

DROP TRIGGER blocks_window_peak_relief ON clinic_protocol;
CREATE TRIGGER blocks_window_peak_relief AFTER UPDATE OF evaluation_window_minutes ON clinic_protocol
    FOR EACH ROW WHEN (OLD.evaluation_window_minutes IS DISTINCT FROM NEW.evaluation_window_minutes)
    EXECUTE FUNCTION blocks_window_peak_relief();

CREATE FUNCTION blocks_qualifying_block(
    of_patient bigint, of_nerve bigint, of_side text, ablation_date date, look_back_days integer, threshold numeric,
    tz text
) RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT b.id
    FROM blocks_diagnosticblock b
    JOIN blocks_blockpeakrelief p ON p.block_id = b.id
    WHERE b.patient_id = of_patient AND b.nerve_id = of_nerve AND b.side = of_side
      AND (b.performed_at AT TIME ZONE tz)::date BETWEEN ablation_date - look_back_days AND ablation_date
      AND blocks_positive(p.peak_relief_percent, threshold)
    ORDER BY b.performed_at DESC, b.id DESC
    LIMIT 1
$$;
"""


def _previous() -> str:
    """0004's refresh functions and 0003's trigger, as they were."""
    before = importlib.import_module("apps.blocks.migrations.0004_block_peak_relief_every_block")
    functions = before.FUNCTIONS.split("CREATE FUNCTION blocks_ablated_refresh")[0]
    return f"""
DROP FUNCTION blocks_qualifying_block(bigint, bigint, text, date, integer, numeric, text);
DROP TRIGGER blocks_window_peak_relief ON clinic_protocol;
CREATE TRIGGER blocks_window_peak_relief AFTER UPDATE OF evaluation_window_minutes ON clinic_protocol
    FOR EACH ROW WHEN (NEW.id = 1 AND OLD.evaluation_window_minutes IS DISTINCT FROM NEW.evaluation_window_minutes)
    EXECUTE FUNCTION blocks_window_peak_relief();
{functions}
DROP VIEW blocks_peak_relief_rule;
DROP FUNCTION blocks_positive(numeric, numeric);
"""


class Migration(migrations.Migration):
    dependencies = [
        ("blocks", "0004_block_peak_relief_every_block"),
        ("clinic", "0004_clinic_protocol_function"),
    ]

    operations = [migrations.RunSQL(FUNCTIONS, _previous())]
