from __future__ import annotations

from typing import Any

from .models import Patient


def patient_create(**fields: Any) -> Patient:
    patient = Patient(**fields)
    patient.full_clean()
    patient.save()
    return patient


def patient_update(*, patient: Patient, **fields: Any) -> Patient:
    # A corrected address or number is worth trying again after a bounce or a refused number.
    if "email" in fields and fields["email"] != patient.email:
        patient.email_undeliverable_at = None
    if "mobile_phone" in fields and fields["mobile_phone"] != patient.mobile_phone:
        patient.phone_invalid_at = None
    for name, value in fields.items():
        setattr(patient, name, value)
    patient.full_clean()
    patient.save()
    return patient
