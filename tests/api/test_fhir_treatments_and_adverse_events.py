"""FHIR R4B: a treatment of each kind is a Procedure whose code names its kind (the registry's CodeSystem
treatment-kind), and each adverse event an AdverseEvent pointing to the Procedure of its treatment or block, in
$everything and in export_fhir. Every resource is validated with fhir.resources' R4B models."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.conf import settings
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle

from apps.adverse_events.models import AdverseEvent
from apps.adverse_events.services import adverse_event_create
from apps.cryoablations.models import Kind
from tests.factories import BlockFactory, PatientFactory, make_ablation

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
DETAILS_OF = {
    Kind.CRYOABLATION: {"device": "Iovera", "probe": "Smart Tip 190", "cycles": 2, "freeze_seconds": 60},
    Kind.RF_CONVENTIONAL: {"cannula_gauge": 18, "active_tip_mm": 10, "temperature_c": 80, "lesion_seconds": 90},
    Kind.RF_COOLED: {"cannula_gauge": 17, "active_tip_mm": 4, "temperature_c": 60, "lesions": 3},
    Kind.RF_PULSED: {"cannula_gauge": 22, "lesion_seconds": 120, "lesions": 2},
    Kind.PNS_TEMPORARY: {"device": "SPRINT", "leads": 1, "removed_on": TODAY - dt.timedelta(days=2)},
    Kind.PNS_PERMANENT: {"device": "StimRouter", "leads": 2},
}


def everything(client, patient) -> dict:
    response = client.get(reverse("fhir:patient_everything", args=[patient.public_id]))
    assert response.status_code == 200
    body = response.json()
    Bundle.model_validate(body)
    for entry in body["entry"]:
        get_fhir_model_class(entry["resource"]["resourceType"]).model_validate(entry["resource"])
    return body


def resources(body: dict, resource_type: str) -> dict[str, dict]:
    return {e["resource"]["id"]: e["resource"] for e in body["entry"] if e["resource"]["resourceType"] == resource_type}


@pytest.mark.parametrize("kind", list(Kind))
def test_each_kind_is_a_procedure_coded_with_its_kind_and_noting_its_details(staff_client, kind):
    # given
    patient = PatientFactory()
    treatment = make_ablation(
        patient=patient, performed_on=TODAY - dt.timedelta(days=10), kind=kind, **DETAILS_OF[kind]
    )
    # when
    procedure = resources(everything(staff_client, patient), "Procedure")[str(treatment.public_id)]
    # then
    assert procedure["code"]["coding"] == [
        {"system": f"{settings.SITE_URL}/fhir/CodeSystem/treatment-kind", "code": kind.value, "display": kind.label}
    ]
    assert procedure["code"]["text"].startswith(kind.label)
    assert procedure["category"] == {"text": kind.label}
    note = procedure["note"][0]["text"]
    for name, value in DETAILS_OF[kind].items():
        assert str(value) in note, name


def test_adverse_events_point_to_the_procedure_they_are_recorded_on(staff_client):
    # given an RF treatment with a serious, unresolved event and a block with a resolved one
    patient = PatientFactory()
    block = BlockFactory(patient=patient, performed_at=timezone.now() - dt.timedelta(days=40))
    treatment = make_ablation(patient=patient, kind=Kind.RF_CONVENTIONAL, **DETAILS_OF[Kind.RF_CONVENTIONAL])
    on_treatment = adverse_event_create(
        treatment=treatment,
        occurred_on=treatment.performed_on + dt.timedelta(days=3),
        category="skin_injury",
        severity="severe",
        serious=True,
        relatedness="definite",
        notes="Burn <2 cm> at the entry point",
    )
    on_block = adverse_event_create(
        block=block,
        occurred_on=timezone.localdate(block.performed_at),
        resolved_on=timezone.localdate(block.performed_at),
        category="vasovagal",
        severity="mild",
        relatedness="probable",
    )
    # when
    body = everything(staff_client, patient)
    # then
    events = resources(body, "AdverseEvent")
    procedures = resources(body, "Procedure")
    assert set(events) == {str(on_treatment.public_id), str(on_block.public_id)}
    serious = events[str(on_treatment.public_id)]
    [suspect] = serious["suspectEntity"]
    assert suspect["instance"] == {"reference": f"Procedure/{treatment.public_id}"}
    assert str(treatment.public_id) in procedures
    assert serious["subject"] == {"reference": f"Patient/{patient.public_id}"}
    assert serious["actuality"] == "actual"
    assert serious["date"] == on_treatment.occurred_on.isoformat()
    assert serious["event"]["coding"][0]["code"] == "skin_injury"
    assert serious["event"]["coding"][0]["system"] == f"{settings.SITE_URL}/fhir/CodeSystem/adverse-event-category"
    assert serious["severity"]["coding"][0] == {
        "system": "http://terminology.hl7.org/CodeSystem/adverse-event-severity",
        "code": "severe",
        "display": "Severe",
    }
    assert serious["seriousness"]["coding"][0]["code"] == "serious"
    assert serious["outcome"]["coding"][0]["code"] == "ongoing"
    assert suspect["causality"][0]["assessment"]["text"] == "Definitely related"
    assert "Burn &lt;2 cm&gt; at the entry point" in serious["text"]["div"]  # the notes, escaped
    mild = events[str(on_block.public_id)]
    assert mild["suspectEntity"][0]["instance"] == {"reference": f"Procedure/{block.public_id}"}
    assert str(block.public_id) in procedures
    assert (mild["seriousness"]["coding"][0]["code"], mild["outcome"]["coding"][0]["code"]) == (
        "non-serious",
        "resolved",
    )


def test_export_fhir_writes_every_adverse_event_and_a_period_takes_those_in_it(tmp_path):
    # given two patients, each with a treatment and an event, one event long ago
    recent, old = PatientFactory(), PatientFactory()
    recent_treatment = make_ablation(patient=recent, kind=Kind.PNS_PERMANENT, **DETAILS_OF[Kind.PNS_PERMANENT])
    old_treatment = make_ablation(patient=old, performed_on=dt.date(2024, 1, 10))
    common = {"category": "infection", "severity": "moderate", "relatedness": "possible"}
    recent_event = adverse_event_create(treatment=recent_treatment, occurred_on=TODAY, **common)
    adverse_event_create(treatment=old_treatment, occurred_on=dt.date(2024, 1, 20), **common)
    # when the whole registry is exported
    call_command("export_fhir", str(tmp_path / "all"))
    # then every event is one valid line, pointing to an exported Procedure
    lines = (tmp_path / "all" / "AdverseEvent.ndjson").read_text(encoding="utf-8").splitlines()
    events = [json.loads(line) for line in lines]
    assert len(events) == AdverseEvent.objects.count() == 2
    exported_procedures = {
        json.loads(line)["id"]
        for line in (tmp_path / "all" / "Procedure.ndjson").read_text(encoding="utf-8").splitlines()
    }
    for event in events:
        get_fhir_model_class("AdverseEvent").model_validate(event)
        assert event["suspectEntity"][0]["instance"]["reference"].removeprefix("Procedure/") in exported_procedures
    # and an export of a period holds the events that occurred in it, and their patients
    call_command("export_fhir", str(tmp_path / "recent"), "--from", (TODAY - dt.timedelta(days=1)).isoformat())
    [line] = (tmp_path / "recent" / "AdverseEvent.ndjson").read_text(encoding="utf-8").splitlines()
    assert json.loads(line)["id"] == str(recent_event.public_id)
    patients = (tmp_path / "recent" / "Patient.ndjson").read_text(encoding="utf-8")
    assert str(recent.public_id) in patients and str(old.public_id) not in patients


def test_an_opioid_statement_is_a_medication_statement_in_everything_and_the_export(staff_client, tmp_path):
    # given: a fentanyl patch, stopped, and morphine, ongoing
    from decimal import Decimal

    from apps.medications.services import medication_statement_create

    patient = PatientFactory()
    patch = medication_statement_create(
        patient=patient,
        opioid="fentanyl_transdermal",
        daily_dose=Decimal("12.5"),
        started_on=TODAY - dt.timedelta(days=40),
        stopped_on=TODAY - dt.timedelta(days=10),
    )
    morphine = medication_statement_create(
        patient=patient, opioid="morphine", daily_dose=Decimal("30"), started_on=TODAY - dt.timedelta(days=10)
    )

    # when
    statements = resources(everything(staff_client, patient), "MedicationStatement")

    # then (each validated by everything())
    fentanyl = statements[str(patch.public_id)]
    assert fentanyl["status"] == "completed"
    assert fentanyl["medicationCodeableConcept"]["coding"][0]["code"] == "fentanyl_transdermal"
    assert fentanyl["dosage"][0]["doseAndRate"][0]["rateQuantity"] == {
        "value": 12.5, "unit": "mcg/h", "system": "http://unitsofmeasure.org", "code": "ug/h",
    }  # fmt: skip
    assert fentanyl["effectivePeriod"]["end"] == (TODAY - dt.timedelta(days=10)).isoformat()
    ongoing = statements[str(morphine.public_id)]
    assert ongoing["status"] == "active" and "end" not in ongoing["effectivePeriod"]
    # and the bulk export writes them to MedicationStatement.ndjson
    call_command("export_fhir", str(tmp_path / "out"))
    lines = (tmp_path / "out" / "MedicationStatement.ndjson").read_text().splitlines()
    exported = [json.loads(line) for line in lines]
    assert {r["id"] for r in exported} == {str(patch.public_id), str(morphine.public_id)}
    for resource in exported:
        get_fhir_model_class("MedicationStatement").model_validate(resource)
