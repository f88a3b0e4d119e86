"""The SQL of the outcomes engine: every figure of outcome-definitions.md is aggregated here, in PostgreSQL.

One module on purpose: the rules (peak relief, positive block, closed time point, evaluable, responder) are written
once as SQL fragments below and every query is built from them, so the report, the dashboards and their drill-downs
cannot disagree. Named parameters (psycopg's %(name)s) carry every value; only fragments of this module are ever
formatted into the text.

Parameters shared by the queries: tz (the clinic's time zone), window (evaluation window, minutes), threshold
(positive-block threshold, percent), responder_hundredths (responder reduction, in hundredths of a percent: integer
arithmetic, exact for the protocol's two decimals), as_of (date), date_from / date_to
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

# One row per follow-up f of ablation a, with its counted answer r (r.id NULL: none counts): the flags of a time point.
# Closed: the last day of the window is before as_of. Evaluable: closed, baseline above 0, an answer counts.
FOLLOW_UP_FLAGS = """
    f.window_end < %(as_of)s::date AS closed,
    (f.window_end < %(as_of)s::date AND a.baseline_nrs > 0 AND r.id IS NOT NULL) AS evaluable,
    (f.window_end < %(as_of)s::date AND a.baseline_nrs > 0 AND r.id IS NOT NULL
        AND (a.baseline_nrs - r.pain_average) * 10000 >= %(responder_hundredths)s * a.baseline_nrs) AS responder,
    (f.window_end < %(as_of)s::date AND a.baseline_nrs > 0 AND r.id IS NOT NULL
        AND (a.baseline_nrs - r.pain_average) * 100 >= 30 * a.baseline_nrs) AS responder_30,
    (f.window_end < %(as_of)s::date AND a.baseline_nrs > 0 AND r.id IS NOT NULL AND r.pgic IN (1, 2))
        AS pgic_improved
"""

# The follow-ups f of ablation a, each with its counted answer r (r.id NULL: none counts), read from the derived
# table that holds both (apps.reports.models.FollowUpFact, kept by triggers), so that no figure joins the follow-ups
# to every survey answer.
FOLLOW_UP_ANSWER = "(SELECT f.counted_response_id AS id, f.pain_average, f.pgic, f.completed_at) r"
FOLLOW_UP_JOINS = f"""
    JOIN reports_followupfact f ON f.ablation_id = a.id
    CROSS JOIN LATERAL {FOLLOW_UP_ANSWER}
