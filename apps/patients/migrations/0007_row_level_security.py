"""Row-level security (apps.clinic.row_security): a patient is seen by the role painreg_scoped when their site is one
of painreg.sites; painreg_patient_visible(patient) is what the policies of the records hanging off a patient ask (the
patients' own policy applies inside it: one home of the rule)."""

from django.db import migrations

from apps.clinic.row_security import site_scope_policy

FUNCTION = """
CREATE FUNCTION painreg_patient_visible(patient bigint) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT EXISTS (SELECT FROM patients_patient WHERE id = patient)
$$;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("clinic", "0007_row_level_security"),
        ("patients", "0006_patient_site"),
    ]

    operations = [
        site_scope_policy("patients_patient", "painreg_sites_visible(site_id)"),
        migrations.RunSQL(FUNCTION, "DROP FUNCTION painreg_patient_visible(bigint);"),
    ]
