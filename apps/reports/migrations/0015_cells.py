"""The facts counted by month (apps.reports.models.FollowUpCell, PainCell, InstrumentCell, OpioidCell), so that the
dashboard's page adds up a few thousand rows instead of every fact (apps.reports.sql.PAGE_CELLS;
benchmarks/bench_dashboard.py).

Three rules the figures apply to each fact get their one home in the database, so that the counts by month and the
figures counted fact by fact (apps.reports.sql) cannot disagree:
- reports_follow_up_outcome: what a follow-up's counted answer makes of it once its time point is closed (answered,
  evaluable, responder at a percent and at 30%, PGIC improved); sql.FOLLOW_UP_FLAGS adds "closed" to each;
- reports_band: the band of a qualifying block's peak relief (1 = 50-69, 2 = 70-79, 3 = 80-100; none below 50);
- reports_opioid_outcome: an MME reduced by at least 50% from the baseline, and discontinued (MME 0).

For each table (Cells below), statement triggers on its facts' table append each statement's change as rows of signed
counts (the new rows +1, the old -1; cells that net to nothing left out): nothing is locked, so concurrent writers never
wait on each other. <table>_rebuild() counts every fact again (this migration; and for reports_followupcell, a change
of the registry's responder reduction or block threshold: a protocol row inserted, or either column updated);
<table>_compact() merges each cell's rows into one, reports_cells_compact() every table's
(apps.reports.tasks.cells_compact, every 10 minutes).

Writes reports_followupcell, reports_paincell, reports_instrumentcell, reports_opioidcell and reports_blockcell (this
app's); watches reports_followupfact, reports_instrumentfact, reports_opioidfact, blocks_blockpeakrelief and
clinic_protocol.
"""

from django.db import migrations, models

# S608: the functions are composed of this migration's own text.
# ruff: noqa: S608

MONTH_KEYS = {
    "site_id": "d.site_id",
    "time_point": "d.time_point",
    "kind": "d.kind",
    "nerve_id": "d.nerve_id",
    "performed_month": "date_trunc('month', d.performed_on::timestamp)::date",
    "window_end_month": "date_trunc('month', d.window_end::timestamp)::date",
}


class Cells:
    """A table of counts of a table of facts by the MONTH_KEYS named in `by_month` (all, unless told) and `keys`, kept by
    statement triggers on the facts (see the docstring above): `keys` and `counts` (a condition each, counted with the
    row's sign) are SQL over a fact `d` and, with `lateral`, what it joins; only the facts `where` selects are
    counted."""

    def __init__(
        self,
        table: str,
        facts: str,
        keys: dict[str, str],
        counts: dict[str, str],
        where: str = "TRUE",
        lateral: str = "",
        by_month: tuple[str, ...] = tuple(MONTH_KEYS),
    ) -> None:
        self.table, self.facts, self.counts = table, facts, counts
        self.keys = {**{name: MONTH_KEYS[name] for name in by_month}, **keys}
        self.where, self.lateral = where, lateral
        self.columns = ", ".join([*self.keys, *self.counts])

    def counted(self, source: str) -> str:
        """The cells of `source` (rows of the facts with a `sign`: +1 counted, -1 taken away), those that change
        nothing left out, in the order of their keys (so that concurrent writers append in the same order)."""
        keys = ", ".join(f"{expression} AS {name}" for name, expression in self.keys.items())
        counts = ", ".join(
            f"coalesce(sum(d.sign) FILTER (WHERE {condition}), 0)::integer AS {name}"
            for name, condition in self.counts.items()
        )
        positions = ", ".join(str(i + 1) for i in range(len(self.keys)))
        return f"""
    SELECT * FROM (
        SELECT {keys}, {counts}
        FROM ({source}) d {self.lateral}
        WHERE {self.where}
        GROUP BY {positions}
    ) c
    WHERE ({", ".join(f"c.{name}" for name in self.counts)}) <> ({", ".join("0" for _ in self.counts)})
    ORDER BY {positions}"""

    def insert(self, source: str) -> str:
        return f"INSERT INTO {self.table} ({self.columns}) {self.counted(source)};"

    def functions(self) -> str:
        first = next(iter(self.counts))
        keys = ", ".join(self.keys)
        sums = ", ".join(f"sum({name})" for name in self.counts)
        new, old = "SELECT 1 AS sign, n.* FROM new_rows n", "SELECT -1 AS sign, o.* FROM old_rows o"
        return f"""
CREATE FUNCTION {self.table}_rebuild() RETURNS void
LANGUAGE sql AS $$
    DELETE FROM {self.table};
    {self.insert(f"SELECT 1 AS sign, x.* FROM {self.facts} x")}
$$;

CREATE FUNCTION {self.table}_compact() RETURNS void
LANGUAGE sql AS $$
    WITH gone AS (DELETE FROM {self.table} RETURNING *)
    INSERT INTO {self.table} ({self.columns})
    SELECT {keys}, {sums} FROM gone GROUP BY {keys} HAVING sum({first}) <> 0;
$$;

CREATE FUNCTION {self.table}_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {self.insert(new)}
    ELSIF TG_OP = 'DELETE' THEN
        {self.insert(old)}
    ELSE
        {self.insert(f"{new} UNION ALL {old}")}
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER {self.table}_inserted AFTER INSERT ON {self.facts}
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION {self.table}_changed();
CREATE TRIGGER {self.table}_updated AFTER UPDATE ON {self.facts}
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION {self.table}_changed();
CREATE TRIGGER {self.table}_deleted AFTER DELETE ON {self.facts}
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION {self.table}_changed();
"""

    def back(self) -> str:
        return f"""
DROP TRIGGER {self.table}_deleted ON {self.facts};
DROP TRIGGER {self.table}_updated ON {self.facts};
DROP TRIGGER {self.table}_inserted ON {self.facts};
DROP FUNCTION {self.table}_changed();
DROP FUNCTION {self.table}_compact();
DROP FUNCTION {self.table}_rebuild();
"""