"""

# The groups of data-exchange.md from one scan: overall, by nerve, by physician.
GROUPING = "GROUPING SETS ((), ({alias}.nerve_id), ({alias}.physician_id))"
# g_nerve = 0 on the rows by nerve, g_physician = 0 on the rows by physician, both 1 on the overall row.
GROUP_COLUMNS = "GROUPING({alias}.nerve_id) AS g_nerve, GROUPING({alias}.physician_id) AS g_physician, " + (
    "{alias}.nerve_id, {alias}.physician_id"
)

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

# Every figure of a report or dashboard in one statement, so the follow-ups are joined to their ablations and counted
# answers once per request, not once per figure: `facts` (one row per follow-up, with the rule flags of
# FOLLOW_UP_FLAGS, of the ablations in range and of those naming a positive block in range, whatever their date, for
# the funnel) is computed once (MATERIALIZED) and each section reads it; an ablation without follow-ups is one row
# with time point NULL. `qualifying_3m`: its 3-month rows with the qualifying block's peak relief and the columns the
# block filters read (the funnel's 3-month figures and the threshold bands). The result is one row of JSON arrays:
# funnel, response, bands, durability and pain ({pain}: PAIN_SECTION, or NULL for the report, which has none).
FIGURES_FACTS = f"""
WITH facts AS MATERIALIZED (
    SELECT a.id, a.nerve_id, a.physician_id, a.qualifying_block_id, a.baseline_nrs, f.time_point,
           coalesce(({ABLATION_FILTERS}), FALSE) AS in_range,
           fl.*,
           f.window_end < %(as_of)s::date AND r.id IS NOT NULL AS answered,
           r.pain_average,
           CASE WHEN fl.evaluable THEN (r.completed_at AT TIME ZONE %(tz)s)::date - a.performed_on END AS days
    FROM cryoablations_cryoablation a
    LEFT JOIN reports_followupfact f ON f.ablation_id = a.id
    CROSS JOIN LATERAL {FOLLOW_UP_ANSWER}
    CROSS JOIN LATERAL (SELECT {FOLLOW_UP_FLAGS}) fl
    WHERE ({ABLATION_FILTERS}) OR a.qualifying_block_id IN (
        SELECT b.block_id FROM blocks_blockpeakrelief b
        WHERE {BLOCK_FILTERS} AND b.peak_relief_percent >= %(threshold)s
    )
), qualifying_3m AS MATERIALIZED (
    SELECT x.in_range, x.evaluable, x.responder, b.peak_relief_percent, b.nerve_id, b.physician_id,
           coalesce(({BLOCK_FILTERS}), FALSE) AS block_in_range
    FROM facts x
    JOIN blocks_blockpeakrelief b ON b.block_id = x.qualifying_block_id
    WHERE x.time_point = %(funnel_time_point)s
)"""

# Funnel: blocks in range -> evaluable -> positive -> ablated (named as qualifying block by an ablation, any date)
# -> evaluable at 3 months -> responders at 3 months (of the ablations naming a positive block). Counted by nerve
# and physician in three parts, each from one table, then added up by group: the blocks (blocks_diagnosticblock),
# the evaluable, positive and ablated ones (blocks_blockpeakrelief, a row per evaluable block, holding the columns
# BLOCK_FILTERS reads under the same names), and the 3-month outcomes of the ablations naming a positive one.
FUNNEL_SECTION = f"""
    WITH cells AS (
        SELECT b.nerve_id, b.physician_id, count(*) AS blocks, 0 AS evaluable, 0 AS positive, 0 AS ablated,
               0 AS evaluable_3m, 0 AS responders_3m
        FROM blocks_diagnosticblock b
        WHERE {BLOCK_FILTERS}
        GROUP BY 1, 2
        UNION ALL
        SELECT b.nerve_id, b.physician_id, 0, count(*),
               count(*) FILTER (WHERE b.peak_relief_percent >= %(threshold)s),
               count(named.block_id) FILTER (WHERE b.peak_relief_percent >= %(threshold)s),
               0, 0
        FROM blocks_blockpeakrelief b
        LEFT JOIN (SELECT DISTINCT qualifying_block_id AS block_id FROM cryoablations_cryoablation) named
            ON named.block_id = b.block_id
        WHERE {BLOCK_FILTERS}
        GROUP BY 1, 2
        UNION ALL
        SELECT q.nerve_id, q.physician_id, 0, 0, 0, 0,
               count(*) FILTER (WHERE q.evaluable), count(*) FILTER (WHERE q.responder)
        FROM qualifying_3m q
        WHERE q.block_in_range AND q.peak_relief_percent >= %(threshold)s
        GROUP BY 1, 2
    )
    SELECT {GROUP_COLUMNS.format(alias="cells")},
           coalesce(sum(blocks), 0) AS blocks, coalesce(sum(evaluable), 0) AS evaluable,
           coalesce(sum(positive), 0) AS positive, coalesce(sum(ablated), 0) AS ablated,
           coalesce(sum(evaluable_3m), 0) AS evaluable_3m, coalesce(sum(responders_3m), 0) AS responders_3m
    FROM cells
    GROUP BY {GROUPING.format(alias="cells")}
