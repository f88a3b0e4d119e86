"""Version 2 of the report: the follow-up facts carry the treatment's kind and whether the follow-up is superseded
by a repeat treatment, and the durability steps the kind, so the figures filter and group by kind and count
superseded time points with one scan of these tables, still joined to nothing.

`superseded` is a copy of cryoablations_followup.superseded_by_id IS NOT NULL, the column
cryoablations.services.supersession_refresh copies from the view cryoablations_followup_supersession (the repeat
rule's one home); nothing here decides what supersedes what. The refresh functions of 0003 and 0005 are replaced
with these columns added, and the triggers now also fire
- on follow-up updates that change superseded_by_id (supersession_refresh's update);
- on treatment updates that change the kind;
- on fact updates that change the kind (the steps' copy).

Writes reports_followupfact and reports_durabilitystep (this app's); watches cryoablations_followup,
cryoablations_cryoablation and reports_followupfact.
"""

import importlib

from django.db import migrations, models

REFRESH = """
CREATE OR REPLACE FUNCTION reports_follow_up_facts_refresh(follow_up_ids bigint[]) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO reports_followupfact (
        follow_up_id, ablation_id, time_point, window_end, counted_response_id, pain_average, pgic, completed_at,
        physician_id, nerve_id, side, performed_on, baseline_nrs, qualifying_block_id,
        qualifying_peak_relief_percent, qualifying_block_performed_at, qualifying_block_physician_id,
        kind, superseded
    )
    SELECT f.id, f.ablation_id, f.time_point, f.window_end, r.id, r.pain_average, r.pgic, r.completed_at,
           a.physician_id, a.nerve_id, a.side, a.performed_on, a.baseline_nrs, a.qualifying_block_id,
           p.peak_relief_percent, p.performed_at, p.physician_id,
           a.kind, f.superseded_by_id IS NOT NULL
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
        qualifying_block_physician_id = excluded.qualifying_block_physician_id,
        kind = excluded.kind, superseded = excluded.superseded;
$$;

CREATE OR REPLACE FUNCTION reports_follow_up_updated() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM reports_follow_up_facts_refresh(ARRAY(
        SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id
        WHERE (n.ablation_id, n.time_point, n.window_end, n.counted_response_id, n.superseded_by_id)
              IS DISTINCT FROM (o.ablation_id, o.time_point, o.window_end, o.counted_response_id, o.superseded_by_id)
    ));
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION reports_ablation_updated() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- The treatments whose copied columns changed, by a set difference (see reports_peak_relief_changed).
    PERFORM reports_ablation_facts_refresh(ARRAY(
        SELECT id FROM (
            SELECT id, physician_id, nerve_id, side, performed_on, baseline_nrs, qualifying_block_id, kind
            FROM new_rows
            EXCEPT
            SELECT id, physician_id, nerve_id, side, performed_on, baseline_nrs, qualifying_block_id, kind
            FROM old_rows
        ) d
    ));
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION reports_durability_steps_refresh(ablation_ids bigint[]) RETURNS void
LANGUAGE sql AS $$
    SELECT 1 FROM cryoablations_cryoablation WHERE id = ANY(ablation_ids) ORDER BY id FOR NO KEY UPDATE;
    DELETE FROM reports_durabilitystep WHERE ablation_id = ANY(ablation_ids);
    INSERT INTO reports_durabilitystep (
        follow_up_id, ablation_id, closed_after, until, marker_completed_at, event,
        physician_id, nerve_id, side, performed_on, kind
    )
    SELECT follow_up_id, ablation_id, window_end, until, coalesce(event_at, censor_at), event_at IS NOT NULL,
           physician_id, nerve_id, side, performed_on, kind
    FROM (
        SELECT x.follow_up_id, x.ablation_id, x.window_end, x.physician_id, x.nerve_id, x.side, x.performed_on,
               x.kind,
               min(x.completed_at) FILTER (WHERE o.evaluable AND NOT o.responder) OVER closed_by AS event_at,
               max(x.completed_at) FILTER (WHERE o.evaluable AND o.responder) OVER closed_by AS censor_at,
               min(x.window_end) OVER (
                   PARTITION BY x.ablation_id ORDER BY x.window_end GROUPS BETWEEN 1 FOLLOWING AND 1 FOLLOWING
               ) AS until,
               row_number() OVER (PARTITION BY x.ablation_id, x.window_end ORDER BY x.follow_up_id) AS peer
        FROM reports_followupfact x
        -- The percent as a column, not a subquery, in the call: the function is inlined only then.
        CROSS JOIN (SELECT responder_percent FROM clinic_protocol()) p
        CROSS JOIN LATERAL (
            SELECT x.baseline_nrs > 0 AND x.counted_response_id IS NOT NULL AS evaluable,
                   reports_responder(x.baseline_nrs, x.pain_average, p.responder_percent) AS responder
        ) o
        WHERE x.ablation_id = ANY(ablation_ids)
        WINDOW closed_by AS (
            PARTITION BY x.ablation_id ORDER BY x.window_end RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
        )
    ) s
    WHERE peer = 1 AND coalesce(event_at, censor_at) IS NOT NULL;
$$;

CREATE OR REPLACE FUNCTION reports_facts_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM reports_durability_steps_refresh(ARRAY(SELECT DISTINCT ablation_id FROM new_rows));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM reports_durability_steps_refresh(ARRAY(SELECT DISTINCT ablation_id FROM old_rows));
    ELSE
        -- The rows whose columns read by the steps changed, by a set difference, both ways.
        PERFORM reports_durability_steps_refresh(ARRAY(
            WITH n AS (
                SELECT follow_up_id, ablation_id, window_end, counted_response_id, pain_average, completed_at,
                       baseline_nrs, physician_id, nerve_id, side, performed_on, kind FROM new_rows
            ), o AS (
                SELECT follow_up_id, ablation_id, window_end, counted_response_id, pain_average, completed_at,
                       baseline_nrs, physician_id, nerve_id, side, performed_on, kind FROM old_rows
            )
            SELECT DISTINCT ablation_id FROM ((TABLE n EXCEPT TABLE o) UNION ALL (TABLE o EXCEPT TABLE n)) d
        ));
    END IF;
    RETURN NULL;
END
$$;
"""


