"""The follow-up and treatment facts carry their patient's site (Patient.site), as the instrument and opioid facts do
(0012), so that the figures of one site read its rows by an index instead of looking every treatment's patient up
(README: "Sites"; benchmarks/bench_sites.py).

reports_follow_up_facts_refresh (0007) and reports_treatment_facts_refresh (0009) write the site with the other
columns; a treatment moved to another patient refreshes its follow-up facts (reports_ablation_updated now compares
the patient too; the treatment facts' trigger already did); a patient moved to another site moves every fact of theirs
(reports_patient_site_changed).

Writes reports_followupfact, reports_treatmentfact, reports_instrumentfact and reports_opioidfact (this app's);
watches patients_patient besides the tables of 0002-0012.
"""

import importlib

from django.db import migrations, models

# S608: the functions are composed of the earlier migrations' own text.
# ruff: noqa: S608

_0007 = importlib.import_module("apps.reports.migrations.0007_facts_kind_and_superseded")
_0009 = importlib.import_module("apps.reports.migrations.0009_treatment_fact")


def _function(text: str, name: str) -> str:
    """Function `name` as `text` (a migration's SQL) defines it, to be replaced."""
    start = text.index(f"FUNCTION {name}(")
    start = text.rindex("CREATE", 0, start)
    end = text.index("$$;", text.index("$$", text.index("AS $$", start) + 5)) + 3
    return text[start:end].replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION") + "\n"


def _edited(text: str, *edits: tuple[str, str]) -> str:
    for old, new in edits:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return text


FOLLOW_UP_REFRESH = _function(_0007.REFRESH, "reports_follow_up_facts_refresh")
ABLATION_UPDATED = _function(_0007.REFRESH, "reports_ablation_updated")
TREATMENT_REFRESH = _function(_0009.FUNCTIONS, "reports_treatment_facts_refresh")

FUNCTIONS = (
    _edited(
        FOLLOW_UP_REFRESH,
        ("kind, superseded\n    )", "kind, superseded, site_id\n    )"),
        ("a.kind, f.superseded_by_id IS NOT NULL\n", "a.kind, f.superseded_by_id IS NOT NULL, pt.site_id\n"),
        (
            "JOIN cryoablations_cryoablation a ON a.id = f.ablation_id\n",
            "JOIN cryoablations_cryoablation a ON a.id = f.ablation_id\n    JOIN patients_patient pt ON pt.id = a.patient_id\n",
        ),
        ("superseded = excluded.superseded;", "superseded = excluded.superseded, site_id = excluded.site_id;"),
    )
    + ABLATION_UPDATED.replace("qualifying_block_id, kind\n", "qualifying_block_id, kind, patient_id\n")
    + _edited(
        TREATMENT_REFRESH,
        ("superseded_by_id, repeat_on\n    )", "superseded_by_id, repeat_on, site_id\n    )"),
        (
            "s.superseded_by_id, s.repeat_on\n    FROM cryoablations_cryoablation t\n",
            "s.superseded_by_id, s.repeat_on, pt.site_id\n    FROM cryoablations_cryoablation t\n"
            "    JOIN patients_patient pt ON pt.id = t.patient_id\n",
        ),
        ("repeat_on = excluded.repeat_on\n", "repeat_on = excluded.repeat_on, site_id = excluded.site_id\n"),
        ("reports_treatmentfact.repeat_on)", "reports_treatmentfact.repeat_on, reports_treatmentfact.site_id)"),
        ("excluded.repeat_on);", "excluded.repeat_on, excluded.site_id);"),
    )
    + """
-- A patient moved to another site: every fact of theirs moves with them.
CREATE FUNCTION reports_patient_site_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    WITH moved AS (
        SELECT a.id AS ablation_id, n.site_id
        FROM new_rows n JOIN old_rows o ON o.id = n.id JOIN cryoablations_cryoablation a ON a.patient_id = n.id
        WHERE n.site_id IS DISTINCT FROM o.site_id
    ), follow_ups AS (
        UPDATE reports_followupfact x SET site_id = m.site_id FROM moved m WHERE x.ablation_id = m.ablation_id
    ), treatments AS (
        UPDATE reports_treatmentfact x SET site_id = m.site_id FROM moved m WHERE x.ablation_id = m.ablation_id
    ), instruments AS (
        UPDATE reports_instrumentfact x SET site_id = m.site_id FROM moved m WHERE x.ablation_id = m.ablation_id
    )
    UPDATE reports_opioidfact x SET site_id = m.site_id FROM moved m WHERE x.ablation_id = m.ablation_id;
    RETURN NULL;
END
$$;
CREATE TRIGGER reports_patient_site_changed AFTER UPDATE ON patients_patient
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION reports_patient_site_changed();
"""
)

BACK = (
    "DROP TRIGGER reports_patient_site_changed ON patients_patient; DROP FUNCTION reports_patient_site_changed();\n"
    + FOLLOW_UP_REFRESH
    + ABLATION_UPDATED
    + TREATMENT_REFRESH
)

# The rows already there, then each table written afresh (CLUSTER rewrites it within the migration's transaction):
# the update leaves a dead copy of every row, which the figures' scans would read until a VACUUM FULL.
FILL = """
UPDATE reports_followupfact x SET site_id = p.site_id
FROM cryoablations_cryoablation a JOIN patients_patient p ON p.id = a.patient_id WHERE a.id = x.ablation_id;
UPDATE reports_treatmentfact x SET site_id = p.site_id
FROM cryoablations_cryoablation a JOIN patients_patient p ON p.id = a.patient_id WHERE a.id = x.ablation_id;
CLUSTER reports_followupfact USING reports_followupfact_pkey;
ALTER TABLE reports_followupfact SET WITHOUT CLUSTER;
CLUSTER reports_treatmentfact USING reports_treatmentfact_pkey;
ALTER TABLE reports_treatmentfact SET WITHOUT CLUSTER;
ANALYZE reports_followupfact;
ANALYZE reports_treatmentfact;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0013_report_run_sites"),
        ("patients", "0007_row_level_security"),
        ("blocks", "0009_peak_relief_site"),
    ]

    operations = [
        migrations.AddField(
            model_name="followupfact", name="site_id", field=models.BigIntegerField(null=True, editable=False)
        ),
        migrations.AddField(
            model_name="treatmentfact", name="site_id", field=models.BigIntegerField(null=True, editable=False)
        ),
        migrations.RunSQL(FILL, migrations.RunSQL.noop),
        migrations.AlterField(model_name="followupfact", name="site_id", field=models.BigIntegerField(editable=False)),
        migrations.AlterField(model_name="treatmentfact", name="site_id", field=models.BigIntegerField(editable=False)),
        migrations.AddIndex(
            model_name="followupfact", index=models.Index(fields=["site_id"], name="follow_up_fact_site")
        ),
        migrations.AddIndex(
            model_name="treatmentfact", index=models.Index(fields=["site_id"], name="treatment_fact_site")
        ),
        migrations.AddIndex(
            model_name="instrumentfact", index=models.Index(fields=["site_id"], name="instrument_fact_site")
        ),
        migrations.AddIndex(model_name="opioidfact", index=models.Index(fields=["site_id"], name="opioid_fact_site")),
        migrations.RunSQL(FUNCTIONS, BACK),
    ]
