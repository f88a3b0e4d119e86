"""The SQL of the outcomes engine: every figure of outcome-definitions.md is aggregated here, in PostgreSQL.

One module on purpose: the report's rules (closed time point, answered, evaluable) are written once as SQL fragments
below and every query is built from them, so the report, the dashboards and their drill-downs cannot disagree. The
clinical rules the database keeps derived rows by are SQL functions and views of their apps' migrations, which the
fragments call: the peak relief (blocks_peak_relief_rule, stored in blocks_blockpeakrelief), the positive block
(blocks_positive), the qualifying block (blocks_qualifying_block), the responder (reports_responder) and where an
ablation stands in the durability estimate (reports_durability_states_refresh). Named parameters (psycopg's
%(name)s) carry every value; only fragments of this module are ever formatted into the text.

Parameters shared by the queries: tz (the clinic's time zone), threshold (positive-block threshold, percent),
responder (the protocol's responder reduction, percent), as_of (date), date_from / date_to (dates or NULL),
physician_id / nerve_id / side / kind (the treatment's kind code; or NULL), related (the relatedness codes of a
related adverse event).

Version 2 (outcome-definitions.md): every treatment kind goes through the same statements; the repeat rule is read,
never derived, from the view cryoablations_supersession: its repeat date per treatment as copied by triggers into
reports_treatmentfact (reports 0009), and the follow-up facts' `superseded`, a copy of FollowUp.superseded_by
(cryoablations migration 0005, services.supersession_refresh).
"""

from __future__ import annotations

from collections.abc import Callable

# S608: the queries are composed of this module's own constant fragments; values travel as parameters only.
# ruff: noqa: S608

# Peak relief of block b: the largest percent reduction among diary entries inside the evaluation window, NULL when
# the block is not evaluable (baseline 0, or no entry inside the window). Derived from the diary by the database
# (apps.blocks.models.BlockPeakRelief, kept by triggers under the protocol's window, a row per block, NULL when not
# evaluable), so the figures read one number per block instead of aggregating the diary. Numeric, so 50.000
# compares exactly.
PEAK_JOIN = "LEFT JOIN blocks_blockpeakrelief p ON p.block_id = b.id"
BLOCK_PEAK = "p.peak_relief_percent"


def positive(peak: str) -> str:
    """A block of peak relief `peak` is positive under %(threshold)s (blocks_positive, blocks migration 0005)."""
    return f"blocks_positive({peak}, %(threshold)s)"


# Sites (README, "Sites"): %(site_ids)s, the sites whose patients the figures count (NULL: every patient, as with one
# site). A treatment's or block's site is its patient's (Patient.site).
SITE_TREATMENTS = """
    SELECT st.id FROM cryoablations_cryoablation st JOIN patients_patient sp ON sp.id = st.patient_id
    WHERE sp.site_id = ANY(%(site_ids)s::bigint[])
"""
SITE_BLOCKS = """
    SELECT sb.id FROM blocks_diagnosticblock sb JOIN patients_patient sp ON sp.id = sb.patient_id
    WHERE sp.site_id = ANY(%(site_ids)s::bigint[])
"""


def _in_sites(column: str, rows: str) -> str:
    """`column` (a treatment's or block's id) is one of `rows` (SITE_TREATMENTS, SITE_BLOCKS), or no site is chosen."""
    return f"(%(site_ids)s::bigint[] IS NULL OR {column} IN ({rows}))"


def _of_sites(site: str) -> str:
    """A fact's copy of its patient's site, `site`, is one of the chosen, or no site is chosen."""
    return f"(%(site_ids)s::bigint[] IS NULL OR {site} = ANY(%(site_ids)s::bigint[]))"


def _block_filters(performed_at: str, physician_id: str, nerve_id: str, side: str, sites: str) -> str:
    """The filters of a block given by its columns: date range (clinic-local date), physician, nerve, side, and
    `sites` (_in_sites)."""
    local_date = f"({performed_at} AT TIME ZONE %(tz)s)::date"
    return f"""
    (%(date_from)s::date IS NULL OR {local_date} >= %(date_from)s::date)
    AND (%(date_to)s::date IS NULL OR {local_date} <= %(date_to)s::date)
    AND (%(physician_id)s::bigint IS NULL OR {physician_id} = %(physician_id)s::bigint)
    AND (%(nerve_id)s::bigint IS NULL OR {nerve_id} = %(nerve_id)s::bigint)
    AND (%(side)s::text IS NULL OR {side} = %(side)s::text)
    AND {sites}
"""


def _ablation_filters(alias: str, sites: str | None = None) -> str:
    """The filters of an ablation, on a row holding its columns under their names (a fact, whose site_id is its
    patient's site; or, with `sites` the condition on its sites, the ablation itself)."""
    return f"""
    (%(date_from)s::date IS NULL OR {alias}.performed_on >= %(date_from)s::date)
    AND (%(date_to)s::date IS NULL OR {alias}.performed_on <= %(date_to)s::date)
    AND (%(physician_id)s::bigint IS NULL OR {alias}.physician_id = %(physician_id)s::bigint)
    AND (%(nerve_id)s::bigint IS NULL OR {alias}.nerve_id = %(nerve_id)s::bigint)
    AND (%(side)s::text IS NULL OR {alias}.side = %(side)s::text)
    AND (%(kind)s::text IS NULL OR {alias}.kind = %(kind)s::text)
    AND {sites or _of_sites(f"{alias}.site_id")}
"""


# The filters on a block under the alias b: a block itself, or its peak relief (which copies its patient's site).
BLOCK_FILTERS = _block_filters(
    "b.performed_at", "b.physician_id", "b.nerve_id", "b.side", _in_sites("b.id", SITE_BLOCKS)
)
PEAK_BLOCK_FILTERS = _block_filters("b.performed_at", "b.physician_id", "b.nerve_id", "b.side", _of_sites("b.site_id"))
# The same filters on a treatment fact under the alias t, and on a treatment itself (the channel figures,
# apps.reports.channels, read them).
TREATMENT_FILTERS = _ablation_filters("t")
TREATMENT_ROW_FILTERS = _ablation_filters("t", sites=_in_sites("t.id", SITE_TREATMENTS))

