from __future__ import annotations

from .models import Patient


def patient_create(**fields) -> Patient:
    patient = Patient(**fields)
    patient.full_clean()
    patient.save()
    return patient


def patient_update(*, patient: Patient, **fields) -> Patient:
    for name, value in fields.items():
        setattr(patient, name, value)
    patient.full_clean()
    patient.save()
    return patient
