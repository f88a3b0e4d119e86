from __future__ import annotations

from typing import Any

from apps.accounts.models import User
from apps.clinic.models import Site
from apps.clinic.selectors import site_only

from .models import SMS_CONSENT_VERSION, Patient, default_timezone


def patient_time_zone_default(site: Site | None) -> str:
    """A new patient's time zone when none is given: its site's (None: the only site's; the registry's while no site is
    known)."""
    site = site or site_only()
    return site.effective_time_zone if site else default_timezone()


def patient_create(*, consent_taken_by: User | None = None, **fields: Any) -> Patient:
    """A new patient. Without `site`, the only site (the database's default, which refuses it in a network); without
    `timezone`, the site's (patient_time_zone_default)."""
    fields.setdefault("timezone", patient_time_zone_default(fields.get("site")))
    patient = Patient(**fields)
    _sms_consent_record(patient, consent_taken_by, given=patient.sms_consent_on is not None)
    patient.full_clean()
    patient.save()
    return patient


def patient_update(*, patient: Patient, consent_taken_by: User | None = None, **fields: Any) -> Patient:
    # A corrected address or number is worth trying again after a bounce or a refused number.
    if "email" in fields and fields["email"] != patient.email:
        patient.email_undeliverable_at = None
    if "mobile_phone" in fields and fields["mobile_phone"] != patient.mobile_phone:
        patient.phone_invalid_at = None
    # Compared with the stored row: a ModelForm has already put its values on the instance.
    stored = Patient.objects.filter(pk=patient.pk).values_list("sms_consent_on", flat=True).first()
    consent_changed = "sms_consent_on" in fields and fields["sms_consent_on"] != stored
    for name, value in fields.items():
        setattr(patient, name, value)
    if consent_changed:
        _sms_consent_record(patient, consent_taken_by, given=patient.sms_consent_on is not None)
    patient.full_clean()
    patient.save()
    return patient


def _sms_consent_record(patient: Patient, taken_by: User | None, *, given: bool) -> None:
    """SMS consent given (or its date corrected) is recorded with who took it and the wording's current version;
    withdrawn (no date), all three are cleared. The change history keeps the earlier values."""
    patient.sms_consent_by = taken_by if given else None
    patient.sms_consent_wording = SMS_CONSENT_VERSION if given else ""
