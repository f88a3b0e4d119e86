"""The SQL of the outcomes engine: every figure of outcome-definitions.md is aggregated here, in PostgreSQL.

One module on purpose: the rules (peak relief, positive block, closed time point, evaluable, responder) are written
once as SQL fragments below and every query is built from them, so the report, the dashboards and their drill-downs
cannot disagree. Named parameters (psycopg's %(name)s) carry every value; only fragments of this module are ever
formatted into the text.

Parameters shared by the queries: tz (the clinic's time zone), window (evaluation window, minutes), threshold
(positive-block threshold, percent), responder (responder reduction, percent), as_of (date), date_from / date_to
(dates or NULL), physician_id / nerve_id / side (or NULL).
"""

from __future__ import annotations

# S608: the queries are composed of this module's own constant fragments; values travel as parameters only.
# ruff: noqa: S608

# Peak relief of block b: the largest percent reduction among diary entries inside the evaluation window, NULL when
# the block is not evaluable (baseline 0, or no entry inside the window). Derived from the diary by the database
# (apps.blocks.models.BlockPeakRelief, kept by triggers under the protocol's window, a row per evaluable block), so
# the figures read one number per block instead of aggregating the diary. Numeric, so 50.000 compares exactly.
PEAK_JOIN = "LEFT JOIN blocks_blockpeakrelief p ON p.block_id = b.id"
BLOCK_PEAK = "p.peak_relief_percent"

# Block b is positive under %(threshold)s, written without a division so that it is exact and can use the index.
BLOCK_POSITIVE = """
    b.baseline_nrs > 0 AND EXISTS (
        SELECT 1 FROM blocks_diaryentry d
        WHERE d.block_id = b.id AND d.minutes_after BETWEEN 0 AND %(window)s
          AND (b.baseline_nrs - d.nrs) * 100 >= %(threshold)s * b.baseline_nrs
    )
"""

BLOCK_LOCAL_DATE = "(b.performed_at AT TIME ZONE %(tz)s)::date"

BLOCK_FILTERS = f"""
    (%(date_from)s::date IS NULL OR {BLOCK_LOCAL_DATE} >= %(date_from)s::date)
    AND (%(date_to)s::date IS NULL OR {BLOCK_LOCAL_DATE} <= %(date_to)s::date)
    AND (%(physician_id)s::bigint IS NULL OR b.physician_id = %(physician_id)s::bigint)
    AND (%(nerve_id)s::bigint IS NULL OR b.nerve_id = %(nerve_id)s::bigint)
    AND (%(side)s::text IS NULL OR b.side = %(side)s::text)
"""

ABLATION_FILTERS = """
    (%(date_from)s::date IS NULL OR a.performed_on >= %(date_from)s::date)
    AND (%(date_to)s::date IS NULL OR a.performed_on <= %(date_to)s::date)
    AND (%(physician_id)s::bigint IS NULL OR a.physician_id = %(physician_id)s::bigint)
    AND (%(nerve_id)s::bigint IS NULL OR a.nerve_id = %(nerve_id)s::bigint)
    AND (%(side)s::text IS NULL OR a.side = %(side)s::text)
"""

# One row per follow-up f of ablation a, with its counted answer r (LEFT JOIN): the flags of a time point.
# Closed: the last day of the window is before as_of. Evaluable: closed, baseline above 0, an answer counts.
FOLLOW_UP_FLAGS = """
    f.window_end < %(as_of)s::date AS closed,
    (f.window_end < %(as_of)s::date AND a.baseline_nrs > 0 AND r.id IS NOT NULL) AS evaluable,
    (f.window_end < %(as_of)s::date AND a.baseline_nrs > 0 AND r.id IS NOT NULL
        AND (a.baseline_nrs - r.pain_average) * 100 >= %(responder)s * a.baseline_nrs) AS responder,
    (f.window_end < %(as_of)s::date AND a.baseline_nrs > 0 AND r.id IS NOT NULL
        AND (a.baseline_nrs - r.pain_average) * 100 >= 30 * a.baseline_nrs) AS responder_30,
    (f.window_end < %(as_of)s::date AND a.baseline_nrs > 0 AND r.id IS NOT NULL AND r.pgic IN (1, 2))
        AS pgic_improved
"""

FOLLOW_UP_JOINS = """
    JOIN cryoablations_followup f ON f.ablation_id = a.id
    LEFT JOIN surveys_surveyresponse r ON r.id = f.counted_response_id
"""