# The response figures: every follow-up, with what its counted answer makes of it once closed.
FOLLOW_UPS = Cells(
    "reports_followupcell",
    "reports_followupfact",
    keys={
        "band": "reports_band(d.qualifying_peak_relief_percent)",
        "positive": """coalesce(blocks_positive(
            d.qualifying_peak_relief_percent, (SELECT block_threshold_percent FROM clinic_protocol WHERE id = 1)
        ), FALSE)""",
    },
    counts={
        "follow_ups": "TRUE",
        "superseded": "d.superseded",
        "answered": "o.answered",
        "evaluable": "o.evaluable",
        "responders": "o.responder",
        "responders_30": "o.responder_30",
        "pgic_improved": "o.pgic_improved",
    },
    lateral="""CROSS JOIN LATERAL reports_follow_up_outcome(
            d.baseline_nrs, d.counted_response_id, d.pain_average, d.pgic,
            (SELECT responder_percent FROM clinic_protocol WHERE id = 1)
        ) o""",
)
# Pain over time: the answered follow-ups by their average pain and baseline, neither by kind nor by nerve (a hundred
# pairs of scores: a page that chooses either reads the facts).
PAIN = Cells(
    "reports_paincell",
    "reports_followupfact",
    keys={"pain_average": "d.pain_average", "baseline_nrs": "d.baseline_nrs"},
    counts={"follow_ups": "TRUE"},
    where="d.counted_response_id IS NOT NULL",
    by_month=("site_id", "time_point", "performed_month", "window_end_month"),
)
# The instruments: the follow-ups at which an instrument is asked and that no repeat treatment supersedes, by
# instrument and change, with what the instrument's rules make of them.
INSTRUMENTS = Cells(
    "reports_instrumentcell",
    "reports_instrumentfact",
    keys={"instrument_id": "d.instrument_id", "change": "d.change"},
    counts={
        "follow_ups": "TRUE",
        "responders": "d.responder",
        "positive_baseline": "d.positive_baseline",
        "positive_now": "d.positive_now",
    },
    where="d.asked AND NOT d.superseded",
)
# Opioids: every follow-up of a treatment whose patient took opioids, with the change of MME and what the reduction
# rule makes of it when no repeat treatment supersedes it (those an evaluable time point counts).
OPIOIDS = Cells(
    "reports_opioidcell",
    "reports_opioidfact",
    keys={"change": "CASE WHEN NOT d.superseded THEN (d.mme - d.baseline)::float8 END"},
    counts={
        "follow_ups": "TRUE",
        "evaluable": "NOT d.superseded",
        "reduced_50": "NOT d.superseded AND r.reduced_50",
        "discontinued": "NOT d.superseded AND r.discontinued",
    },
    lateral="CROSS JOIN LATERAL reports_opioid_outcome(d.baseline, d.mme) r",
)
# The funnel's blocks: by site, nerve, peak relief (none: not evaluable) and whether a treatment names the block, with
# no date (the page reads them only when no dates are chosen).
BLOCKS = Cells(
    "reports_blockcell",
    "blocks_blockpeakrelief",
    keys={
        "site_id": "d.site_id",
        "nerve_id": "d.nerve_id",
        "peak_relief_percent": "d.peak_relief_percent",
        "ablated": "d.ablated",
    },
    counts={"blocks": "TRUE"},
    by_month=(),
)
CELLS = (FOLLOW_UPS, PAIN, INSTRUMENTS, OPIOIDS, BLOCKS)

