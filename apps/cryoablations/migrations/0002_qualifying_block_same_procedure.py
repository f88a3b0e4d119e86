from django.db import migrations


class Migration(migrations.Migration):
    """A qualifying block must be of the ablation's own patient, nerve and side: a composite foreign key onto
    the block's (id, patient, nerve, side) unique constraint, which Django's ORM cannot declare itself."""

    dependencies = [("cryoablations", "0001_initial"), ("blocks", "0001_initial")]
    operations = [
        migrations.RunSQL(
            """
            ALTER TABLE cryoablations_cryoablation
              ADD CONSTRAINT ablation_qualifying_block_same_procedure
              FOREIGN KEY (qualifying_block_id, patient_id, nerve_id, side)
              REFERENCES blocks_diagnosticblock (id, patient_id, nerve_id, side)
              DEFERRABLE INITIALLY DEFERRED;
            """,
            "ALTER TABLE cryoablations_cryoablation DROP CONSTRAINT ablation_qualifying_block_same_procedure;",
        )
    ]