# The groups of data-exchange.md from one scan: overall, by nerve, by physician.
GROUPING = "GROUPING SETS ((), ({alias}.nerve_id), ({alias}.physician_id))"
# g_nerve = 0 on the rows by nerve, g_physician = 0 on the rows by physician, both 1 on the overall row.
GROUP_COLUMNS = "GROUPING({alias}.nerve_id) AS g_nerve, GROUPING({alias}.physician_id) AS g_physician, " + (
    "{alias}.nerve_id, {alias}.physician_id"
)

# Funnel: blocks in range -> evaluable -> positive -> ablated (named as qualifying block by an ablation, any date)
# -> evaluable at 3 months -> responders at 3 months (of the ablations naming a positive block).
FUNNEL = f"""
WITH blocks AS (
    SELECT b.id, b.nerve_id, b.physician_id, {BLOCK_PEAK} AS peak
    FROM blocks_diagnosticblock b
    {PEAK_JOIN}
    WHERE {BLOCK_FILTERS}
), named AS (
    SELECT a.qualifying_block_id AS block_id,
           count(*) FILTER (WHERE fl.evaluable) AS evaluable_3m,
           count(*) FILTER (WHERE fl.responder) AS responders_3m
    FROM cryoablations_cryoablation a
    LEFT JOIN cryoablations_followup f ON f.ablation_id = a.id AND f.time_point = %(funnel_time_point)s
    LEFT JOIN surveys_surveyresponse r ON r.id = f.counted_response_id
    CROSS JOIN LATERAL (SELECT {FOLLOW_UP_FLAGS}) fl
    WHERE a.qualifying_block_id IS NOT NULL
    GROUP BY a.qualifying_block_id
)
SELECT {GROUP_COLUMNS.format(alias="blocks")},
       count(*) AS blocks,
       count(*) FILTER (WHERE blocks.peak IS NOT NULL) AS evaluable,
       count(*) FILTER (WHERE blocks.peak >= %(threshold)s) AS positive,
       count(named.block_id) FILTER (WHERE blocks.peak >= %(threshold)s) AS ablated,
       coalesce(sum(named.evaluable_3m) FILTER (WHERE blocks.peak >= %(threshold)s), 0) AS evaluable_3m,
       coalesce(sum(named.responders_3m) FILTER (WHERE blocks.peak >= %(threshold)s), 0) AS responders_3m
FROM blocks LEFT JOIN named ON named.block_id = blocks.id
GROUP BY {GROUPING.format(alias="blocks")}
"""

# Response rates at every time point of the ablations in range; {time_point_filter} and {grouping} are fragments
# of this module (all time points or one; every group or overall only).
RESPONSE = """
SELECT {group_columns}, f.time_point,
       count(*) AS ablations,
       count(*) FILTER (WHERE f.window_end < %(as_of)s::date) AS closed,
       count(*) FILTER (WHERE fl.evaluable) AS evaluable,
       count(*) FILTER (WHERE fl.responder) AS responders,
       count(*) FILTER (WHERE fl.responder_30) AS responders_30,
       count(*) FILTER (WHERE fl.pgic_improved) AS pgic_improved
FROM cryoablations_cryoablation a
{joins}
CROSS JOIN LATERAL (SELECT {flags}) fl
WHERE {filters} {time_point_filter}
GROUP BY f.time_point, {grouping}
"""
RESPONSE_ALL_GROUPS = RESPONSE.format(
    group_columns=GROUP_COLUMNS.format(alias="a"),
    joins=FOLLOW_UP_JOINS,
    flags=FOLLOW_UP_FLAGS,
    filters=ABLATION_FILTERS,
    time_point_filter="",
    grouping=GROUPING.format(alias="a"),
)
RESPONSE_OVERALL_ONE_TIME_POINT = RESPONSE.format(
    group_columns="1 AS g_nerve, 1 AS g_physician, NULL::bigint AS nerve_id, NULL::bigint AS physician_id",
    joins=FOLLOW_UP_JOINS,
    flags=FOLLOW_UP_FLAGS,
    filters=ABLATION_FILTERS,
    time_point_filter="AND f.time_point = %(time_point)s",
    grouping="()",
)

BAND = (
    "CASE WHEN q.peak_relief_percent < 70 THEN '50-69' WHEN q.peak_relief_percent < 80 THEN '70-79' ELSE '80-100' END"
)