# The figures read the follow-ups from one derived table (apps.reports.models.FollowUpFact, kept by triggers): each
# follow-up x with its window, its counted answer's scores (x.counted_response_id NULL: none counts), its ablation's
# columns (the ablation filters above read them under the same names) and its qualifying block's peak relief, date
# and physician (NULL: no qualifying block, or one that is not evaluable). So no figure joins anything.
FACT_FILTERS = _ablation_filters("x")
# The block filters on the fact's qualifying block; its nerve and side are the ablation's (cryoablations 0002).
QUALIFYING_BLOCK_FILTERS = _block_filters(
    "x.qualifying_block_performed_at",
    "x.qualifying_block_physician_id",
    "x.nerve_id",
    "x.side",
    _of_sites("x.site_id"),  # the block's patient is the treatment's
)
QUALIFYING_PEAK = "x.qualifying_peak_relief_percent"


# The flags of a follow-up x's time point. Closed: the last day of the window is before as_of. Answered, evaluable,
# responder (at the protocol's percent, or at 30% for responders_30) and PGIC improved: closed, and what
# reports_follow_up_outcome (reports migration 0015: an answer counts; with a baseline above 0; reports_responder) makes
# of the counted answer, the rule the counts by month (FollowUpCell) are kept by.
# Superseded: closed and superseded by a repeat treatment (it stays closed, ITT's non-responder; it counts no answer,
# FollowUp.counted_response being NULL when superseded, so it is never evaluable).
def closed(alias: str) -> str:
    """The time point of the follow-up (or fact) `alias` is closed: the last day of its window is before as_of."""
    return f"{alias}.window_end < %(as_of)s::date"


def evaluable_time_point(alias: str) -> str:
    """Closed and not superseded: a time point at which an instrument or opioid figure counts the follow-up."""
    return f"({closed(alias)} AND NOT {alias}.superseded)"


FOLLOW_UP_FLAGS = f"""
    {closed("x")} AS closed,
    ({closed("x")} AND x.superseded) AS superseded,
    ({closed("x")} AND o.answered) AS answered,
    ({closed("x")} AND o.evaluable) AS evaluable,
    ({closed("x")} AND o.responder) AS responder,
    ({closed("x")} AND o.responder_30) AS responder_30,
    ({closed("x")} AND o.pgic_improved) AS pgic_improved
"""
FACTS = f"""reports_followupfact x
    CROSS JOIN LATERAL reports_follow_up_outcome(
        x.baseline_nrs, x.counted_response_id, x.pain_average, x.pgic, %(responder)s
    ) o
    CROSS JOIN LATERAL (SELECT {FOLLOW_UP_FLAGS}) fl"""

# The overall completers' figures at one time point (the dashboard's headline, the benchmark's engine figure).
RESPONSE_OVERALL_ONE_TIME_POINT = f"""
SELECT count(*) AS treatments,
       count(*) FILTER (WHERE fl.closed) AS closed,
       count(*) FILTER (WHERE fl.superseded) AS superseded,
       count(*) FILTER (WHERE fl.evaluable) AS evaluable,
       count(*) FILTER (WHERE fl.responder) AS responders,
       count(*) FILTER (WHERE fl.responder_30) AS responders_30,
       count(*) FILTER (WHERE fl.pgic_improved) AS pgic_improved
FROM {FACTS}
WHERE {FACT_FILTERS} AND x.time_point = %(time_point)s
"""


def _band(peak: str) -> str:
    """Threshold bands by number, 1-based in apps.reports.outcomes.BANDS (reports_band, reports migration 0015: 1 =
    50-69, 2 = 70-79, 3 = 80-100; none below 50). A number: grouping by it costs a fraction of grouping by its label
    (measured: ~50 ms less per 480,000 follow-ups)."""
    return f"reports_band({peak})"


# Durability: the treatments in range in the Kaplan-Meier estimate at as_of, with their event (or censoring) and its
# day: the state that holds at as_of (apps.reports.models.DurabilityState, kept by triggers from the durability steps
# and the repeat dates by the rule of outcome-definitions.md, "Version 2: exact readings"; none, no row).
DURABILITY_TREATMENTS = f"""
    SELECT s.ablation_id AS id, s.kind, s.nerve_id, s.physician_id, s.event, s.day
    FROM reports_durabilitystate s
    WHERE {_ablation_filters("s")}
      AND s.valid_from <= %(as_of)s::date AND (s.valid_until IS NULL OR s.valid_until > %(as_of)s::date)
"""

# Time to repeat treatment: every treatment in range done by as_of (baseline 0 included), with an event on the date of
# the treatment that supersedes it (TreatmentFact.repeat_on, the view cryoablations_supersession's) when that is by
# as_of, else censored at as_of; days from the treatment.
REPEAT_TREATMENTS = f"""
    SELECT t.ablation_id AS id, t.kind, t.nerve_id, t.physician_id, r.event,
           CASE WHEN r.event THEN t.repeat_on ELSE %(as_of)s::date END - t.performed_on AS day
    FROM reports_treatmentfact t
    CROSS JOIN LATERAL (SELECT coalesce(t.repeat_on <= %(as_of)s::date, FALSE) AS event) r
    WHERE {_ablation_filters("t")} AND t.performed_on <= %(as_of)s::date
"""

# Drill-down: the ablations behind a response figure (one time point, one measure), same rules as the figures.
RESPONSE_DRILL = f"""
SELECT x.ablation_id AS id
FROM {FACTS}
WHERE {FACT_FILTERS} AND x.time_point = %(time_point)s AND {{measure}}
"""
RESPONSE_MEASURES = {
    "ablations": "TRUE",
    "closed": "fl.closed",
    "superseded": "fl.superseded",
    "evaluable": "fl.evaluable",
    "responders": "fl.responder",
    "responders_30": "fl.responder_30",
    "pgic_improved": "fl.pgic_improved",
    "missing": "fl.closed AND NOT fl.evaluable",
    # Survey completion: a closed time point with a counted survey (whatever the baseline).
    "completed": "fl.answered",
}

# Drill-down: the blocks behind a funnel figure.
FUNNEL_DRILL = f"""
SELECT b.id
FROM blocks_diagnosticblock b
{PEAK_JOIN}
WHERE {BLOCK_FILTERS} AND {{measure}}
"""


def _treated(block: str, ablated: str) -> str:
    """Block `block` (its id column; `ablated`: whether any treatment names it) is named as qualifying block by a
    treatment of the filtered kind (any kind: no kind filter). With psycopg's client-side parameters the planner sees
    the kind as a constant and keeps one branch."""
    return f"""(CASE WHEN %(kind)s::text IS NULL THEN {ablated} ELSE EXISTS (
        SELECT 1 FROM cryoablations_cryoablation tk WHERE tk.qualifying_block_id = {block} AND tk.kind = %(kind)s::text
    ) END)"""