FUNCTIONS = (
    """
CREATE FUNCTION reports_band(peak numeric) RETURNS smallint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN peak < 50 THEN NULL WHEN peak < 70 THEN 1 WHEN peak < 80 THEN 2 WHEN peak >= 80 THEN 3 END::smallint
$$;

-- outcome-definitions.md, Version 2: Opioids: "reduced by >= 50%" (exact: numeric arithmetic, the reduction times
-- 100 against 50 times the baseline), discontinued (MME 0).
CREATE FUNCTION reports_opioid_outcome(baseline numeric, mme numeric)
RETURNS TABLE (reduced_50 boolean, discontinued boolean)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (baseline - mme) * 100 >= 50 * baseline, mme = 0
$$;

CREATE FUNCTION reports_follow_up_outcome(
    baseline_nrs integer, counted_response_id bigint, pain_average integer, pgic integer, percent numeric
) RETURNS TABLE (answered boolean, evaluable boolean, responder boolean, responder_30 boolean, pgic_improved boolean)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT counted_response_id IS NOT NULL,
           baseline_nrs > 0 AND counted_response_id IS NOT NULL,
           counted_response_id IS NOT NULL AND reports_responder(baseline_nrs, pain_average, percent),
           counted_response_id IS NOT NULL AND reports_responder(baseline_nrs, pain_average, 30),
           baseline_nrs > 0 AND counted_response_id IS NOT NULL AND pgic IN (1, 2)
$$;
"""
    + "".join(cells.functions() for cells in CELLS)
    + """
-- Every count of the cells, in one transaction (reports_cells_compact: apps.reports.tasks.cells_compact).
CREATE FUNCTION reports_cells_compact() RETURNS void
LANGUAGE sql AS $$
    SELECT reports_followupcell_compact(); SELECT reports_paincell_compact(); SELECT reports_instrumentcell_compact();
    SELECT reports_opioidcell_compact(); SELECT reports_blockcell_compact();
$$;

CREATE FUNCTION reports_followupcell_protocol_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM reports_followupcell_rebuild();
    RETURN NULL;
END
$$;
CREATE TRIGGER reports_followupcell_protocol_inserted AFTER INSERT ON clinic_protocol
    FOR EACH ROW EXECUTE FUNCTION reports_followupcell_protocol_changed();
CREATE TRIGGER reports_followupcell_protocol_updated
    AFTER UPDATE OF responder_percent, block_threshold_percent ON clinic_protocol
    FOR EACH ROW WHEN (
        old.responder_percent IS DISTINCT FROM new.responder_percent
        OR old.block_threshold_percent IS DISTINCT FROM new.block_threshold_percent
    )
    EXECUTE FUNCTION reports_followupcell_protocol_changed();

SELECT reports_followupcell_rebuild(); SELECT reports_paincell_rebuild(); SELECT reports_instrumentcell_rebuild();
SELECT reports_opioidcell_rebuild(); SELECT reports_blockcell_rebuild();
"""
)