# Threshold analysis: 3-month outcome of the ablations in range by the peak relief of their qualifying block (none,
# or below 50%: left out). Bands: lower bound inclusive, upper exclusive; 80-100 includes 100.
BANDS = f"""
SELECT {BAND} AS band,
       count(*) FILTER (WHERE fl.evaluable) AS evaluable_3m,
       count(*) FILTER (WHERE fl.responder) AS responders_3m
FROM cryoablations_cryoablation a
JOIN blocks_blockpeakrelief q ON q.block_id = a.qualifying_block_id
{FOLLOW_UP_JOINS}
CROSS JOIN LATERAL (SELECT {FOLLOW_UP_FLAGS}) fl
WHERE {ABLATION_FILTERS} AND f.time_point = %(funnel_time_point)s AND q.peak_relief_percent >= 50
GROUP BY 1
"""

# Durability: per ablation in range with baseline above 0 and a counted answer at a closed time point, the days to
# the first answer that is not a responder (event) or else to the last one that is (censored); then counted by
# day, so the Kaplan-Meier product runs over distinct days, not over ablations.
DURABILITY_PER_ABLATION = f"""
    SELECT a.id,
           min(days) FILTER (WHERE NOT fl.responder) AS event_day,
           max(days) FILTER (WHERE fl.responder) AS censor_day
    FROM cryoablations_cryoablation a
    {FOLLOW_UP_JOINS}
    CROSS JOIN LATERAL (SELECT {FOLLOW_UP_FLAGS}) fl
    CROSS JOIN LATERAL (SELECT (r.completed_at AT TIME ZONE %(tz)s)::date - a.performed_on AS days) d
    WHERE {ABLATION_FILTERS} AND fl.evaluable
    GROUP BY a.id
"""
DURABILITY = f"""
WITH per_ablation AS ({DURABILITY_PER_ABLATION})
SELECT coalesce(event_day, censor_day) AS day,
       count(*) FILTER (WHERE event_day IS NOT NULL) AS events,
       count(*) FILTER (WHERE event_day IS NULL) AS censored
FROM per_ablation
GROUP BY 1
ORDER BY 1
"""

# Drill-down: the ablations behind a response figure (one time point, one measure), same rules as RESPONSE.
RESPONSE_DRILL = f"""
SELECT a.id
FROM cryoablations_cryoablation a
{FOLLOW_UP_JOINS}
CROSS JOIN LATERAL (SELECT {FOLLOW_UP_FLAGS}) fl
WHERE {ABLATION_FILTERS} AND f.time_point = %(time_point)s AND {{measure}}
"""
RESPONSE_MEASURES = {
    "ablations": "TRUE",
    "closed": "fl.closed",
    "evaluable": "fl.evaluable",
    "responders": "fl.responder",
    "responders_30": "fl.responder_30",
    "pgic_improved": "fl.pgic_improved",
    "missing": "fl.closed AND NOT fl.evaluable",
    # Survey completion: a closed time point with a counted survey (whatever the baseline).
    "completed": "fl.closed AND r.id IS NOT NULL",
}

# Drill-down: the blocks behind a funnel figure.
FUNNEL_DRILL = f"""
SELECT b.id
FROM blocks_diagnosticblock b
{PEAK_JOIN}
WHERE {BLOCK_FILTERS} AND {{measure}}
"""
FUNNEL_MEASURES = {
    "blocks": "TRUE",
    "evaluable": f"{BLOCK_PEAK} IS NOT NULL",
    "positive": f"{BLOCK_PEAK} >= %(threshold)s",
    "ablated": f"{BLOCK_PEAK} >= %(threshold)s AND EXISTS "
    "(SELECT 1 FROM cryoablations_cryoablation a WHERE a.qualifying_block_id = b.id)",
}

# The qualifying-block rule for the registry import, for many ablations at once (qualifying_block_pick does one):
# the latest positive block of the same patient, nerve and side whose clinic-local date is 0..days before the
# ablation, latest by time then id.
QUALIFYING_BLOCKS_PICK = f"""
UPDATE cryoablations_cryoablation t
SET qualifying_block_id = pick.block_id, qualifying_source = 'rule'
FROM (
    SELECT a.id, (
        SELECT b.id FROM blocks_diagnosticblock b
        WHERE b.patient_id = a.patient_id AND b.nerve_id = a.nerve_id AND b.side = a.side
          AND {BLOCK_LOCAL_DATE} BETWEEN a.performed_on - %(days)s::integer AND a.performed_on
          AND {BLOCK_POSITIVE}
        ORDER BY b.performed_at DESC, b.id DESC
        LIMIT 1
    ) AS block_id
    FROM cryoablations_cryoablation a
    WHERE a.id = ANY(%(ids)s) AND a.qualifying_block_id IS NULL
) pick
WHERE t.id = pick.id AND pick.block_id IS NOT NULL
"""