FUNNEL_MEASURES = {
    "blocks": "TRUE",
    "evaluable": f"{BLOCK_PEAK} IS NOT NULL",
    "positive": positive(BLOCK_PEAK),
    "ablated": f"{positive(BLOCK_PEAK)} AND {_treated('b.id', 'p.ablated')}",
}

# The qualifying-block rule (blocks_qualifying_block, blocks migration 0005) for the registry import, for many
# ablations at once (apps.blocks.selectors.qualifying_block_pick calls it for one): the latest positive block under
# %(threshold)s of the same patient, nerve and side whose clinic-local date is 0..%(days)s before the ablation.
QUALIFYING_BLOCKS_PICK = """
UPDATE cryoablations_cryoablation t
SET qualifying_block_id = pick.block_id, qualifying_source = 'rule'
FROM (
    SELECT a.id, blocks_qualifying_block(
        a.patient_id, a.nerve_id, a.side, a.performed_on, %(days)s::integer, %(threshold)s::numeric, %(tz)s::text
    ) AS block_id
    FROM cryoablations_cryoablation a
    WHERE a.id = ANY(%(ids)s) AND a.qualifying_block_id IS NULL
) pick
WHERE t.id = pick.id AND pick.block_id IS NOT NULL
"""

# The funnel's 3-month rows: the follow-ups at the funnel's time point of ablations naming a positive block in range
# (whatever the ablation's own date).
FUNNEL_FACTS = f"""
    x.time_point = %(funnel_time_point)s AND {positive(QUALIFYING_PEAK)} AND {QUALIFYING_BLOCK_FILTERS}
    AND (%(kind)s::text IS NULL OR x.kind = %(kind)s::text)
"""

# Drill-down: the ablations behind the funnel's 3-month figures (those naming a positive block in range).
FUNNEL_ABLATION_DRILL = f"""
SELECT x.ablation_id AS id
FROM {FACTS}
WHERE {FUNNEL_FACTS} AND {{measure}}
"""
FUNNEL_ABLATION_MEASURES = {"evaluable_3m": "fl.evaluable", "responders_3m": "fl.responder"}

# Drill-down: the ablations behind a threshold band's figure (%(band)s is the band's number, see _band).
BAND_DRILL = f"""
SELECT x.ablation_id AS id
FROM {FACTS}
WHERE {FACT_FILTERS} AND x.time_point = %(funnel_time_point)s AND {_band(QUALIFYING_PEAK)} = %(band)s
  AND {{measure}}
"""
BAND_MEASURES = {"evaluable_3m": "fl.evaluable", "responders_3m": "fl.responder"}

# Drill-down: the ablations in the Kaplan-Meier estimate, all of them or those with an event or censored.
DURABILITY_DRILL = f"""
SELECT id FROM ({DURABILITY_TREATMENTS}) s WHERE {{measure}}
"""
DURABILITY_MEASURES = {"ablations": "TRUE", "events": "event", "censored": "NOT event"}


# Every figure of a report or dashboard in one statement. `cells`: one scan of the follow-up facts (those of the
# ablations in range, and the funnel's 3-month rows) counted in one aggregate pass by time point, nerve, physician,
# band of the qualifying block's peak relief (3-month rows in range with a peak of 50% or more, else NULL) and the
# qualifying block's physician (the funnel's 3-month rows, else NULL): a few hundred rows, which the response section
# adds up by time point and group, the bands by band and the funnel by nerve and that physician. The counts of the
# ablations in range filter on `in_range`; evaluable_3m and responders_3m count the funnel's rows (whatever the
# ablation's date). The pain section's distribution (other groups: pain and baseline by time point) is counted by a
# scan of its own, the durability by a scan of its steps: measured on 480,000 follow-ups, a plain GROUP BY each costs
# less than one pass over grouping sets, which evaluates every aggregate for every set (and runs without parallel
# workers).
def _facts_cells(in_range: str, keys: str, funnel: str = FUNNEL_FACTS) -> str:
    """The cells of the follow-up facts (FIGURES_CELLS), counting those `in_range` selects as the treatments in range
    and those `funnel` selects as the funnel's 3-month rows, grouped by `keys` (with time point, nerve, band and the
    funnel's physician)."""
    return f"""
    SELECT x.time_point, {keys}, x.nerve_id, k.band, k.funnel_physician_id,
           count(*) FILTER (WHERE r.in_range) AS treatments,
           count(*) FILTER (WHERE r.in_range AND fl.closed) AS closed,
           count(*) FILTER (WHERE r.in_range AND fl.superseded) AS superseded,
           count(*) FILTER (WHERE r.in_range AND fl.evaluable) AS evaluable,
           count(*) FILTER (WHERE r.in_range AND fl.responder) AS responders,
           count(*) FILTER (WHERE r.in_range AND fl.responder_30) AS responders_30,
           count(*) FILTER (WHERE r.in_range AND fl.pgic_improved) AS pgic_improved,
           count(*) FILTER (WHERE k.funnel_physician_id IS NOT NULL AND fl.evaluable) AS evaluable_3m,
           count(*) FILTER (WHERE k.funnel_physician_id IS NOT NULL AND fl.responder) AS responders_3m
    FROM {FACTS}
    CROSS JOIN LATERAL (SELECT coalesce(({in_range}), FALSE) AS in_range) r
    CROSS JOIN LATERAL (
        SELECT CASE WHEN r.in_range AND x.time_point = %(funnel_time_point)s THEN {_band(QUALIFYING_PEAK)} END AS band,
               CASE WHEN {funnel} THEN x.qualifying_block_physician_id END AS funnel_physician_id
    ) k
    WHERE ({in_range}) OR ({funnel})
    GROUP BY x.time_point, {keys}, x.nerve_id, k.band, k.funnel_physician_id
"""


FIGURES_CELLS = f"""
WITH cells AS MATERIALIZED ({_facts_cells(FACT_FILTERS, "x.kind, x.physician_id")})"""