def _previous() -> str:
    """The functions as 0002-0005 left them."""
    m2 = importlib.import_module("apps.reports.migrations.0002_follow_up_fact")
    m3 = importlib.import_module("apps.reports.migrations.0003_follow_up_fact_ablation_columns")
    m4 = importlib.import_module("apps.reports.migrations.0004_durability_steps")
    m5 = importlib.import_module("apps.reports.migrations.0005_one_definition_of_the_responder")

    def between(text: str, start: str, end: str) -> str:
        body = start + text.split(start, 1)[1].split(end, 1)[0]
        return body.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION")

    follow_up_updated = between(m2.FUNCTIONS, "CREATE FUNCTION reports_follow_up_updated", "CREATE FUNCTION reports_")
    ablation_updated = between(m3.FUNCTIONS, "CREATE FUNCTION reports_ablation_updated", "-- The transition")
    facts_changed = between(m4.FUNCTIONS, "CREATE FUNCTION reports_facts_changed", "CREATE FUNCTION reports_")
    steps = between(m5.FUNCTIONS, "CREATE OR REPLACE FUNCTION reports_durability_steps_refresh", "DROP TRIGGER")
    return "\n".join([m3.REFRESH, follow_up_updated, ablation_updated, facts_changed, steps])


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0006_responder_parallel_safe"),
        ("cryoablations", "0005_treatment_kinds_and_supersession"),
    ]

    operations = [
        migrations.AddField(
            "followupfact", "kind", models.CharField(editable=False, max_length=15, default="cryoablation")
        ),
        migrations.AddField("followupfact", "superseded", models.BooleanField(editable=False, default=False)),
        migrations.AddField(
            "durabilitystep", "kind", models.CharField(editable=False, max_length=15, default="cryoablation")
        ),
        migrations.RunSQL(REFRESH, _previous()),
        # The follow-ups already recorded, written again from empty (see 0003), and their steps.
        migrations.RunSQL(
            "TRUNCATE reports_followupfact; TRUNCATE reports_durabilitystep; "
            "SELECT reports_follow_up_facts_refresh(ARRAY(SELECT id FROM cryoablations_followup ORDER BY id)); "
            "ANALYZE reports_followupfact; ANALYZE reports_durabilitystep;",
            migrations.RunSQL.noop,
        ),
    ]