# Drill-down: the ablations behind the funnel's 3-month figures (those naming a positive block in range).
FUNNEL_ABLATION_DRILL = f"""
SELECT a.id
FROM cryoablations_cryoablation a
JOIN blocks_diagnosticblock b ON b.id = a.qualifying_block_id
JOIN blocks_blockpeakrelief p ON p.block_id = b.id
{FOLLOW_UP_JOINS}
CROSS JOIN LATERAL (SELECT {FOLLOW_UP_FLAGS}) fl
WHERE {BLOCK_FILTERS} AND {BLOCK_PEAK} >= %(threshold)s AND f.time_point = %(funnel_time_point)s AND {{measure}}
"""
FUNNEL_ABLATION_MEASURES = {"evaluable_3m": "fl.evaluable", "responders_3m": "fl.responder"}

# Drill-down: the ablations behind a threshold band's figure (%(band)s is one of the BAND labels).
BAND_DRILL = f"""
SELECT a.id
FROM cryoablations_cryoablation a
JOIN blocks_blockpeakrelief q ON q.block_id = a.qualifying_block_id
{FOLLOW_UP_JOINS}
CROSS JOIN LATERAL (SELECT {FOLLOW_UP_FLAGS}) fl
WHERE {ABLATION_FILTERS} AND f.time_point = %(funnel_time_point)s AND q.peak_relief_percent >= 50
  AND {BAND} = %(band)s
  AND {{measure}}
"""
BAND_MEASURES = {"evaluable_3m": "fl.evaluable", "responders_3m": "fl.responder"}

# Drill-down: the ablations in the Kaplan-Meier estimate, all of them or those with an event or censored.
DURABILITY_DRILL = f"""
WITH per_ablation AS ({DURABILITY_PER_ABLATION})
SELECT id FROM per_ablation WHERE {{measure}}
"""
DURABILITY_MEASURES = {"ablations": "TRUE", "events": "event_day IS NOT NULL", "censored": "event_day IS NULL"}

# Pain over time: average pain (NRS) of the counted surveys at closed time points, and its percent change from the
# ablation's baseline (baseline above 0 only: the change is undefined at 0), with the baselines themselves as the
# first row. percentile_cont interpolates, as the usual median and quartiles do; NULL changes are ignored by it.
PAIN = f"""
WITH scores AS (
    SELECT 'baseline' AS time_point, a.baseline_nrs::float AS pain, NULL::float AS change
    FROM cryoablations_cryoablation a
    WHERE {ABLATION_FILTERS}
    UNION ALL
    SELECT f.time_point, r.pain_average::float,
           CASE WHEN a.baseline_nrs > 0 THEN (r.pain_average - a.baseline_nrs)::float * 100 / a.baseline_nrs END
    FROM cryoablations_cryoablation a
    {FOLLOW_UP_JOINS}
    WHERE {ABLATION_FILTERS} AND f.window_end < %(as_of)s::date AND r.id IS NOT NULL
)
SELECT time_point,
       count(*) AS answers,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY pain) AS pain_median,
       percentile_cont(0.25) WITHIN GROUP (ORDER BY pain) AS pain_q1,
       percentile_cont(0.75) WITHIN GROUP (ORDER BY pain) AS pain_q3,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY change) AS change_median,
       percentile_cont(0.25) WITHIN GROUP (ORDER BY change) AS change_q1,
       percentile_cont(0.75) WITHIN GROUP (ORDER BY change) AS change_q3
FROM scores
GROUP BY time_point
"""

# What the dashboards' cache is keyed by: the audit trail's change tables are append-only and written by triggers
# in the same transaction as any change to the rows the figures come from, so their highest ids move with every
# change (a registry import included) and are read through their primary keys in well under a millisecond. The
# database's oid changes when it is created again (a test database), whose ids start again from 1.
DATA_VERSION = """
SELECT concat_ws('.', (SELECT oid FROM pg_database WHERE datname = current_database()),
    (SELECT max(pgh_id) FROM audit_diagnosticblockevent), (SELECT max(pgh_id) FROM audit_diaryentryevent),
    (SELECT max(pgh_id) FROM audit_cryoablationevent), (SELECT max(pgh_id) FROM audit_followupevent),
    (SELECT max(pgh_id) FROM audit_surveyresponseevent), (SELECT max(pgh_id) FROM audit_protocolevent),
    (SELECT max(pgh_id) FROM audit_timepointevent), (SELECT max(pgh_id) FROM audit_nerveevent),
    (SELECT max(pgh_id) FROM audit_userevent)
)
"""