# The dashboard's page (overall figures, filters that OutcomesFilters.by_month allows) counts the treatments in
# range from the counts by month (apps.reports.models.FollowUpCell, reports migration 0015) where it can take a month
# whole: one whose every day is inside the dates (a cell's performed_month), and whose time points are all closed or
# all open at as_of (a window_end_month other than as_of's). The facts of the other months are counted one by one,
# as FIGURES_CELLS counts every fact; the funnel's 3-month rows too (their block's date and threshold decide). So the
# two parts add up to FIGURES_CELLS' figures, with the kind and physician left out (the page shows neither).
# The months as constants of the statement (date_trunc of a timestamp without time zone: folded once when planned).
AS_OF_MONTH = "date_trunc('month', %(as_of)s::timestamp)::date"
AFTER_AS_OF_MONTH = "(date_trunc('month', %(as_of)s::timestamp) + interval '1 month')::date"


def _in_as_of_month(day: str) -> str:
    """`day` (a date column, which its index finds) is in the month of as_of."""
    return f"({day} >= {AS_OF_MONTH} AND {day} < {AFTER_AS_OF_MONTH})"


# The first day of the first month the dates hold whole, and of the month after the last one they hold whole.
FIRST_WHOLE_MONTH = "date_trunc('month', %(date_from)s::timestamp - interval '1 day' + interval '1 month')::date"
AFTER_WHOLE_MONTHS = "date_trunc('month', %(date_to)s::timestamp + interval '1 day')::date"


def _whole_month(day: str) -> str:
    """The month of `day` (a date) is inside the dates, every day of it."""
    return f"""(%(date_from)s::date IS NULL OR {day} >= {FIRST_WHOLE_MONTH})
        AND (%(date_to)s::date IS NULL OR {day} < {AFTER_WHOLE_MONTHS})"""


def _cells_taken(alias: str, kind_and_nerve: bool = True) -> str:
    """The cells under `alias` that the filters take whole: their site (and kind and nerve, unless the cells have
    neither) chosen, their month inside the dates every day, their time points all closed or all open at as_of."""
    chosen = f"""(%(kind)s::text IS NULL OR {alias}.kind = %(kind)s::text)
      AND (%(nerve_id)s::bigint IS NULL OR {alias}.nerve_id = %(nerve_id)s::bigint) AND """
    return f"""{chosen if kind_and_nerve else ""}{_of_sites(f"{alias}.site_id")}
      AND {_whole_month(f"{alias}.performed_month")} AND {alias}.window_end_month <> {AS_OF_MONTH}"""


def _not_in_cells_taken(alias: str) -> str:
    """A fact under `alias` (in range) whose cell is not taken whole (_cells_taken): counted one by one. Ranges of its
    dates, which their indexes find (without dates: the facts whose window ends in as_of's month)."""
    return f"""((%(date_from)s::date IS NOT NULL AND {alias}.performed_on < {FIRST_WHOLE_MONTH})
            OR (%(date_to)s::date IS NOT NULL AND {alias}.performed_on >= {AFTER_WHOLE_MONTHS})
            OR {_in_as_of_month(f"{alias}.window_end")})"""


# The funnel's 3-month rows are counted by month too when FUNNEL_BY_MONTH (no dates chosen, so that no block's date
# decides, and the threshold the registry's, the one the cells' `positive` is counted at): those of the cells at the
# funnel's time point whose qualifying block is positive; otherwise, from the facts.
FUNNEL_BY_MONTH = "%(funnel_by_month)s"  # OutcomesFilters.params
PAGE_FUNNEL_FACTS = f"""{FUNNEL_FACTS}
    AND (NOT {FUNNEL_BY_MONTH} OR {_in_as_of_month("x.window_end")})"""
PAGE_CELLS = f"""
WITH cells AS MATERIALIZED (
    SELECT c.time_point, c.nerve_id,
           CASE WHEN c.time_point = %(funnel_time_point)s THEN c.band END AS band, k.funnel,
           sum(c.follow_ups) AS treatments,
           coalesce(sum(c.follow_ups) FILTER (WHERE k.closed), 0) AS closed,
           coalesce(sum(c.superseded) FILTER (WHERE k.closed), 0) AS superseded,
           coalesce(sum(c.evaluable) FILTER (WHERE k.closed), 0) AS evaluable,
           coalesce(sum(c.responders) FILTER (WHERE k.closed), 0) AS responders,
           coalesce(sum(c.responders_30) FILTER (WHERE k.closed), 0) AS responders_30,
           coalesce(sum(c.pgic_improved) FILTER (WHERE k.closed), 0) AS pgic_improved,
           coalesce(sum(c.evaluable) FILTER (WHERE k.closed AND k.funnel), 0) AS evaluable_3m,
           coalesce(sum(c.responders) FILTER (WHERE k.closed AND k.funnel), 0) AS responders_3m
    FROM reports_followupcell c
    CROSS JOIN LATERAL (
        SELECT c.window_end_month < {AS_OF_MONTH} AS closed,
               {FUNNEL_BY_MONTH} AND c.positive AND c.time_point = %(funnel_time_point)s AS funnel
    ) k
    WHERE {_cells_taken("c")}
    GROUP BY 1, 2, 3, 4
    UNION ALL
    SELECT time_point, nerve_id, band, funnel_physician_id IS NOT NULL, treatments, closed, superseded, evaluable,
           responders, responders_30, pgic_improved, evaluable_3m, responders_3m
    FROM ({_facts_cells(f"{FACT_FILTERS} AND {_not_in_cells_taken('x')}", "NULL::text", PAGE_FUNNEL_FACTS)}) f
)"""

# The groups of data-exchange.md from one scan: overall, by kind, by nerve, by physician (the funnel: no kind, a block
# being before any treatment). {extra}: more grouping columns in every set (the Kaplan-Meier sections' day).
GROUPING = (
    "GROUPING SETS (({extra}), ({alias}.kind{comma}{extra}), ({alias}.nerve_id{comma}{extra}), "
    "({alias}.physician_id{comma}{extra}))"
)
FUNNEL_GROUPING = "GROUPING SETS ((), ({alias}.nerve_id), ({alias}.physician_id))"
# g_kind = 0 on the rows by kind, g_nerve = 0 on the rows by nerve, g_physician = 0 on the rows by physician, all 1 on
# the overall row.
GROUP_COLUMNS = (
    "GROUPING({alias}.kind) AS g_kind, GROUPING({alias}.nerve_id) AS g_nerve, "
    "GROUPING({alias}.physician_id) AS g_physician, {alias}.kind, {alias}.nerve_id, {alias}.physician_id"
)
FUNNEL_GROUP_COLUMNS = (
    "1 AS g_kind, GROUPING({alias}.nerve_id) AS g_nerve, GROUPING({alias}.physician_id) AS g_physician, "
    "NULL AS kind, {alias}.nerve_id, {alias}.physician_id"
)


