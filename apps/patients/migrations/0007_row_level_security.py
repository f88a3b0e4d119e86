"""Row-level security (apps.clinic.row_security): a patient is seen by the role painreg_scoped when their site is one
of painreg.sites; painreg_patient_visible(patient) is what the policies of the records hanging off a patient ask (the
patients' own policy applies inside it: one home of the rule). patient_mrn_taken(mrn, other_than) answers whether
another patient has an MRN, at any site: the MRN is unique across the registry, so a new patient's form must know it
is taken even when the patient holding it is hidden (it runs as its owner, whom no policy binds, and says no more)."""

from django.db import migrations

from apps.clinic.row_security import site_scope_policy

FUNCTION = """
CREATE FUNCTION painreg_patient_visible(patient bigint) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT EXISTS (SELECT FROM patients_patient WHERE id = patient)
$$;

CREATE FUNCTION patient_mrn_taken(mrn text, other_than bigint) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path FROM CURRENT AS $$
    SELECT EXISTS (SELECT FROM patients_patient p WHERE p.mrn = $1 AND p.id IS DISTINCT FROM $2)
$$;
"""

FUNCTION_REVERSE = "DROP FUNCTION patient_mrn_taken(text, bigint); DROP FUNCTION painreg_patient_visible(bigint);"


class Migration(migrations.Migration):
    dependencies = [
        ("clinic", "0007_row_level_security"),
        ("patients", "0006_patient_site"),
    ]

    operations = [
        site_scope_policy("patients_patient", "painreg_sites_visible(site_id)"),
        migrations.RunSQL(FUNCTION, FUNCTION_REVERSE),
    ]
