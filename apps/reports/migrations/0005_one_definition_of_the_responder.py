"""The responder rule of outcome-definitions.md, defined once in SQL: reports_responder(baseline, score, percent) is
true when the baseline is above 0 and the score is at least `percent` percent below it, exactly (a reduction of
exactly the percent counts). Inlined by the planner (one SQL expression): with the percent a constant, as the
report's statements give it, the CASE is decided at planning and each row costs integer arithmetic in hundredths of
a percent (the protocol keeps two decimals; numeric arithmetic doubled the cost of the figures' scan), with numeric
arithmetic for a percent of more decimals. The report's statements (apps.reports.sql.FOLLOW_UP_FLAGS: the
protocol's percent and the 30% rule) and the durability steps below call it.

reports_durability_steps_refresh (0004) is the same, with the responder from reports_responder and the protocol's
percent read through clinic_protocol() (clinic 0004); the trigger on a change of the responder percent fires for the
protocol's one row, with no key written.

Writes reports_durabilitystep (this app's); watches reports_followupfact and clinic_protocol.
"""

import importlib

from django.db import migrations

FUNCTIONS = """
CREATE FUNCTION reports_responder(baseline integer, score integer, percent numeric) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT baseline > 0 AND CASE WHEN percent * 100 = trunc(percent * 100)
        THEN (baseline - score) * 10000 >= (percent * 100)::integer * baseline
        ELSE (baseline - score) * 100 >= percent * baseline
    END
$$;

CREATE OR REPLACE FUNCTION reports_durability_steps_refresh(ablation_ids bigint[]) RETURNS void
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

DROP TRIGGER reports_responder_percent_changed ON clinic_protocol;
CREATE TRIGGER reports_responder_percent_changed AFTER UPDATE OF responder_percent ON clinic_protocol
    FOR EACH ROW WHEN (OLD.responder_percent IS DISTINCT FROM NEW.responder_percent)
    EXECUTE FUNCTION reports_responder_percent_changed();
"""


def _previous() -> str:
    """0004's refresh function and trigger, as they were."""
    before = importlib.import_module("apps.reports.migrations.0004_durability_steps")
    refresh = before.FUNCTIONS.split("-- The transition tables")[0].replace(
        "CREATE FUNCTION", "CREATE OR REPLACE FUNCTION"
    )
    trigger = (
        "CREATE TRIGGER reports_responder_percent_changed"
        + before.FUNCTIONS.split("CREATE TRIGGER reports_responder_percent_changed")[1]
    )
    return f"""
DROP TRIGGER reports_responder_percent_changed ON clinic_protocol;
{trigger}
{refresh}
DROP FUNCTION reports_responder(integer, integer, numeric);
"""


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0004_durability_steps"),
        ("clinic", "0004_clinic_protocol_function"),
    ]

    operations = [migrations.RunSQL(FUNCTIONS, _previous())]