def _grouping(alias: str, extra: str = "") -> str:
    return GROUPING.format(alias=alias, extra=extra, comma=", " if extra else "")


# The overall group's columns, for the dashboard's page, which shows the overall figures only (PAGE_SECTIONS).
OVERALL_COLUMNS = (
    "1 AS g_kind, 1 AS g_nerve, 1 AS g_physician, NULL::text AS kind, NULL::bigint AS nerve_id, "
    "NULL::bigint AS physician_id"
)


# Funnel: blocks in range -> evaluable -> positive -> ablated (named as qualifying block by an ablation, any date)
# -> evaluable at 3 months -> responders at 3 months (of the ablations naming a positive block). Counted by nerve
# and physician in two parts, then added up by group: the blocks, evaluable, positive and ablated ones (one scan of
# blocks_blockpeakrelief: a row per block with its peak relief, NULL when not evaluable, whether an ablation names
# it, and the columns BLOCK_FILTERS reads under the same names), and the 3-month outcomes of the ablations naming a
# positive one (`cells`).
def _funnel_blocks(physician: str, where: str = "TRUE") -> str:
    """The funnel's blocks part by nerve and `physician` (a block's column, or none), when `where`."""
    return f"""
        SELECT b.nerve_id, {physician} AS physician_id, count(*) AS blocks, count(b.peak_relief_percent) AS evaluable,
               count(*) FILTER (WHERE {positive("b.peak_relief_percent")}) AS positive,
               count(*) FILTER (WHERE {positive("b.peak_relief_percent")} AND {_treated("b.block_id", "b.ablated")})
                   AS ablated,
               0 AS evaluable_3m, 0 AS responders_3m
        FROM blocks_blockpeakrelief b
        WHERE {PEAK_BLOCK_FILTERS} AND {where}
        GROUP BY 1, 2"""


# The page's blocks part: from the blocks counted by peak relief (reports_blockcell, reports migration 0015) when
# BLOCKS_BY_CELL (no dates, no kind; and, as PAGE_CELLS, no physician or side), else from the blocks.
BLOCKS_BY_CELL = "(%(date_from)s::date IS NULL AND %(date_to)s::date IS NULL AND %(kind)s::text IS NULL)"
PAGE_FUNNEL_BLOCKS = f"""
        SELECT c.nerve_id, NULL::bigint AS physician_id, sum(c.blocks) AS blocks,
               coalesce(sum(c.blocks) FILTER (WHERE c.peak_relief_percent IS NOT NULL), 0) AS evaluable,
               coalesce(sum(c.blocks) FILTER (WHERE {positive("c.peak_relief_percent")}), 0) AS positive,
               coalesce(sum(c.blocks) FILTER (WHERE {positive("c.peak_relief_percent")} AND c.ablated), 0) AS ablated,
               0 AS evaluable_3m, 0 AS responders_3m
        FROM reports_blockcell c
        WHERE {BLOCKS_BY_CELL} AND (%(nerve_id)s::bigint IS NULL OR c.nerve_id = %(nerve_id)s::bigint)
          AND {_of_sites("c.site_id")}
        GROUP BY 1
        HAVING sum(c.blocks) <> 0
        UNION ALL
        {_funnel_blocks("NULL::bigint", f"NOT {BLOCKS_BY_CELL}")}"""


def _funnel(blocks: str, funnel_physician: str, funnel: str, columns: str, grouping: str) -> str:
    """The funnel's section from its `blocks` part and the cells `funnel` selects as its 3-month rows (by
    `funnel_physician`), with the groups of `grouping` (`columns`: their columns)."""
    return f"""
    WITH parts AS (
        {blocks}
        UNION ALL
        SELECT c.nerve_id, {funnel_physician}, 0, 0, 0, 0, sum(c.evaluable_3m), sum(c.responders_3m)
        FROM cells c
        WHERE {funnel}
        GROUP BY 1, 2
    )
    SELECT {columns},
           coalesce(sum(blocks), 0) AS blocks, coalesce(sum(evaluable), 0) AS evaluable,
           coalesce(sum(positive), 0) AS positive, coalesce(sum(ablated), 0) AS ablated,
           coalesce(sum(evaluable_3m), 0) AS evaluable_3m, coalesce(sum(responders_3m), 0) AS responders_3m
    FROM parts
    GROUP BY {grouping}
"""


FUNNEL_SECTION = _funnel(
    _funnel_blocks("b.physician_id"),
    "c.funnel_physician_id",
    "c.funnel_physician_id IS NOT NULL",
    FUNNEL_GROUP_COLUMNS.format(alias="parts"),
    FUNNEL_GROUPING.format(alias="parts"),
)
# The page's, from PAGE_CELLS: overall and by nerve, the only groups the page shows.
PAGE_FUNNEL_SECTION = _funnel(
    PAGE_FUNNEL_BLOCKS,
    "NULL::bigint",
    "c.funnel",
    "1 AS g_kind, GROUPING(parts.nerve_id) AS g_nerve, 1 AS g_physician, NULL AS kind, parts.nerve_id, "
    "NULL::bigint AS physician_id",
    "GROUPING SETS ((), (parts.nerve_id))",
)

# Response rates at every time point of the ablations in range, overall, by nerve and by physician: the cells by time
# point, nerve and physician (those with ablations in range) added up into the groups.
RESPONSE_SUMS = """
           sum(treatments) AS treatments, sum(closed) AS closed, sum(superseded) AS superseded,
           sum(evaluable) AS evaluable, sum(responders) AS responders, sum(responders_30) AS responders_30,
           sum(pgic_improved) AS pgic_improved
"""
RESPONSE_SECTION = f"""
    SELECT {GROUP_COLUMNS.format(alias="c")}, c.time_point, {RESPONSE_SUMS}
    FROM cells c
    WHERE c.treatments > 0
    GROUP BY {_grouping("c", "c.time_point")}
"""
PAGE_RESPONSE_SECTION = f"""
    SELECT {OVERALL_COLUMNS}, c.time_point, {RESPONSE_SUMS}
    FROM cells c
    WHERE c.treatments > 0
    GROUP BY c.time_point
"""

# Threshold analysis: 3-month outcome of the ablations in range by the peak relief of their qualifying block (none,
# or below 50%: left out).
BANDS_SECTION = """
    SELECT c.band, sum(c.evaluable) AS evaluable_3m, sum(c.responders) AS responders_3m
    FROM cells c
    WHERE c.band IS NOT NULL
    GROUP BY 1
"""