"""

# Response rates at every time point of the ablations in range, overall, by nerve and by physician: counted by
# time point, nerve and physician in one pass, then added up into the groups.
RESPONSE_SECTION = f"""
    WITH cells AS (
        SELECT x.time_point, x.nerve_id, x.physician_id,
               count(*) AS ablations,
               count(*) FILTER (WHERE x.closed) AS closed,
               count(*) FILTER (WHERE x.evaluable) AS evaluable,
               count(*) FILTER (WHERE x.responder) AS responders,
               count(*) FILTER (WHERE x.responder_30) AS responders_30,
               count(*) FILTER (WHERE x.pgic_improved) AS pgic_improved
        FROM facts x
        WHERE x.in_range AND x.time_point IS NOT NULL
        GROUP BY 1, 2, 3
    )
    SELECT {GROUP_COLUMNS.format(alias="cells")}, cells.time_point,
           sum(ablations) AS ablations, sum(closed) AS closed, sum(evaluable) AS evaluable,
           sum(responders) AS responders, sum(responders_30) AS responders_30, sum(pgic_improved) AS pgic_improved
    FROM cells
    GROUP BY cells.time_point, {GROUPING.format(alias="cells")}
"""

# Threshold analysis: 3-month outcome of the ablations in range by the peak relief of their qualifying block (none,
# or below 50%: left out). Bands: lower bound inclusive, upper exclusive; 80-100 includes 100.
BANDS_SECTION = f"""
    SELECT {BAND} AS band,
           count(*) FILTER (WHERE q.evaluable) AS evaluable_3m,
           count(*) FILTER (WHERE q.responder) AS responders_3m
    FROM qualifying_3m q
    WHERE q.in_range AND q.peak_relief_percent >= 50
    GROUP BY 1
"""

# Durability: per ablation in range with baseline above 0 and a counted answer at a closed time point (evaluable),
# the days to the first answer that is not a responder (event) or else to the last one that is (censored); counted
# by day, so the Kaplan-Meier product runs over distinct days, not over ablations. Same rule as
# DURABILITY_PER_ABLATION (the drill-down's).
DURABILITY_SECTION = """
    WITH per_ablation AS (
        SELECT x.id,
               min(x.days) FILTER (WHERE NOT x.responder) AS event_day,
               max(x.days) FILTER (WHERE x.responder) AS censor_day
        FROM facts x
        WHERE x.in_range AND x.evaluable
        GROUP BY x.id
    )
    SELECT coalesce(event_day, censor_day) AS day,
           count(*) FILTER (WHERE event_day IS NOT NULL) AS events,
           count(*) FILTER (WHERE event_day IS NULL) AS censored
    FROM per_ablation
    GROUP BY 1
"""

# Pain over time: average pain (NRS) of the counted surveys at closed time points, and its percent change from the
# ablation's baseline, with the baselines themselves as the first row. Scores are whole numbers 0..10, so the
# distribution is a few hundred (time point, pain, baseline) cells with their counts, from which
# apps.reports.outcomes computes the median and quartiles exactly as percentile_cont would (baseline NULL: the
# baseline row itself, which has no change).
PAIN_SECTION = f"""
    SELECT 'baseline' AS time_point, a.baseline_nrs AS pain, NULL::integer AS baseline, count(*) AS n
    FROM cryoablations_cryoablation a
    WHERE {ABLATION_FILTERS}
    GROUP BY 2
    UNION ALL
    SELECT x.time_point, x.pain_average, x.baseline_nrs, count(*)
    FROM facts x
    WHERE x.in_range AND x.answered
    GROUP BY 1, 2, 3
"""


def _section(query: str) -> str:
    return f"(SELECT coalesce(json_agg(s), '[]') FROM ({query}) s)"


FIGURES = f"""
{FIGURES_FACTS}
SELECT {_section(FUNNEL_SECTION)} AS funnel,
       {_section(RESPONSE_SECTION)} AS response,
       {_section(BANDS_SECTION)} AS bands,
       {_section(DURABILITY_SECTION)} AS durability,
       {{pain}} AS pain
"""
FIGURES_WITH_PAIN = FIGURES.format(pain=_section(PAIN_SECTION))
FIGURES_WITHOUT_PAIN = FIGURES.format(pain="NULL::json")

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