BACK = (
    """
DROP TRIGGER reports_followupcell_protocol_updated ON clinic_protocol;
DROP TRIGGER reports_followupcell_protocol_inserted ON clinic_protocol;
DROP FUNCTION reports_followupcell_protocol_changed();
DROP FUNCTION reports_cells_compact();
"""
    + "".join(cells.back() for cells in reversed(CELLS))
    + """
DROP FUNCTION reports_follow_up_outcome(integer, bigint, integer, integer, numeric);
DROP FUNCTION reports_opioid_outcome(numeric, numeric);
DROP FUNCTION reports_band(numeric);
"""
)


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0014_facts_site"),
        ("clinic", "0008_site_protocol"),
    ]

    operations = [
        migrations.CreateModel(
            name="BlockCell",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("site_id", models.BigIntegerField(editable=False)),
                ("nerve_id", models.BigIntegerField(editable=False)),
                (
                    "peak_relief_percent",
                    models.DecimalField(decimal_places=16, editable=False, max_digits=30, null=True),
                ),
                ("ablated", models.BooleanField(editable=False)),
                ("blocks", models.IntegerField(editable=False)),
            ],
            options={
                "db_table": "reports_blockcell",
            },
        ),
        migrations.CreateModel(
            name="FollowUpCell",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("site_id", models.BigIntegerField(editable=False)),
                ("time_point", models.CharField(editable=False, max_length=10)),
                ("performed_month", models.DateField(editable=False)),
                ("window_end_month", models.DateField(editable=False)),
                ("follow_ups", models.IntegerField(editable=False)),
                ("kind", models.CharField(editable=False, max_length=15)),
                ("nerve_id", models.BigIntegerField(editable=False)),
                ("band", models.SmallIntegerField(editable=False, null=True)),
                ("positive", models.BooleanField(editable=False)),
                ("superseded", models.IntegerField(editable=False)),
                ("answered", models.IntegerField(editable=False)),
                ("evaluable", models.IntegerField(editable=False)),
                ("responders", models.IntegerField(editable=False)),
                ("responders_30", models.IntegerField(editable=False)),
                ("pgic_improved", models.IntegerField(editable=False)),
            ],
            options={
                "db_table": "reports_followupcell",
                "abstract": False,
            },
        ),
        migrations.CreateModel(
            name="InstrumentCell",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("site_id", models.BigIntegerField(editable=False)),
                ("time_point", models.CharField(editable=False, max_length=10)),
                ("performed_month", models.DateField(editable=False)),
                ("window_end_month", models.DateField(editable=False)),
                ("follow_ups", models.IntegerField(editable=False)),
                ("kind", models.CharField(editable=False, max_length=15)),
                ("nerve_id", models.BigIntegerField(editable=False)),
                ("instrument_id", models.BigIntegerField(editable=False)),
                ("change", models.FloatField(editable=False)),
                ("responders", models.IntegerField(editable=False)),
                ("positive_baseline", models.IntegerField(editable=False)),
                ("positive_now", models.IntegerField(editable=False)),
            ],
            options={
                "db_table": "reports_instrumentcell",
                "abstract": False,
            },
        ),
        migrations.CreateModel(
            name="OpioidCell",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("site_id", models.BigIntegerField(editable=False)),
                ("time_point", models.CharField(editable=False, max_length=10)),
                ("performed_month", models.DateField(editable=False)),
                ("window_end_month", models.DateField(editable=False)),
                ("follow_ups", models.IntegerField(editable=False)),
                ("kind", models.CharField(editable=False, max_length=15)),
                ("nerve_id", models.BigIntegerField(editable=False)),
                ("change", models.FloatField(editable=False, null=True)),
                ("evaluable", models.IntegerField(editable=False)),
                ("reduced_50", models.IntegerField(editable=False)),
                ("discontinued", models.IntegerField(editable=False)),
            ],
            options={
                "db_table": "reports_opioidcell",
                "abstract": False,
            },
        ),
        migrations.CreateModel(
            name="PainCell",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("site_id", models.BigIntegerField(editable=False)),
                ("time_point", models.CharField(editable=False, max_length=10)),
                ("performed_month", models.DateField(editable=False)),
                ("window_end_month", models.DateField(editable=False)),
                ("follow_ups", models.IntegerField(editable=False)),
                ("pain_average", models.SmallIntegerField(editable=False, null=True)),
                ("baseline_nrs", models.SmallIntegerField(editable=False)),
            ],
            options={
                "db_table": "reports_paincell",
                "abstract": False,
            },
        ),
        migrations.AddIndex(
            model_name="followupfact",
            index=models.Index(fields=["window_end"], name="follow_up_fact_window_end"),
        ),
        migrations.AddIndex(
            model_name="followupfact",
            index=models.Index(fields=["performed_on"], name="follow_up_fact_performed_on"),
        ),
        migrations.AddIndex(
            model_name="followupfact",
            index=models.Index(fields=["time_point", "qualifying_peak_relief_percent"], name="follow_up_fact_funnel"),
        ),
        migrations.AddIndex(
            model_name="instrumentfact",
            index=models.Index(fields=["window_end"], name="instrument_fact_window_end"),
        ),
        migrations.AddIndex(
            model_name="instrumentfact",
            index=models.Index(fields=["performed_on"], name="instrument_fact_performed_on"),
        ),
        migrations.AddIndex(
            model_name="opioidfact",
            index=models.Index(fields=["window_end"], name="opioid_fact_window_end"),
        ),
        migrations.AddIndex(
            model_name="opioidfact",
            index=models.Index(fields=["performed_on"], name="opioid_fact_performed_on"),
        ),
        migrations.AddIndex(
            model_name="followupcell",
            index=models.Index(fields=["site_id"], name="followupcell_site"),
        ),
        migrations.AddIndex(
            model_name="instrumentcell",
            index=models.Index(fields=["site_id"], name="instrumentcell_site"),
        ),
        migrations.AddIndex(
            model_name="opioidcell",
            index=models.Index(fields=["site_id"], name="opioidcell_site"),
        ),
        migrations.AddIndex(
            model_name="paincell",
            index=models.Index(fields=["site_id"], name="paincell_site"),
        ),
        migrations.RunSQL(FUNCTIONS, BACK),
    ]