# Durability and time to repeat: DURABILITY_TREATMENTS (the drill-down's) and REPEAT_TREATMENTS counted by group and
# day, so each Kaplan-Meier product runs over distinct days, not over treatments.
def _km_section(treatments: str) -> str:
    """A Kaplan-Meier section: the events and censored of `treatments` (rows with day and event) by group and day."""
    return f"""
    SELECT {GROUP_COLUMNS.format(alias="s")}, s.day,
           count(*) FILTER (WHERE s.event) AS events, count(*) FILTER (WHERE NOT s.event) AS censored
    FROM ({treatments}) s
    GROUP BY {_grouping("s", "s.day")}
"""


DURABILITY_SECTION = _km_section(DURABILITY_TREATMENTS)
REPEAT_SECTION = _km_section(REPEAT_TREATMENTS)

# Adverse events: the treatments in range, those with any event recorded on them, with a related one (relatedness in
# %(related)s) and with a serious one, whatever the events' own dates; events recorded on a block are not counted.
ADVERSE_EVENTS_SECTION = f"""
    SELECT {GROUP_COLUMNS.format(alias="t")},
           count(*) AS treatments, count(e.treatment_id) AS with_event,
           count(*) FILTER (WHERE e.related) AS with_related, count(*) FILTER (WHERE e.serious) AS with_serious
    FROM cryoablations_cryoablation t
    LEFT JOIN (
        SELECT treatment_id, bool_or(relatedness = ANY(%(related)s::text[])) AS related, bool_or(serious) AS serious
        FROM adverse_events_adverseevent
        WHERE treatment_id IS NOT NULL
        GROUP BY 1
    ) e ON e.treatment_id = t.id
    WHERE {TREATMENT_ROW_FILTERS}
    GROUP BY {_grouping("t")}
"""

# Pain over time: average pain (NRS) of the counted surveys at closed time points, and its percent change from the
# ablation's baseline, with the baselines themselves as the first row. Scores are whole numbers 0..10, so the
# distribution is a few hundred (time point, pain, baseline) cells with their counts (the baselines from the
# treatment facts, a quarter of the treatments table's width), from which
# apps.reports.outcomes computes the median and quartiles exactly as percentile_cont would (baseline NULL: the
# baseline row itself, which has no change).
PAIN_BASELINES = f"""
    SELECT 'baseline' AS time_point, t.baseline_nrs AS pain, NULL::integer AS baseline, count(*) AS n
    FROM reports_treatmentfact t
    WHERE {TREATMENT_FILTERS}
    GROUP BY 2
"""
PAIN_SECTION = f"""
    {PAIN_BASELINES}
    UNION ALL
    SELECT x.time_point, x.pain_average, x.baseline_nrs, count(*)
    FROM {FACTS}
    WHERE {FACT_FILTERS} AND fl.answered
    GROUP BY 1, 2, 3
"""
# The same from the counts by month (reports_paincell, closed months only) and the facts of the other months, when
# PAIN_BY_MONTH (the counts have neither kind nor nerve).
PAIN_BY_MONTH = "(%(kind)s::text IS NULL AND %(nerve_id)s::bigint IS NULL)"
PAGE_PAIN_SECTION = f"""
    {PAIN_BASELINES}
    UNION ALL
    SELECT p.time_point, p.pain_average, p.baseline_nrs, sum(p.n)
    FROM (
        SELECT c.time_point, c.pain_average, c.baseline_nrs, c.follow_ups AS n
        FROM reports_paincell c
        WHERE {PAIN_BY_MONTH} AND {_cells_taken("c", kind_and_nerve=False)} AND c.window_end_month < {AS_OF_MONTH}
        UNION ALL
        SELECT x.time_point, x.pain_average, x.baseline_nrs, 1
        FROM {FACTS}
        WHERE {FACT_FILTERS} AND fl.answered AND (NOT {PAIN_BY_MONTH} OR {_not_in_cells_taken("x")})
    ) p
    GROUP BY 1, 2, 3
"""


def _section(query: str) -> str:
    return f"(SELECT coalesce(json_agg(s), '[]') FROM ({query}) s)"


# The dashboard's page shows durability overall only, and neither time to repeat nor adverse events: its statement
# counts durability by day alone and leaves those two sections out (measured on 10,000 seeded patients: the groups'
# Kaplan-Meier counts and the two sections cost about as much as the rest of the figures together).
DURABILITY_OVERALL_SECTION = f"""
    SELECT 1 AS g_kind, 1 AS g_nerve, 1 AS g_physician, NULL AS kind, NULL AS nerve_id, NULL AS physician_id, s.day,
           count(*) FILTER (WHERE s.event) AS events, count(*) FILTER (WHERE NOT s.event) AS censored
    FROM ({DURABILITY_TREATMENTS}) s
    GROUP BY s.day
"""

FIGURES = """
{cells}
SELECT {funnel} AS funnel,
       {response} AS response,
       {bands} AS bands,
       {durability} AS durability,
       {repeat} AS repeat,
       {adverse_events} AS adverse_events,
       {pain} AS pain
"""
_REPORT_SECTIONS = {
    "cells": FIGURES_CELLS,
    "funnel": _section(FUNNEL_SECTION),
    "response": _section(RESPONSE_SECTION),
    "bands": _section(BANDS_SECTION),
    "durability": _section(DURABILITY_SECTION),
    "repeat": _section(REPEAT_SECTION),
    "adverse_events": _section(ADVERSE_EVENTS_SECTION),
}
_PAGE_SECTIONS = {
    **_REPORT_SECTIONS,
    "response": _section(PAGE_RESPONSE_SECTION),
    "durability": _section(DURABILITY_OVERALL_SECTION),
    "repeat": "NULL",
    "adverse_events": "NULL",
    "pain": _section(PAIN_SECTION),
}
# The report (command, API): every section, no pain; a report run: every section and pain; the dashboard's page: pain
# and the page's sections, overall, its response figures counted by month where it can (PAGE_CELLS) unless a
# physician or a side is chosen (the counts by month have neither).
FIGURES_WITHOUT_PAIN = FIGURES.format(**_REPORT_SECTIONS, pain="NULL::json")
FIGURES_WITH_PAIN = FIGURES.format(**_REPORT_SECTIONS, pain=_section(PAIN_SECTION))
FIGURES_OF_THE_PAGE = FIGURES.format(
    **{**_PAGE_SECTIONS, "cells": f"WITH cells AS MATERIALIZED ({_facts_cells(FACT_FILTERS, 'NULL::text')})"}
)
FIGURES_OF_THE_PAGE_BY_MONTH = FIGURES.format(
    **{
        **_PAGE_SECTIONS,
        "cells": PAGE_CELLS,
        "funnel": _section(PAGE_FUNNEL_SECTION),
        "pain": _section(PAGE_PAIN_SECTION),
    }
)

