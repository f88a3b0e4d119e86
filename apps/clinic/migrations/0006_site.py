"""Sites: the clinics of a registry's network. This one makes the site of the clinic the registry has served so far
(named by settings.CLINIC_NAME, in settings.TIME_ZONE), every existing user one of its members, and
clinic_only_site(): the id of the only site, the default of patients_patient.site_id (patients 0006). With no site
or with two or more it raises not_null_violation, so that in a network a patient's site is always named."""

from django.conf import settings
from django.db import migrations, models

import apps.clinic.validators

FUNCTION = """
CREATE FUNCTION clinic_only_site() RETURNS bigint
LANGUAGE plpgsql STABLE AS $$
DECLARE
    sites bigint;
    only_id bigint;
BEGIN
    SELECT count(*), min(id) INTO sites, only_id FROM clinic_site;
    IF sites <> 1 THEN
        RAISE EXCEPTION 'clinic_only_site: the registry has % sites; name the site of the patient', sites
            USING ERRCODE = 'not_null_violation';
    END IF;
    RETURN only_id;
END
$$;
"""


def site_create(apps, schema_editor) -> None:
    """Idempotent (tests.factories.seed_clinic_catalog makes it again after a transactional test's flush)."""
    Site = apps.get_model("clinic", "Site")
    User = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    if Site.objects.exists():
        return
    site = Site.objects.create(name=settings.CLINIC_NAME, time_zone=settings.TIME_ZONE)
    site.members.add(*User.objects.all())


class Migration(migrations.Migration):
    dependencies = [
        ("clinic", "0005_protocol_sms_modes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Site",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=100, unique=True)),
                (
                    "time_zone",
                    models.CharField(
                        blank=True,
                        help_text="Blank: the registry's.",
                        max_length=64,
                        validators=[apps.clinic.validators.validate_timezone],
                        verbose_name="time zone",
                    ),
                ),
                (
                    "sms_from",
                    models.CharField(
                        blank=True,
                        help_text="The number its texts leave from. Blank: the registry's.",
                        max_length=32,
                        verbose_name="text messages from",
                    ),
                ),
                (
                    "email_from",
                    models.CharField(
                        blank=True,
                        help_text="The sender of its e-mails. Blank: the registry's.",
                        max_length=254,
                        verbose_name="e-mail from",
                    ),
                ),
                ("is_active", models.BooleanField(default=True, verbose_name="active")),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("members", models.ManyToManyField(blank=True, related_name="sites", to=settings.AUTH_USER_MODEL)),
            ],
            options={"ordering": ["name"]},
        ),
        migrations.RunPython(site_create, migrations.RunPython.noop),
        migrations.RunSQL(FUNCTION, "DROP FUNCTION clinic_only_site();"),
    ]
