from __future__ import annotations

import datetime as dt

import factory
from django.contrib.auth.models import Group
from django.utils import timezone

from apps.accounts.models import Role, User
from apps.blocks.models import DiagnosticBlock, DiaryEntry
from apps.clinic.models import Nerve
from apps.cryoablations.services import ablation_create
from apps.patients.models import Patient


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = "Test"
    last_name = factory.Sequence(lambda n: f"User{n}")
    password = factory.django.Password("correct-horse-battery")

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        if create and extracted:
            self.groups.add(Group.objects.get(name=extracted))


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient

    mrn = factory.Sequence(lambda n: f"T{n:07d}")
    first_name = "Ana"
    last_name = factory.Sequence(lambda n: f"Testperson{n}")
    date_of_birth = dt.date(1970, 5, 17)
    email = factory.Sequence(lambda n: f"patient{n}@example.org")


def nerve(code: str = "superior_cluneal") -> Nerve:
    return Nerve.objects.get(code=code)


class BlockFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DiagnosticBlock
        skip_postgeneration_save = True

    patient = factory.SubFactory(PatientFactory)
    performed_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(days=20))
    physician = factory.SubFactory(UserFactory, role=Role.PHYSICIAN)
    nerve = factory.LazyFunction(nerve)
    side = "left"
    baseline_nrs = 8
    suspected_diagnosis = "superior_cluneal"

    @factory.post_generation
    def diary(self, create, extracted, **kwargs):
        """diary=[(minutes, nrs), ...]"""
        for minutes, nrs in extracted or []:
            DiaryEntry.objects.create(block=self, minutes_after=minutes, nrs=nrs)


def make_ablation(*, patient, performed_on=None, qualifying_block=None, **fields):
    """An ablation through the service, so it gets its qualifying block and follow-ups as in the product."""
    defaults = {
        "performed_on": performed_on or timezone.localdate() - dt.timedelta(days=14),
        "physician": fields.pop("physician", None) or UserFactory(role=Role.PHYSICIAN),
        "nerve": fields.pop("nerve", None) or nerve(),
        "side": "left",
        "baseline_nrs": 7,
    }
    defaults.update(fields)
    return ablation_create(patient=patient, qualifying_block=qualifying_block, **defaults)


def make_reachable_patient(**fields):
    """A patient who consents to reminders by email, in New York (unless told otherwise); by SMS, with recorded SMS
    consent."""
    from apps.patients.models import SMS_CONSENT_VERSION

    defaults = {"preferred_channel": "email", "reminder_consent": True, "timezone": "America/New_York"}
    defaults.update(fields)
    if defaults["preferred_channel"] == "sms" and "sms_consent_on" not in fields:
        defaults.update(sms_consent_on=timezone.localdate(), sms_consent_wording=SMS_CONSENT_VERSION)
    return PatientFactory(**defaults)


def make_survey_link(*, follow_up=None, block=None, diary_minutes=None, expires_at=None, **fields):
    """A survey link and its token, made as the reminder engine makes them (a diary link: open for an hour)."""
    from apps.surveys.services import link_create

    patient = follow_up.ablation.patient if follow_up else block.patient
    if expires_at is None and block is not None:
        expires_at = timezone.now() + dt.timedelta(hours=1)
    new = link_create(
        patient=patient, follow_up=follow_up, block=block, diary_minutes=diary_minutes, expires_at=expires_at
    )
    if fields:
        type(new.link).objects.filter(pk=new.link.pk).update(**fields)
        new.link.refresh_from_db()
    return new.link, new.token


def make_report_run(**fields):
    """A built report run (apps.reports) whose three files exist, small stand-ins for the real ones."""
    from pathlib import Path

    from django.conf import settings

    from apps.reports.models import ReportRun

    run = ReportRun.objects.create(as_of=timezone.localdate(), status=ReportRun.Status.DONE, progress=100, **fields)
    folder = Path(settings.REPORT_FILES_ROOT) / str(run.public_id)
    folder.mkdir(parents=True, exist_ok=True)
    for fmt in ("pdf", "csv", "xlsx"):
        (folder / f"report.{fmt}").write_bytes(b"stand-in")
        setattr(run, f"{fmt}_file", f"{run.public_id}/report.{fmt}")
    run.save()
    return run


def seed_clinic_catalog() -> None:
    """The nerve catalog and protocol of migration clinic 0002 and the site of 0006, idempotently: a transactional
    test's database is emptied afterwards, rows of data migrations included."""
    import importlib

    from django.apps import apps

    importlib.import_module("apps.clinic.migrations.0002_catalog_and_protocol").seed(apps, None)
    # The registry's one site of migration clinic 0006 (idempotent).
    importlib.import_module("apps.clinic.migrations.0006_site").site_create(apps, None)
    # The shipped instruments (PEG-3, PHQ-2, GAD-2) of migration instruments 0002, as idempotent.
    importlib.import_module("apps.instruments.migrations.0002_shipped_instruments").load(apps, None)