# Opioids (outcome-definitions.md, Version 2: Opioids and its exact reading), a statement of its own beside FIGURES:
# the treatments in range whose patient's daily MME on the treatment date (the baseline) is above 0, each at every
# time point of its follow-ups, with the MME on the time point's target day once it is evaluable (closed and not
# superseded). The MMEs are the database's one rule (medications_mme, medications migrations 0002 and 0003), kept per
# follow-up of those treatments by triggers in apps.reports.models.OpioidFact (reports 0010), with the follow-up's
# window and supersession and the treatment's columns the filters read (reports 0012): one table, joined to nothing.
OPIOID_FOLLOW_UPS = f"""
    SELECT o.ablation_id AS id, o.time_point, o.kind, o.nerve_id, o.physician_id, o.baseline, e.evaluable,
           CASE WHEN e.evaluable THEN o.mme END AS mme, r.reduced_50, r.discontinued
    FROM reports_opioidfact o
    CROSS JOIN LATERAL (SELECT {evaluable_time_point("o")} AS evaluable) e
    CROSS JOIN LATERAL reports_opioid_outcome(o.baseline, o.mme) r
    WHERE {_ablation_filters("o")}
"""
# Each evaluable time point: reduced by at least 50% and discontinued (MME 0), by reports_opioid_outcome (reports
# migration 0015), the rule the counts by month (OpioidCell) are kept by.
OPIOID_MEASURES = {
    "on_opioids": "TRUE",
    "evaluable": "o.evaluable",
    "reduced_50": "o.evaluable AND o.reduced_50",
    "discontinued": "o.evaluable AND o.discontinued",
}


def _cells_by_group(cells: Callable[[str], str], columns: str, sums: tuple[str, ...]) -> str:
    """The groups of data-exchange.md (GROUPING) from `cells`, a statement counting by its argument's columns (kind,
    nerve, physician) and `columns`: its first level is a plain GROUP BY, which parallel workers share, and the
    grouping sets run over its few thousand rows instead of every fact."""
    added = ", ".join(f"sum(c.{name}) AS {name}" for name in sums)
    return f"""
    WITH cells AS ({cells("kind, nerve_id, physician_id, ")})
    SELECT {GROUP_COLUMNS.format(alias="c")}, {columns}, {added}
    FROM cells c
    GROUP BY {_grouping("c", columns)}
"""


def _cells_overall(cells: Callable[[str], str]) -> str:
    """The overall group alone (the dashboard's page shows no other): `cells` counted by its own columns only, a
    fraction of the cost of counting by kind, nerve and physician as well (measured: 86 -> 32 ms for the instruments
    of 78,000 patients)."""
    return f"SELECT {OVERALL_COLUMNS}, c.* FROM ({cells('')}) c"


# Counted by change as well (evaluable time points only; NULL otherwise): the changes are few distinct values, so
# each group's median comes from their counts (apps.reports.outcomes.percentile_cont, as PostgreSQL's).
def _opioid_cells(keys: str, follow_ups: str = OPIOID_FOLLOW_UPS) -> str:
    """The opioid follow-ups (`follow_ups`) counted by `keys` (columns of OPIOID_FOLLOW_UPS, each followed by a comma),
    time point and change."""
    return f"""
        SELECT {keys}time_point, (o.mme - o.baseline)::float8 AS change,
               count(*) AS on_opioids,
               count(*) FILTER (WHERE {OPIOID_MEASURES["evaluable"]}) AS evaluable,
               count(*) FILTER (WHERE {OPIOID_MEASURES["reduced_50"]}) AS reduced_50,
               count(*) FILTER (WHERE {OPIOID_MEASURES["discontinued"]}) AS discontinued
        FROM ({follow_ups}) o
        GROUP BY {keys}time_point, change"""


OPIOIDS_SECTION = _cells_by_group(
    _opioid_cells, "c.time_point, c.change", ("on_opioids", "evaluable", "reduced_50", "discontinued")
)
PAGE_OPIOIDS_SECTION = _cells_overall(_opioid_cells)
# The same from the counts by month (reports_opioidcell: its evaluable counts and changes once closed) and the facts of
# the other months.
PAGE_OPIOIDS_BY_MONTH = f"""
    SELECT {OVERALL_COLUMNS}, c.time_point, c.change, sum(c.on_opioids) AS on_opioids, sum(c.evaluable) AS evaluable,
           sum(c.reduced_50) AS reduced_50, sum(c.discontinued) AS discontinued
    FROM (
        SELECT c.time_point, CASE WHEN k.closed THEN c.change END AS change, c.follow_ups AS on_opioids,
               CASE WHEN k.closed THEN c.evaluable ELSE 0 END AS evaluable,
               CASE WHEN k.closed THEN c.reduced_50 ELSE 0 END AS reduced_50,
               CASE WHEN k.closed THEN c.discontinued ELSE 0 END AS discontinued
        FROM reports_opioidcell c
        CROSS JOIN LATERAL (SELECT c.window_end_month < {AS_OF_MONTH} AS closed) k
        WHERE {_cells_taken("c")}
        UNION ALL
        {_opioid_cells("", f"{OPIOID_FOLLOW_UPS} AND {_not_in_cells_taken('o')}")}
    ) c
    GROUP BY c.time_point, c.change
"""
# Drill-down: the treatments behind an opioid figure (one time point, one measure of OPIOID_MEASURES).
OPIOIDS_DRILL = f"""
SELECT o.id FROM ({OPIOID_FOLLOW_UPS}) o WHERE o.time_point = %(time_point)s AND {{measure}}
"""

