"""Each follow-up with its counted answer's scores, kept by triggers (apps.reports.models.FollowUpFact).

reports_follow_up_facts_refresh(ids) recomputes the given follow-ups' rows from cryoablations_followup and the
survey answer each one counts (surveys_surveyresponse, through counted_response_id) in one statement. It is called
per statement, with the rows of the transition tables:
- on follow-up inserts, and on follow-up updates that change a column the row copies (a refresh of counted answers
  updates many follow-ups in one statement: they are recomputed together);
- on survey answer updates that change the scores or the time of an answer some follow-up counts.
A deleted follow-up takes its row with it (ON DELETE CASCADE); an answer cannot be deleted while a follow-up still
counts it (the follow-up's foreign key), so the follow-up's own update recomputes its row first.

Writes reports_followupfact (this app's); watches cryoablations_followup and surveys_surveyresponse.
"""

import django.db.models.deletion
from django.db import migrations, models

FUNCTIONS = """
CREATE FUNCTION reports_follow_up_facts_refresh(follow_up_ids bigint[]) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO reports_followupfact (
        follow_up_id, ablation_id, time_point, window_end, counted_response_id, pain_average, pgic, completed_at
    )
    SELECT f.id, f.ablation_id, f.time_point, f.window_end, r.id, r.pain_average, r.pgic, r.completed_at
    FROM cryoablations_followup f
    LEFT JOIN surveys_surveyresponse r ON r.id = f.counted_response_id
    WHERE f.id = ANY(follow_up_ids)
    ON CONFLICT (follow_up_id) DO UPDATE SET
        ablation_id = excluded.ablation_id, time_point = excluded.time_point, window_end = excluded.window_end,
        counted_response_id = excluded.counted_response_id, pain_average = excluded.pain_average,
        pgic = excluded.pgic, completed_at = excluded.completed_at;
$$;

CREATE FUNCTION reports_follow_up_inserted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM reports_follow_up_facts_refresh(ARRAY(SELECT id FROM new_rows));
    RETURN NULL;
END
$$;

CREATE FUNCTION reports_follow_up_updated() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM reports_follow_up_facts_refresh(ARRAY(
        SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id
        WHERE (n.ablation_id, n.time_point, n.window_end, n.counted_response_id)
              IS DISTINCT FROM (o.ablation_id, o.time_point, o.window_end, o.counted_response_id)
    ));
    RETURN NULL;
END
$$;

CREATE FUNCTION reports_response_updated() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM reports_follow_up_facts_refresh(ARRAY(
        SELECT f.id
        FROM new_rows n
        JOIN old_rows o ON o.id = n.id
        JOIN cryoablations_followup f ON f.counted_response_id = n.id
        WHERE (n.pain_average, n.pgic, n.completed_at) IS DISTINCT FROM (o.pain_average, o.pgic, o.completed_at)
    ));
    RETURN NULL;
END
$$;

CREATE TRIGGER reports_follow_up_inserted AFTER INSERT ON cryoablations_followup
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION reports_follow_up_inserted();
CREATE TRIGGER reports_follow_up_updated AFTER UPDATE ON cryoablations_followup
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION reports_follow_up_updated();
CREATE TRIGGER reports_response_updated AFTER UPDATE ON surveys_surveyresponse
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION reports_response_updated();
"""

DROP_FUNCTIONS = """
DROP TRIGGER reports_response_updated ON surveys_surveyresponse;
DROP TRIGGER reports_follow_up_updated ON cryoablations_followup;
DROP TRIGGER reports_follow_up_inserted ON cryoablations_followup;
DROP FUNCTION reports_response_updated();
DROP FUNCTION reports_follow_up_updated();
DROP FUNCTION reports_follow_up_inserted();
DROP FUNCTION reports_follow_up_facts_refresh(bigint[]);
"""


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0001_initial"),
        ("cryoablations", "0004_cryoablation_external_id"),
        ("surveys", "0002_surveylink"),
    ]

    operations = [
        migrations.CreateModel(
            name="FollowUpFact",
            fields=[
                (
                    "follow_up",
                    models.OneToOneField(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        primary_key=True,
                        related_name="+",
                        serialize=False,
                        to="cryoablations.followup",
                    ),
                ),
                ("ablation_id", models.BigIntegerField(editable=False)),
                ("time_point", models.CharField(editable=False, max_length=10)),
                ("window_end", models.DateField(editable=False)),
                ("counted_response_id", models.BigIntegerField(editable=False, null=True)),
                ("pain_average", models.PositiveSmallIntegerField(editable=False, null=True)),
                ("pgic", models.PositiveSmallIntegerField(editable=False, null=True)),
                ("completed_at", models.DateTimeField(editable=False, null=True)),
            ],
            options={"db_table": "reports_followupfact"},
        ),
        migrations.RunSQL(
            "ALTER TABLE reports_followupfact ADD CONSTRAINT reports_followupfact_follow_up_fk FOREIGN KEY "
            "(follow_up_id) REFERENCES cryoablations_followup (id) ON DELETE CASCADE",
            "ALTER TABLE reports_followupfact DROP CONSTRAINT reports_followupfact_follow_up_fk",
        ),
        migrations.RunSQL(FUNCTIONS, DROP_FUNCTIONS),
        # The follow-ups already recorded.
        migrations.RunSQL(
            "SELECT reports_follow_up_facts_refresh(ARRAY(SELECT id FROM cryoablations_followup)); "
            "ANALYZE reports_followupfact;",
            migrations.RunSQL.noop,
        ),
    ]
