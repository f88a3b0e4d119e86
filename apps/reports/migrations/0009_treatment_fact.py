"""Each treatment with the repeat rule's answer for it, kept by triggers (apps.reports.models.TreatmentFact), so the
durability and time-to-repeat figures scan one narrow table instead of asking the view cryoablations_supersession
(cryoablations 0005, the repeat rule's one home) once per treatment on every report: measured on 10,000 seeded
patients, the view's lookups cost ~50 ms a section, which grows with the registry.

reports_treatment_facts_refresh(patient_ids) writes again the rows of every treatment of the given patients: the
treatment's columns the figures filter and group on, and the view's superseding treatment and repeat date (none: not
superseded). A patient's treatments are written together because a change of one (a new treatment, a date, nerve or
side corrected, one deleted) can change which of the others it supersedes. Called per statement, with the patients
of the transition tables:
- on treatment inserts (a registry import's COPY included) and deletes (a deleted treatment's row goes with it, ON
  DELETE CASCADE of the foreign key below);
- on treatment updates that change a column the row copies or the rule reads (patient, nerve, side, date, kind,
  physician, baseline), for the patients before and after.

Writes reports_treatmentfact (this app's); watches cryoablations_cryoablation (and reads cryoablations_supersession).
"""

import django.db.models.deletion
from django.db import migrations, models

FUNCTIONS = """
CREATE FUNCTION reports_treatment_facts_refresh(patient_ids bigint[]) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO reports_treatmentfact (
        ablation_id, kind, physician_id, nerve_id, side, performed_on, baseline_nrs, superseded_by_id, repeat_on
    )
    SELECT t.id, t.kind, t.physician_id, t.nerve_id, t.side, t.performed_on, t.baseline_nrs,
           s.superseded_by_id, s.repeat_on
    FROM cryoablations_cryoablation t
    LEFT JOIN cryoablations_supersession s ON s.ablation_id = t.id
    WHERE t.patient_id = ANY(patient_ids)
    ON CONFLICT (ablation_id) DO UPDATE SET
        kind = excluded.kind, physician_id = excluded.physician_id, nerve_id = excluded.nerve_id,
        side = excluded.side, performed_on = excluded.performed_on, baseline_nrs = excluded.baseline_nrs,
        superseded_by_id = excluded.superseded_by_id, repeat_on = excluded.repeat_on
    WHERE (reports_treatmentfact.kind, reports_treatmentfact.physician_id, reports_treatmentfact.nerve_id,
           reports_treatmentfact.side, reports_treatmentfact.performed_on, reports_treatmentfact.baseline_nrs,
           reports_treatmentfact.superseded_by_id, reports_treatmentfact.repeat_on)
          IS DISTINCT FROM (excluded.kind, excluded.physician_id, excluded.nerve_id, excluded.side,
                            excluded.performed_on, excluded.baseline_nrs, excluded.superseded_by_id,
                            excluded.repeat_on);
$$;

-- The transition tables: new_rows (insert, update), old_rows (update, delete).
CREATE FUNCTION reports_treatments_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM reports_treatment_facts_refresh(ARRAY(SELECT DISTINCT patient_id FROM new_rows));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM reports_treatment_facts_refresh(ARRAY(SELECT DISTINCT patient_id FROM old_rows));
    ELSE
        -- The rows whose columns changed, by a set difference both ways (see reports_peak_relief_changed).
        PERFORM reports_treatment_facts_refresh(ARRAY(
            WITH n AS (
                SELECT id, patient_id, nerve_id, side, performed_on, kind, physician_id, baseline_nrs FROM new_rows
            ), o AS (
                SELECT id, patient_id, nerve_id, side, performed_on, kind, physician_id, baseline_nrs FROM old_rows
            )
            SELECT DISTINCT patient_id FROM ((TABLE n EXCEPT TABLE o) UNION ALL (TABLE o EXCEPT TABLE n)) d
        ));
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER reports_treatments_inserted AFTER INSERT ON cryoablations_cryoablation
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION reports_treatments_changed();
CREATE TRIGGER reports_treatments_updated AFTER UPDATE ON cryoablations_cryoablation
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION reports_treatments_changed();
CREATE TRIGGER reports_treatments_deleted AFTER DELETE ON cryoablations_cryoablation
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION reports_treatments_changed();
"""

DROP_FUNCTIONS = """
DROP TRIGGER reports_treatments_deleted ON cryoablations_cryoablation;
DROP TRIGGER reports_treatments_updated ON cryoablations_cryoablation;
DROP TRIGGER reports_treatments_inserted ON cryoablations_cryoablation;
DROP FUNCTION reports_treatments_changed();
DROP FUNCTION reports_treatment_facts_refresh(bigint[]);
"""


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0008_report_run_treatment_kind"),
        ("cryoablations", "0005_treatment_kinds_and_supersession"),
    ]

    operations = [
        migrations.CreateModel(
            name="TreatmentFact",
            fields=[
                (
                    "ablation",
                    models.OneToOneField(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        primary_key=True,
                        related_name="+",
                        serialize=False,
                        to="cryoablations.cryoablation",
                    ),
                ),
                ("kind", models.CharField(editable=False, max_length=15)),
                ("physician_id", models.BigIntegerField(editable=False)),
                ("nerve_id", models.BigIntegerField(editable=False)),
                ("side", models.CharField(editable=False, max_length=9)),
                ("performed_on", models.DateField(editable=False)),
                ("baseline_nrs", models.PositiveSmallIntegerField(editable=False)),
                ("superseded_by_id", models.BigIntegerField(editable=False, null=True)),
                ("repeat_on", models.DateField(editable=False, null=True)),
            ],
            options={"db_table": "reports_treatmentfact"},
        ),
        migrations.RunSQL(
            "ALTER TABLE reports_treatmentfact ADD CONSTRAINT reports_treatmentfact_ablation_fk FOREIGN KEY "
            "(ablation_id) REFERENCES cryoablations_cryoablation (id) ON DELETE CASCADE",
            "ALTER TABLE reports_treatmentfact DROP CONSTRAINT reports_treatmentfact_ablation_fk",
        ),
        migrations.RunSQL(FUNCTIONS, DROP_FUNCTIONS),
        # The treatments already recorded.
        migrations.RunSQL(
            "SELECT reports_treatment_facts_refresh(ARRAY(SELECT DISTINCT patient_id FROM cryoablations_cryoablation)); "
            "ANALYZE reports_treatmentfact;",
            migrations.RunSQL.noop,
        ),
    ]