# Instruments (outcome-definitions.md, "Instruments beyond pain intensity" and "Version 2: exact readings"): the
# evaluable follow-ups (closed, not superseded) of the treatments in range at a time point an instrument is asked at
# (its schedule, Instrument.time_points), with the treatment's baseline answer and the answer counted at the time
# point, as the instruments' rules pick them (instruments migrations 0003 to 0005: instruments_baseline_answers,
# instruments_counted_answers; clinic-local dates; no counted answer on a superseded follow-up). Triggers keep one row
# per follow-up and instrument with both answers in apps.reports.models.InstrumentFact (reports 0010, 0012), with what
# the instrument's rules under its current version make of the two scores (instruments_responder,
# instruments_positive; the change, follow-up minus baseline) and the columns the filters read.
INSTRUMENT_FACTS = f"""
    reports_instrumentfact n
    WHERE {_ablation_filters("n")} AND n.asked AND {evaluable_time_point("n")}
"""
INSTRUMENT_MEASURES = {
    "evaluable": "TRUE",
    "responders": "n.responder",
    "positive_baseline": "n.positive_baseline",
    "positive_now": "n.positive_now",
}


def _instrument_cells(keys: str, facts: str = INSTRUMENT_FACTS) -> str:
    """The instruments' evaluable follow-ups (`facts`) counted by `keys` (columns of reports_instrumentfact, each
    followed by a comma), instrument, time point and change."""
    return f"""
        SELECT {keys}instrument_id, time_point, change,
               count(*) AS evaluable,
               count(*) FILTER (WHERE {INSTRUMENT_MEASURES["responders"]}) AS responders,
               count(*) FILTER (WHERE {INSTRUMENT_MEASURES["positive_baseline"]}) AS positive_baseline,
               count(*) FILTER (WHERE {INSTRUMENT_MEASURES["positive_now"]}) AS positive_now
        FROM {facts}
        GROUP BY {keys}instrument_id, time_point, change"""


INSTRUMENTS_SECTION = _cells_by_group(
    _instrument_cells,
    "c.instrument_id, c.time_point, c.change",
    ("evaluable", "responders", "positive_baseline", "positive_now"),
)
PAGE_INSTRUMENTS_SECTION = _cells_overall(_instrument_cells)
# The same from the counts by month (reports_instrumentcell, closed months only) and the facts of the other months.
PAGE_INSTRUMENTS_BY_MONTH = f"""
    SELECT {OVERALL_COLUMNS}, c.instrument_id, c.time_point, c.change, sum(c.evaluable) AS evaluable,
           sum(c.responders) AS responders, sum(c.positive_baseline) AS positive_baseline,
           sum(c.positive_now) AS positive_now
    FROM (
        SELECT c.instrument_id, c.time_point, c.change, c.follow_ups AS evaluable, c.responders, c.positive_baseline,
               c.positive_now
        FROM reports_instrumentcell c
        WHERE {_cells_taken("c")} AND c.window_end_month < {AS_OF_MONTH}
        UNION ALL
        {_instrument_cells("", f"{INSTRUMENT_FACTS} AND {_not_in_cells_taken('n')}")}
    ) c
    GROUP BY c.instrument_id, c.time_point, c.change
"""
# Drill-down: the treatments behind an instrument figure (one instrument and time point, one INSTRUMENT_MEASURES).
INSTRUMENTS_DRILL = f"""
SELECT n.ablation_id AS id FROM {INSTRUMENT_FACTS}
  AND n.instrument_id = (SELECT id FROM instruments_instrument WHERE code = %(instrument)s)
  AND n.time_point = %(time_point)s AND {{measure}}
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
    (SELECT max(pgh_id) FROM audit_siteprotocolevent),
    (SELECT max(pgh_id) FROM audit_userevent),
    (SELECT max(pgh_id) FROM audit_adverseeventevent),
    (SELECT max(pgh_id) FROM audit_medicationstatementevent),
    (SELECT max(pgh_id) FROM audit_instrumentanswerevent), (SELECT max(pgh_id) FROM audit_instrumentevent),
    (SELECT max(pgh_id) FROM audit_instrumentversionevent)
)
"""


# Sites compared (apps.reports.benchmark, issue 18): every site of the network in one statement, a row each (0 where
# it has none), its patients' funnel (FUNNEL_SECTION's blocks, positive and treated blocks) and 3-month figures (the
# evaluable treatments and responders of RESPONSE_OVERALL_ONE_TIME_POINT at the funnel's time point). A block's and a
# treatment's site is its patient's, copied on the facts (site_id); run with %(site_ids)s NULL, each row counting its
# own site's patients, so that the rows add up to the network's figures.
def _site_figures(response: str) -> str:
    """SITE_FIGURES with its 3-month figures by site from `response`."""
    return f"""
WITH funnel AS (
    SELECT b.site_id, count(*) AS blocks,
           count(*) FILTER (WHERE {positive("b.peak_relief_percent")}) AS positive,
           count(*) FILTER (WHERE {positive("b.peak_relief_percent")} AND {_treated("b.block_id", "b.ablated")})
               AS treated
    FROM blocks_blockpeakrelief b
    WHERE {PEAK_BLOCK_FILTERS}
    GROUP BY 1
), response AS ({response})
SELECT s.id AS site_id, coalesce(f.blocks, 0) AS blocks, coalesce(f.positive, 0) AS positive,
       coalesce(f.treated, 0) AS treated, coalesce(r.evaluable, 0) AS evaluable,
       coalesce(r.responders, 0) AS responders
FROM clinic_site s
LEFT JOIN funnel f ON f.site_id = s.id
LEFT JOIN response r ON r.site_id = s.id
ORDER BY s.id
"""


SITE_FIGURES = _site_figures(f"""
    SELECT x.site_id, count(*) FILTER (WHERE fl.evaluable) AS evaluable,
           count(*) FILTER (WHERE fl.responder) AS responders
    FROM {FACTS}
    WHERE {FACT_FILTERS} AND x.time_point = %(funnel_time_point)s
    GROUP BY 1
""")
# The same with the 3-month figures from the counts by month where it can take them (PAGE_CELLS), when
# OutcomesFilters.by_month.
SITE_FIGURES_BY_MONTH = _site_figures(f"""
    SELECT r.site_id, sum(r.evaluable) AS evaluable, sum(r.responders) AS responders
    FROM (
        SELECT c.site_id, c.evaluable, c.responders
        FROM reports_followupcell c
        WHERE {_cells_taken("c")} AND c.time_point = %(funnel_time_point)s AND c.window_end_month < {AS_OF_MONTH}
        UNION ALL
        SELECT x.site_id, fl.evaluable::integer, fl.responder::integer
        FROM {FACTS}
        WHERE {FACT_FILTERS} AND x.time_point = %(funnel_time_point)s AND {_not_in_cells_taken("x")}
    ) r
    GROUP BY 1
""")
